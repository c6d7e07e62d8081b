"""The compiled fast path (trunkline.sip.scanner) reads exactly what the general parser reads.

Every scanner either returns None ("not plain, ask the general parser") or the same result the
general parser gives for those bytes, errors included. These tests hold each scanner against
its general counterpart on the conformance messages and on generated input that mixes plain and
unusual forms. They run compiled or not (interpreted, the scanners are only slower).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance import protos
from tests.unit.test_message_properties import messages
from trunkline.sip import parser as parser_module
from trunkline.sip.address import (
    CSeq,
    check_name_addr,
    parse_cseq,
    parse_name_addr,
    parse_via,
    via_from_parts,
)
from trunkline.sip.errors import ParseError
from trunkline.sip.headers import SINGLE_HEADERS, canonical_name, decode, split_list
from trunkline.sip.hot_headers import check_call_id, first_item, regex_tag
from trunkline.sip.message import Message, Request
from trunkline.sip.scanner import (
    HOT_SLOTS,
    _fold_hash,
    scan_call_id,
    scan_cseq,
    scan_digits,
    scan_head,
    scan_name_addrs,
    scan_request_line,
    scan_sip_uri,
    scan_status_line,
    scan_tag,
    scan_via,
)
from trunkline.sip.uri import SipURI, parse_uri

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pieces(*parts: bytes, max_size: int = 8) -> st.SearchStrategy[bytes]:
    """Byte strings glued from plain and unusual fragments of one kind of value."""
    return st.lists(st.sampled_from(parts), max_size=max_size).map(b"".join)


CONFORMANCE = Path(__file__).parent.parent / "conformance"
CORPUS = sorted(CONFORMANCE.glob("rfc4475/*.dat")) + sorted(
    p
    for p in CONFORMANCE.glob("rfc5118/*")
    if p.is_file() and p.name.isascii() and "." not in p.name
)

PLAIN_INVITE = (
    b"INVITE sip:+14155550123@trunk.carrier.example.net;user=phone SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-524287-1---3c7a5f0e1b2d9a64\r\n"
    b"Max-Forwards: 70\r\n"
    b"Contact: <sip:+12125550199@192.0.2.10:5060;transport=udp>\r\n"
    b'To: "+14155550123" <sip:+14155550123@trunk.carrier.example.net;user=phone>\r\n'
    b'From: "Acme Sales" <sip:+12125550199@pbx.acme.example.com;user=phone>;tag=8f3c1a27\r\n'
    b"Call-ID: 5b0d8e2c4f6a4e1d9c3b7a2f1e0d9c8b@192.0.2.10\r\n"
    b"CSeq: 102 INVITE\r\n"
    b'P-Asserted-Identity: "Acme Sales" <sip:+12125550199@pbx.acme.example.com>\r\n'
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 10\r\n"
    b"\r\n"
    b"v=0\r\ns=-\r\n"
)
PLAIN_RESPONSE = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/TCP 198.51.100.5:5060;branch=z9hG4bK7f3e9a1c.0, "
    b"SIP/2.0/UDP 192.0.2.10;received=192.0.2.10;branch=z9hG4bKa\r\n"
    b"From: <sip:a@example.com>;tag=1\r\n"
    b"To: <sip:b@example.com>;tag=2\r\n"
    b"Call-ID: x@y\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def _uri_view(uri: Any) -> tuple[Any, ...]:
    if isinstance(uri, SipURI):
        return (uri.scheme, uri.user, uri.password, uri.host, uri.port, uri.params, uri.headers)
    return (type(uri).__name__, str(uri))


def _snapshot(msg: Message) -> tuple[Any, ...]:
    """Everything the parser decided, compared field by field."""
    if isinstance(msg, Request):
        first: tuple[Any, ...] = (msg.method, msg.uri_text, _uri_view(msg._uri), msg.start_line())
    else:
        first = (msg.status, msg.reason, msg.start_line())
    via = msg._top_via
    assert via is not None
    return (
        first,
        msg._fields,
        (via.protocol, via.transport, via.host, via.port, via.params, str(via)),
        (msg._call_id, msg._cseq, msg._max_forwards, msg.content_length),
        (msg.from_tag, msg.to_tag),
        msg.body,
        bytes(msg),
    )


def _error_view(exc: ParseError) -> tuple[Any, ...]:
    return ("error", exc.status, exc.reason, exc.is_request, exc.method, exc.headers)


def _outcome(data: bytes) -> tuple[Any, ...]:
    """What the general parser makes of ``data``."""
    try:
        msg = parser_module._parse_general(data)
    except ParseError as exc:
        return _error_view(exc)
    return ("parsed", _snapshot(msg))


def _check_message(data: bytes) -> bool:
    """True when the fast path took the message (and agreed with the general parser)."""
    try:
        fast = parser_module._parse_clean(data)
    except ParseError as exc:
        fast_view = _error_view(exc)
    else:
        if fast is None:
            return False
        fast_view = ("parsed", _snapshot(fast))
    assert fast_view == _outcome(data)
    return True


def test_plain_messages_take_the_fast_path_and_agree() -> None:
    for data in (PLAIN_INVITE, PLAIN_RESPONSE):
        assert parser_module._parse_clean(data) is not None
        assert _check_message(data)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_conformance_messages_agree(path: Path) -> None:
    _check_message(path.read_bytes())


def test_the_conformance_corpus_reaches_the_fast_path() -> None:
    taken = sum(_check_message(p.read_bytes()) for p in CORPUS)
    assert taken >= 10, f"only {taken} conformance messages took the fast path"


@SETTINGS
@given(messages())
def test_generated_messages_agree(case: tuple[bytes, dict[str, Any]]) -> None:
    _check_message(case[0])


@SETTINGS
@given(st.sampled_from([PLAIN_INVITE, PLAIN_RESPONSE]), st.data())
def test_mutated_plain_messages_agree(data: bytes, draw: st.DataObject) -> None:
    """Bytes overwritten, inserted or removed anywhere: a header line broken in the middle,
    a bare CR, a NUL, a colon lost... still the same answer from both parsers."""
    buf = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        pos = draw.draw(st.integers(0, len(buf) - 1))
        action = draw.draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw.draw(st.sampled_from(b'\r\n \t:;,=<>"@\x00\x7fAa0'))
        if action == "set":
            buf[pos] = byte
        elif action == "insert":
            buf.insert(pos, byte)
        else:
            del buf[pos]
    _check_message(bytes(buf))


def test_every_header_that_may_stand_once_is_tracked_by_scan_head() -> None:
    """Else a repeated one would pass the fast path while the general parser refuses it."""
    assert SINGLE_HEADERS.issubset(HOT_SLOTS)


def test_scan_head_hands_over_the_hot_headers() -> None:
    head = scan_head(PLAIN_RESPONSE, parser_module._SCAN_NAMES)
    assert head is not None
    assert head.via is not None and head.via.startswith(b"SIP/2.0/TCP 198.51.100.5:5060;")
    assert (head.from_, head.to) == (b"<sip:a@example.com>;tag=1", b"<sip:b@example.com>;tag=2")
    assert (head.call_id, head.cseq) == (b"x@y", b"1 INVITE")
    assert (head.max_forwards, head.content_length) == (None, b"0")
    assert PLAIN_RESPONSE[head.body_start :] == b""


@pytest.mark.parametrize(
    "repeated",
    [b"CSeq: 2 INVITE", b"i: other", b"c: a/b\r\nContent-Type: a/b", b"Content-Length: 0"],
)
def test_a_repeated_single_header_goes_to_the_general_parser(repeated: bytes) -> None:
    """The general parser says what is wrong (400), or accepts one length said twice."""
    data = PLAIN_RESPONSE.replace(b"\r\n\r\n", b"\r\n" + repeated + b"\r\n\r\n")
    assert scan_head(data, parser_module._SCAN_NAMES) is None
    outcome = _outcome(data)
    if repeated.startswith(b"Content-Length"):
        assert outcome[0] == "parsed"
    else:
        assert outcome[:3] == ("error", 400, "Bad Request")


def test_a_second_via_line_stays_on_the_fast_path() -> None:
    data = PLAIN_RESPONSE.replace(b"From:", b"Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKb\r\nFrom:")
    head = scan_head(data, parser_module._SCAN_NAMES)
    assert head is not None and head.via is not None
    assert head.via.startswith(b"SIP/2.0/TCP")  # the top one
    assert _check_message(data)


NAME_PIECES = st.lists(
    st.sampled_from(["Via", "v", "call", "-", "ID", "id", "CSeq", "i", "x", "Content", "Length"]),
    min_size=1,
    max_size=3,
).map("".join)


@SETTINGS
@given(NAME_PIECES)
def test_the_name_table_reads_names_as_the_grammar_does(name: str) -> None:
    """Any spelling in any case: the canonical name canonical_name gives, or not found."""
    table = parser_module._SCAN_NAMES
    data = b"x" + name.encode() + b":"
    h = 0
    for ch in name.encode():
        h = _fold_hash(h, ch)
    entry = table.find(data, 1, len(data) - 1, h)
    known = {spelled.decode().lower() for spelled in parser_module._NAMES}
    if entry >= 0:
        assert table.names[entry] == canonical_name(name.encode())
    else:
        assert name.lower() not in known


def test_the_name_table_takes_any_case() -> None:
    head = scan_head(PLAIN_RESPONSE.replace(b"Call-ID", b"cALL-iD"), parser_module._SCAN_NAMES)
    assert head is not None and head.call_id == b"x@y"


START_LINES = pieces(
    *(b"INVITE", b"ACK", b"in-vite", b"SIP/2.0", b"sip/2.0", b"SIP/2.00", b"SIP/3.0", b" "),
    *(b"sip:a@b", b"tel:+1", b"x:y", b"200", b"099", b"700", b"2000", b"OK", b"/", b"@"),
)


def _start_line_outcome(parse: Any, line: bytes) -> Any:
    try:
        msg = parse(line)
    except ParseError as exc:
        return ("error", exc.status, exc.detail, exc.is_request, exc.method)
    if isinstance(msg, Request):
        return ("request", msg.method, msg.uri_text, _uri_view(msg._uri), msg.start_line())
    return ("response", msg.status, msg.reason, msg.start_line())


@SETTINGS
@given(START_LINES)
def test_scan_start_lines_agree_with_the_general_parser(line: bytes) -> None:
    """The scanners only split the line: the Request-URI is then read by the same code."""
    fast = _start_line_outcome(parser_module._parse_plain_start_line, line)
    assert fast == _start_line_outcome(parser_module._parse_start_line, line)
    request = scan_request_line(line)
    if request is not None:
        method, uri, version = line.split(b" ")
        assert (method.decode(), uri, version) == (request[0], request[1], b"SIP/2.0")
    status = scan_status_line(line)
    if status is not None:
        assert fast == ("response", *status, line)
    assert request is None or status is None


def test_scan_start_lines_take_the_usual_lines() -> None:
    assert scan_request_line(b"INVITE sip:+1@h;user=phone SIP/2.0") == (
        "INVITE",
        b"sip:+1@h;user=phone",
    )
    assert scan_status_line(b"SIP/2.0 180 Ringing") == (180, "Ringing")
    assert scan_status_line(b"SIP/2.0 200") == (200, "")
    assert scan_request_line(b"INVITE sip:a SIP/2.0 ") is None  # extra SP: RFC 4475 §3.1.2.8
    assert scan_status_line(b"SIP/2.0 099 Low") is None


@SETTINGS
@given(pieces(b"0", b"7", b"9", b"255", b"256", b"99999999999", b"-", b"+", b" ", b"x", b"\xd9"))
def test_scan_digits_agrees_with_int(value: bytes) -> None:
    expected = int(value) if value.isdigit() and len(value) <= 10 else -1
    assert scan_digits(value) == expected


# ---- the scanners of single values -------------------------------------------------------------


@SETTINGS
@given(pieces(b";", b"tag", b"TaG", b"=", b" ", b"\t", b",", b"x1", b">", b"<", max_size=12))
def test_scan_tag_reads_what_the_grammar_reads(value: bytes) -> None:
    assert scan_tag(value) == regex_tag(value)


def test_scan_tag_examples() -> None:
    assert scan_tag(b"<sip:a@b;tag=no>;x=1; TAG = 7f ;y") == "7f"
    assert scan_tag(b"sip:a@b;tag=") is None
    assert scan_tag(b"sip:a@b;tag=;tag=2") == "2"


def _result(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except ParseError as exc:
        return ("error", exc.status, exc.detail)


def _via_view(via: Any) -> Any:
    return (via.protocol, via.transport, via.host, via.port, via.params, str(via))


VIA_VALUES = pieces(
    *(b"SIP/2.0/UDP ", b"SIP/2.0/tls ", b"sip/2.0/UDP ", b"host.example", b"192.0.2.1"),
    *(b"[::1]", b"-x", b":5060", b":99999", b":", b";branch=z9hG4bK1", b";rport", b";rport=5"),
    *(b";received=1.2.3.4", b";received=nope", b";ttl=300", b";branch", b";BRANCH=z", b","),
    *(b" ", b"\t", b'"q"', b";=", b"%"),
)


@SETTINGS
@given(VIA_VALUES)
def test_scan_via_agrees_with_parse_via(value: bytes) -> None:
    scanned = scan_via(value)
    if scanned is None:
        return
    transport, host, port, params, end = scanned
    fast = _result(
        lambda: _via_view(via_from_parts(transport, host, port, params, decode(value[:end])))
    )
    first = first_item(value)
    general = _result(lambda: _via_view(parse_via(decode(first))))
    assert fast == general


def test_scan_via_takes_the_usual_via() -> None:
    value = b"SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-1, SIP/2.0/UDP x"
    scanned = scan_via(value)
    assert scanned is not None
    assert scanned[:4] == ("UDP", "192.0.2.10", 5060, {"rport": None, "branch": "z9hG4bK-1"})


@SETTINGS
@given(pieces(b"0", b"1", b"9", b"4294967295", b"4294967296", b" ", b"\t", b"INVITE", b"ack", b"@"))
def test_scan_cseq_agrees_with_parse_cseq(value: bytes) -> None:
    scanned = scan_cseq(value)
    if scanned is not None:
        assert _result(parse_cseq, decode(value)) == ("ok", CSeq(*scanned))


@SETTINGS
@given(st.binary(max_size=20))
def test_scan_call_id_agrees_with_check_call_id(value: bytes) -> None:
    scanned = scan_call_id(value)
    if scanned is not None:
        assert check_call_id(value) == scanned


URI_VALUES = pieces(
    *(b"sip:", b"sips:", b"SIP:", b"tel:", b"alice", b"+1-212", b"@", b"host.example"),
    *(b"10.0.0.1", b"[::1]", b"_srv", b"-bad", b":5060", b":65536", b":", b";lr"),
    *(b";transport=udp", b";LR", b";maddr=[::1]", b";a=(b)", b";", b"=", b"?h=v", b"%41"),
    *(b" ", b"pw:x@"),
)


@SETTINGS
@given(URI_VALUES)
def test_scan_sip_uri_agrees_with_parse_uri(value: bytes) -> None:
    scanned = scan_sip_uri(value)
    if scanned is None:
        return
    scheme, user, host, port, params = scanned
    fast = (scheme, user, None, host, None if port < 0 else port, params, {})
    general = _result(lambda: _uri_view(parse_uri(decode(value))))
    assert general == ("ok", fast)


def test_scan_sip_uri_takes_the_usual_uri() -> None:
    scanned = scan_sip_uri(b"sip:+14155550123@trunk.example.net:5061;user=phone;LR")
    assert scanned == (
        "sip",
        "+14155550123",
        "trunk.example.net",
        5061,
        {"user": "phone", "lr": None},
    )


# Plain pieces first and more often (one_of picks a branch evenly): most values come out plain.
_PLAIN_DISPLAYS = (b"", b'"Alice" ', b'"Doe, J."', b"Alice ", b"Bob\t", b"A B")
_ODD_DISPLAYS = (b'"x\\"y" ', b'"\xc3\xa9" ', b"a,b ", b'"open ')
_PLAIN_URIS = (b"sip:alice@example.com", b"sips:10.0.0.1:5061", b"sip:h;lr", b"sip:a@h:5")
_ODD_URIS = (b"sip:h;lr;LR", b"tel:+1", b"sip:a@b?x=y", b"sip:[::1]", b"sip:a b", b"sip:", b"*")
_PLAIN_PARAMS = (b";tag=1", b";TAG=2", b";x", b";lr", b";q=0.5", b";expires=60")
_ODD_PARAMS = (b";x=", b"; y=2", b';n="v"', b";", b" ", b";%", b";tag=")


def _mostly(plain: tuple[bytes, ...], odd: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(plain), st.sampled_from(plain), st.sampled_from(odd))


@st.composite
def name_addrs(draw: st.DrawFn) -> bytes:
    """One name-addr/addr-spec with parameters, plain or with one unusual piece."""
    display = draw(_mostly(_PLAIN_DISPLAYS, _ODD_DISPLAYS))
    uri = draw(_mostly(_PLAIN_URIS, _ODD_URIS))
    bracketed = draw(st.booleans()) or display != b""
    params = b"".join(draw(st.lists(_mostly(_PLAIN_PARAMS, _ODD_PARAMS), max_size=3)))
    return display + (b"<" + uri + b">" if bracketed else uri) + params


@SETTINGS
@given(st.lists(name_addrs(), min_size=1, max_size=3), _mostly((b",", b" , "), (b";,", b",,")))
def test_scan_name_addrs_only_takes_what_the_grammar_takes(items: list[bytes], sep: bytes) -> None:
    value = sep.join(items)
    for many in (False, True):
        if scan_name_addrs(value, many):
            text = decode(value)
            for item in split_list(text) if many else [text]:
                parse_name_addr(item)  # raises if the scanner took a bad value


def test_scan_name_addrs_takes_the_usual_addresses() -> None:
    for value in (
        b'"Acme Sales" <sip:+12125550199@pbx.acme.example.com;user=phone>;tag=8f3c1a27',
        b"sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag001",
        b"sip:sipp@127.0.0.1:5061",
        b"<sip:+14155550123@trunk.carrier.example.net;user=phone>",
    ):
        assert scan_name_addrs(value, False), value
    assert scan_name_addrs(b"<sip:127.0.0.1:5060;lr>, <sip:10.0.0.1;lr;transport=tcp>", True)
    assert not scan_name_addrs(b"<sip:127.0.0.1;lr>, <sip:10.0.0.1;lr>", False)


@pytest.mark.parametrize(
    "value",
    [b"<sip:a@b>;tag=1;TAG=2", b"<sip:a@b;lr;lr>", b"<sip:a@b;x=1;X=2>", b"sip:a@b;tag=1;tag=1"],
)
def test_a_parameter_said_twice_is_refused_on_every_path(value: bytes) -> None:
    """Readers taking the first and the last would disagree (e.g. on a dialog's tag)."""
    assert not scan_name_addrs(value, False)
    with pytest.raises(ParseError, match="repeated"):
        check_name_addr(decode(value))
    data = PLAIN_INVITE.replace(b"From: ", b"From: " + value + b"\r\nX-Old-From: ", 1)
    msg = parser_module.parse_message(data)
    assert isinstance(msg, Request)
    with pytest.raises(ParseError, match="bad From: repeated"):
        msg.validate()


def test_protos_cases_agree() -> None:
    """The 4,527 PROTOS c07-sip INVITEs and their teardowns (when TRUNKLINE_PROTOS_DIR is set)."""
    directory = protos.cases_dir()
    if directory is None:
        pytest.skip(f"PROTOS c07-sip material not available: set {protos.ENV_VAR}")
    taken = 0
    for _case, invite, teardown in protos.iter_cases(directory):
        taken += _check_message(invite) + _check_message(teardown)
    print(f"{taken} PROTOS messages took the fast path")
    assert taken >= 8000  # most cases break one value, not the plain form
