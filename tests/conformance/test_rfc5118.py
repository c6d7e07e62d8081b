"""RFC 5118 IPv6 torture messages, with the behaviour the RFC asks for (see rfc5118/INDEX.md).

The archive files are LF-only and the two §4.10 files have no empty line: ``wire()`` turns them
into wire bytes (LF -> CRLF, CRLF appended to the §4.10 pair). Content-Length: three files carry
the value printed in the RFC, which does not match their body once converted to CRLF (268 for
251 bytes, 181 for 189, 236 for 245). ``wire()`` fixes it to the real body length by default,
because §4.6/4.8/4.9 are about IPv6 in SDP, not framing; the values as printed are tested once
on their own (a Content-Length beyond the datagram is a 400, RFC 4475 §3.1.2.2; a shorter one
cuts the body, RFC 3261 §18.3).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request
from trunkline.sip.parser import parse_message
from trunkline.sip.uri import SipURI

DIR = Path(__file__).parent / "rfc5118"
NAMES = sorted(p.name for p in DIR.iterdir() if "-" in p.name and "." not in p.name)
UNTERMINATED = {"ipv6-bug-abnf-3-colons", "ipv6-correct-abnf-2-colons"}  # §4.10


def wire(name: str, *, fix_content_length: bool = True) -> bytes:
    data = (DIR / name).read_bytes()
    assert b"\r" not in data
    data = data.replace(b"\n", b"\r\n")
    if name in UNTERMINATED:
        data += b"\r\n"
    if fix_content_length:
        body = data[data.index(b"\r\n\r\n") + 4 :]
        data = re.sub(rb"Content-Length: *\d+", b"Content-Length: %d" % len(body), data)
    return data


def request(name: str) -> Request:
    msg = parse_message(wire(name))
    assert isinstance(msg, Request)
    return msg


def test_corpus_is_complete_and_unmodified() -> None:
    sums = dict(
        reversed(line.split()) for line in (DIR / "SHA256SUMS").read_text().splitlines() if line
    )
    assert len(NAMES) == 12 and set(sums) == set(NAMES)
    for name in NAMES:
        assert hashlib.sha256((DIR / name).read_bytes()).hexdigest() == sums[name]


VALID = sorted(set(NAMES) - {"ipv6-bad", "ipv6-bug-abnf-3-colons"})


@pytest.mark.parametrize("name", VALID)
def test_valid_messages_parse_and_validate(name: str) -> None:
    msg = request(name)
    msg.validate()
    assert bytes(parse_message(bytes(msg))) == bytes(msg)


def test_ipv6_good() -> None:  # §4.1
    msg = request("ipv6-good")
    assert isinstance(msg.uri, SipURI) and msg.uri.host == "[2001:db8::10]"
    assert msg.uri.host_bare == "2001:db8::10"
    assert msg.top_via.host == "[2001:db8::9:1]"
    assert [str(c.uri) for c in msg.contacts] == ["sip:caller@[2001:db8::1]"]


def test_ipv6_bad_request_uri_without_brackets() -> None:  # §4.2: 400
    with pytest.raises(ParseError) as info:
        parse_message(wire("ipv6-bad"))
    assert (info.value.status, info.value.is_request) == (400, True)


def test_port_ambiguous_is_an_address_not_a_port() -> None:  # §4.3
    uri = request("port-ambiguous").uri
    assert isinstance(uri, SipURI)
    assert (uri.host, uri.port) == ("[2001:db8::10:5070]", None)


def test_port_unambiguous() -> None:  # §4.4
    uri = request("port-unambiguous").uri
    assert isinstance(uri, SipURI)
    assert (uri.host, uri.port) == ("[2001:db8::10]", 5070)


@pytest.mark.parametrize(
    ("name", "received"),
    [
        ("via-received-param-with-delim", "[2001:db8::9:255]"),  # robustness: accepted
        ("via-received-param-no-delim", "2001:db8::9:255"),
    ],
)
def test_via_received_ipv6(name: str, received: str) -> None:  # §4.5
    assert request(name).top_via.received == received


def test_mult_ip_in_header() -> None:  # §4.7
    hosts = [v.host for v in request("mult-ip-in-header").vias]
    assert hosts == ["[2001:db8::9:1]", "192.0.2.1", "[2001:db8::9:255]"]


@pytest.mark.parametrize("name", ["ipv6-in-sdp", "mult-ip-in-sdp", "ipv4-mapped-ipv6"])
def test_sdp_bodies_with_ipv6(name: str) -> None:  # §4.6, §4.8, §4.9
    msg = request(name)
    assert msg.content_type == "application/sdp"
    assert msg.body.startswith(b"v=0\r\n") and msg.body.endswith(b"\r\n")
    assert b"\r\nc=IN IP6 " in msg.body or b"::ffff:" in msg.body  # no brackets in SDP
    assert b"[" not in msg.body  # (SDP itself is parsed in the SDP tests)


def test_ipv4_mapped_addresses() -> None:  # §4.9
    msg = request("ipv4-mapped-ipv6")
    assert [(v.host, v.port) for v in msg.vias] == [
        ("[::ffff:192.0.2.10]", 19823),
        ("[::ffff:192.0.2.2]", None),
    ]


def test_content_length_as_printed_in_the_rfc() -> None:
    with pytest.raises(ParseError) as info:  # 268 > 251: larger than the datagram
        parse_message(wire("ipv6-in-sdp", fix_content_length=False))
    assert info.value.status == 400
    for name, printed in (("mult-ip-in-sdp", 181), ("ipv4-mapped-ipv6", 236)):
        msg = parse_message(wire(name, fix_content_length=False))
        assert len(msg.body) == printed  # the rest of the datagram is ignored (§18.3)


def test_abnf_bug_three_colons_is_rejected() -> None:  # §4.10: rejecting is defensible
    # RFC 4291/3986 have no ':::'; accepting it would mean rewriting the address.
    with pytest.raises(ParseError) as info:
        parse_message(wire("ipv6-bug-abnf-3-colons"))
    assert (info.value.status, info.value.is_request) == (400, True)


def test_abnf_correct_two_colons() -> None:  # §4.10
    uri = request("ipv6-correct-abnf-2-colons").uri
    assert isinstance(uri, SipURI) and uri.host == "[2001:db8::192.0.2.1]"
