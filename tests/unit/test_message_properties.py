"""Property-based tests of the message layer: round trips and robustness under mutation."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkline.sip.error_answer import error_response
from trunkline.sip.errors import FramingError, ParseError
from trunkline.sip.message import Message, Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.stream import StreamParser

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
HOSTNAME = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
IPV6 = st.ip_addresses(v=6).map(lambda a: f"[{a}]")
HOST = st.one_of(HOSTNAME, IPV4, IPV6)
PORT = st.one_of(st.none(), st.integers(1, 65535))
USER = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/",
    min_size=1,
    max_size=12,
)
METHOD = st.one_of(st.sampled_from(["INVITE", "ACK", "BYE", "OPTIONS", "REGISTER", "INFO"]), TOKEN)
PVALUE = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*", min_size=1, max_size=8
)
PARAMS = st.dictionaries(LABEL, st.one_of(st.none(), PVALUE), max_size=3).map(
    lambda d: "".join(f";{k}" if v is None else f";{k}={v}" for k, v in d.items())
)


def hostport(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@st.composite
def sip_uri(draw: Any) -> str:
    user = draw(st.one_of(st.none(), USER))
    scheme = draw(st.sampled_from(["sip", "sips", "SIP"]))
    userinfo = "" if user is None else user + "@"
    return f"{scheme}:{userinfo}{hostport(draw(HOST), draw(PORT))}{draw(PARAMS)}"


@st.composite
def name(draw: Any, long: str, compact: str | None = None) -> str:
    """A header name as a peer might spell it: any case, maybe compact, maybe LWS before ':'."""
    spelled = draw(st.sampled_from([long, compact] if compact else [long]))
    spelled = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in spelled)
    return spelled + draw(st.sampled_from(["", " ", "\t "]))


def sep(draw: Any) -> str:
    """What follows the colon: any LWS, sometimes folded onto the next line."""
    return draw(st.sampled_from([" ", "", "   ", "\t", "\r\n ", " \r\n\t "]))


@st.composite
def messages(draw: Any) -> tuple[bytes, dict[str, Any]]:
    """A valid message and the values a reader should find in it."""
    is_request = draw(st.booleans())
    method = draw(METHOD)
    uri = draw(sip_uri())
    status = draw(st.integers(100, 699))
    reason = draw(st.text("abcdefghij KLMNOP", max_size=15))
    start = f"{method} {uri} SIP/2.0" if is_request else f"SIP/2.0 {status} {reason}"
    branches = draw(st.lists(TOKEN, min_size=1, max_size=3))
    vias = [
        f"SIP/2.0/{draw(st.sampled_from(['UDP', 'TCP', 'TLS']))} "
        f"{hostport(draw(HOST), draw(PORT))};branch=z9hG4bK{b}"
        for b in branches
    ]
    from_tag, to_tag = draw(TOKEN), draw(st.one_of(st.none(), TOKEN))
    call_id = draw(TOKEN) + "@" + draw(HOSTNAME)
    cseq = draw(st.integers(0, 2**31 - 1))
    max_forwards = draw(st.one_of(st.none(), st.integers(0, 255)))
    body = draw(st.binary(max_size=64))
    display = draw(st.one_of(st.none(), st.text('abc XYZ"\\', max_size=8)))
    shown = (
        "" if display is None else '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '" '
    )
    lines = [start]
    if draw(st.booleans()):  # all Vias in one header, or one line each
        lines.append(draw(name("Via", "v")) + ":" + sep(draw) + ", ".join(vias))
    else:
        lines += [draw(name("Via", "v")) + ":" + sep(draw) + v for v in vias]
    to_param = "" if to_tag is None else f";tag={to_tag}"
    headers = [
        draw(name("From", "f")) + ":" + sep(draw) + f"{shown}<{draw(sip_uri())}>;tag={from_tag}",
        draw(name("To", "t")) + ":" + sep(draw) + f"<{draw(sip_uri())}>{to_param}",
        draw(name("Call-ID", "i")) + ":" + sep(draw) + call_id,
        draw(name("CSeq")) + ":" + sep(draw) + f"{cseq} {method if is_request else 'INVITE'}",
        draw(name("Contact", "m")) + ":" + sep(draw) + f"<{draw(sip_uri())}>",
        draw(name("X-Extension")) + ":" + sep(draw) + draw(st.text("abc ;,=", max_size=10)).strip(),
    ]
    if max_forwards is not None:
        headers.append(draw(name("Max-Forwards")) + ":" + sep(draw) + str(max_forwards))
    lines += draw(st.permutations(headers))
    lines.append(draw(name("Content-Length", "l")) + ":" + sep(draw) + str(len(body)))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    expect = {
        "is_request": is_request,
        "method": method,
        "status": status,
        "branches": ["z9hG4bK" + b for b in branches],
        "from_tag": from_tag,
        "to_tag": to_tag,
        "call_id": call_id,
        "cseq": cseq,
        "max_forwards": max_forwards,
        "body": body,
        "display": display,
    }
    return data, expect


def observable(msg: Message) -> tuple[Any, ...]:
    first = (msg.method, str(msg.uri)) if isinstance(msg, Request) else (msg.status, msg.reason)
    return (
        first,
        [str(v) for v in msg.vias],
        [v.branch for v in msg.vias],
        (str(msg.from_), msg.from_tag, str(msg.to), msg.to_tag),
        (msg.call_id, msg.cseq, msg.max_forwards),
        [str(c) for c in msg.contacts],
        list(msg),
        msg.body,
    )


@SETTINGS
@given(messages())
def test_generated_messages_parse_to_what_was_written(case: tuple[bytes, dict[str, Any]]) -> None:
    data, expect = case
    msg = parse_message(data)
    assert isinstance(msg, Request) == expect["is_request"]
    if isinstance(msg, Request):
        assert msg.method == expect["method"]
        msg.validate()
    else:
        assert isinstance(msg, Response) and msg.status == expect["status"]
    assert [v.branch for v in msg.vias] == expect["branches"]
    assert msg.from_tag == msg.from_.tag == expect["from_tag"]
    assert msg.to_tag == msg.to.tag == expect["to_tag"]
    assert msg.from_.display == expect["display"]
    assert (msg.call_id, msg.cseq.number) == (expect["call_id"], expect["cseq"])
    assert msg.max_forwards == expect["max_forwards"]
    assert msg.body == expect["body"]


@SETTINGS
@given(messages())
def test_untouched_round_trip_is_byte_exact(case: tuple[bytes, dict[str, Any]]) -> None:
    data, _ = case
    msg = parse_message(data)
    assert bytes(msg) == data
    assert observable(parse_message(bytes(msg))) == observable(msg)


@SETTINGS
@given(messages(), st.integers(0, 255), TOKEN)
def test_edited_round_trip(case: tuple[bytes, dict[str, Any]], hops: int, tag: str) -> None:
    msg = parse_message(case[0])
    msg.max_forwards = hops
    msg.add_header("Via", "SIP/2.0/UDP sbc.example.net;branch=z9hG4bKsbc", first=True)
    msg.to.tag = tag
    msg.update_address("to")
    msg.body = msg.body + b"x"
    again = parse_message(bytes(msg))
    assert observable(again) == observable(msg)
    assert again.top_via.branch == "z9hG4bKsbc" and again.to_tag == tag
    assert again.max_forwards == hops and again.body == case[1]["body"] + b"x"


PROPERTIES = (
    "vias",
    "top_via",
    "contacts",
    "routes",
    "record_routes",
    "from_",
    "to",
    "from_tag",
    "to_tag",
    "call_id",
    "cseq",
    "max_forwards",
    "content_type",
    "body",
    "uri",
)


@st.composite
def mutated(draw: Any) -> bytes:
    data = bytearray(draw(messages())[0])
    interesting = st.sampled_from(list(b' \t\r\n:;,<>"@[]%=\\?&/0\x00\xff'))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        i = draw(st.integers(0, len(data)))
        if op == "flip" and i < len(data):
            data[i] = draw(st.one_of(interesting, st.integers(0, 255)))
        elif op == "insert":
            data[i:i] = bytes([draw(st.one_of(interesting, st.integers(0, 255)))])
        elif op == "delete" and i < len(data):
            del data[i]
        elif op == "truncate":
            del data[i:]
    return bytes(data)


def only_parse_errors(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except ParseError as exc:
        answer = error_response(exc, "t")
        if answer is not None:
            assert isinstance(parse_message(answer), Response)
        return
    for prop in PROPERTIES:
        try:
            getattr(msg, prop, None)
        except ParseError:
            pass
    if isinstance(msg, Request):
        try:
            msg.validate()
        except ParseError:
            pass
    parse_message(bytes(msg))  # what we accepted, we can write and read back


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_raise_only_parse_errors(data: bytes) -> None:
    only_parse_errors(data)


@SETTINGS
@given(mutated(), st.integers(1, 40))
def test_stream_raises_only_framing_errors(data: bytes, chunk: int) -> None:
    parser = StreamParser()
    try:
        for i in range(0, len(data), chunk):
            for event in parser.feed(data[i : i + chunk]):
                assert isinstance(event, Request | Response | ParseError) or event.ping in (
                    True,
                    False,
                )
    except FramingError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_parse_errors(data: bytes) -> None:
    only_parse_errors(b"INVITE sip:a@b SIP/2.0\r\n" + data)
