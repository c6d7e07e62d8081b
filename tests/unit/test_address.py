"""name-addr (From/To/Contact/Route), Via and CSeq values."""

from __future__ import annotations

import pytest

from trunkline.sip.address import (
    CSeq,
    NameAddr,
    Via,
    check_name_addr,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from trunkline.sip.errors import ParseError
from trunkline.sip.parser import parse_message
from trunkline.sip.uri import SipURI, parse_uri


@pytest.mark.parametrize(
    ("text", "display", "uri", "params"),
    [
        (
            '"Bob Smith" <sip:bob@biloxi.com>;tag=a6c85cf',
            "Bob Smith",
            "sip:bob@biloxi.com",
            {"tag": "a6c85cf"},
        ),
        ("Bob  Smith <sip:bob@biloxi.com>", "Bob Smith", "sip:bob@biloxi.com", {}),
        ("<sip:bob@biloxi.com;lr>;expires=60", None, "sip:bob@biloxi.com;lr", {"expires": "60"}),
        ("sip:bob@biloxi.com;tag=1;x", None, "sip:bob@biloxi.com", {"tag": "1", "x": None}),
        ('"a \\"q\\" b"<sip:a@b>', 'a "q" b', "sip:a@b", {}),
        ("caller<sip:caller@example.com>", "caller", "sip:caller@example.com", {}),
        ("<tel:+12015550123> ; q = 0.5", None, "tel:+12015550123", {"q": "0.5"}),
        ('<sip:a@b>;p="quoted;value"', None, "sip:a@b", {"p": '"quoted;value"'}),
    ],
)
def test_name_addr_forms(text: str, display: str | None, uri: str, params: dict[str, str]) -> None:
    addr = parse_name_addr(text)
    assert addr.display == display
    assert str(addr.uri) == uri
    assert addr.params == params
    assert str(addr) == text.strip()  # untouched: written back as read


@pytest.mark.parametrize(
    "text",
    [
        "",
        '"unterminated <sip:a@b>',
        "Bob, Smith <sip:a@b>",  # RFC 4475 §3.1.2.15
        "< sip:a@b >",  # §3.1.2.14
        "<sip:a@b",
        "sip:a@b?Route=x",  # §3.1.2.13: must be in <>
        "<sip:a@b>;;tag=1",  # §3.1.2.1
        "<sip:a@b>;tag=1;tag=2",  # repeated parameter: readers would disagree on the tag
        "<sip:a@b> junk",
        '"d" sip:a@b',
        "*",  # a wildcard only where allowed
    ],
)
def test_bad_name_addrs(text: str) -> None:
    with pytest.raises(ParseError):
        parse_name_addr(text).uri  # noqa: B018


def test_wildcard_contact() -> None:
    addr = parse_name_addr("*", allow_wildcard=True)
    assert addr.is_wildcard and str(addr) == "*"
    with pytest.raises(ParseError):
        addr.uri  # noqa: B018


def test_editing_re_serializes() -> None:
    addr = parse_name_addr("Bob <sip:bob@biloxi.com>")
    addr.tag = "xyz"
    assert str(addr) == '"Bob" <sip:bob@biloxi.com>;tag=xyz'
    addr.set_param("tag", None, remove=True)
    assert addr.tag is None
    addr.uri = parse_uri("sip:bob@192.0.2.1")
    assert str(addr) == '"Bob" <sip:bob@192.0.2.1>'
    copy = addr.copy()
    copy.tag = "1"
    assert addr.tag is None
    assert str(NameAddr(SipURI("h", "u"), 'Q "x"')) == '"Q \\"x\\"" <sip:u@h>'


def test_via_params() -> None:
    via = parse_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77;received=198.51.100.7;rport=4321")
    assert (via.transport, via.host, via.port, via.sent_by) == (
        "UDP",
        "192.0.2.1",
        5060,
        "192.0.2.1:5060",
    )
    assert via.branch == "z9hG4bK77" and via.received == "198.51.100.7"
    assert via.rport == 4321 and via.wants_rport
    empty = parse_via("SIP/2.0/TCP h;rport;branch=z9hG4bKx")
    assert empty.rport is None and empty.wants_rport
    empty.set_param("received", "203.0.113.9")
    empty.set_param("rport", "5062")
    assert str(empty) == "SIP/2.0/TCP h;rport=5062;branch=z9hG4bKx;received=203.0.113.9"


def test_via_lws_and_ipv6() -> None:
    via = parse_via("SIP / 2.0 / tcp  [2001:db8::9:1] : 5070 ; branch = z9hG4bKa")
    assert (via.transport, via.host, via.host_bare, via.port) == (
        "TCP",
        "[2001:db8::9:1]",
        "2001:db8::9:1",
        5070,
    )
    assert via.branch == "z9hG4bKa"
    assert parse_via("SIP/2.0/UDP [::1];received=[::2]").received == "[::2]"  # RFC 5118 §4.5
    assert str(Via("UDP", "::1", 5060)) == "SIP/2.0/UDP [::1]:5060"


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP",
        "SIP/3.0/UDP host",
        "SIP/2.0/UDP host:70000",
        "SIP/2.0/UDP host:" + "1" * 5000,
        "SIP / 2.0 / UDP host : " + "1" * 5000,
        "SIP/2.0/UDP host;rport=x",
        "SIP/2.0/UDP host;rport=70000",
        "SIP/2.0/UDP host;rport=" + "1" * 5000,
        "SIP/2.0/UDP host;received=not-an-ip",
        "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host;ttl=256",
        "SIP/2.0/UDP host;;",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP [2001:db8:::1]",
        "SIP/2.0/UDP host;branch=a;branch=b",
    ],
    ids=lambda text: text[:40],
)
def test_bad_vias(text: str) -> None:
    with pytest.raises(ParseError):
        parse_via(text)


def test_cseq_limits() -> None:
    assert parse_cseq("0009 INVITE") == CSeq(9, "INVITE")  # RFC 4475 §3.1.1.1
    assert parse_cseq("0 ACK").number == 0
    assert parse_cseq("4294967295 BYE").number == 2**32 - 1  # 32-bit unsigned (§20.16)
    assert parse_cseq("1 \t INVITE").method == "INVITE"
    assert parse_cseq("0" * 5000 + "7 A").number == 7
    assert str(CSeq(7, "BYE")) == "7 BYE" and hash(CSeq(1, "A")) == hash(CSeq(1, "A"))
    for bad in [
        "4294967296 INVITE",  # RFC 4475 §3.1.2.4
        "36893488147419103232 INVITE",
        "9" * 5000 + " INVITE",
        "-1 INVITE",
        "1",
        "INVITE",
        "1 INVITE extra",
        "1 IN/VITE",
        "\u0661 INVITE",  # a Unicode digit is no DIGIT
        "1\u00a0INVITE",  # nor is a no-break space LWS
    ]:
        with pytest.raises(ParseError):
            parse_cseq(bad)


@pytest.mark.parametrize(
    "value",
    [
        "a" * 30_000,  # a display name that never reaches "<"
        "a b " * 8_000,
        "x" * 10_000 + ";" + "y" * 10_000,
        '"' + "q" * 20_000,
        "<sip:" + "u" * 20_000,
    ],
)
def test_validation_stays_linear_on_hostile_addresses(value: str) -> None:
    """A regex with nested quantifiers here once took exponential time on the first value:
    one such From from any peer stalled the event loop. These must answer at once."""
    head = (
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        f"From: {value};tag=1\r\nTo: <sip:a@example.com>\r\nContact: {value}\r\n"
        "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    msg = parse_message(head.encode())
    with pytest.raises(ParseError):
        msg.validate()
    with pytest.raises(ParseError):
        check_name_addr(value)
