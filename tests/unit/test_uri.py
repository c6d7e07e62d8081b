"""URIs: SIP/SIPS/TEL/absolute, escaping, IPv6 references, RFC 3261 §19.1.4 comparison."""

from __future__ import annotations

import pytest

from trunkline.sip.errors import ParseError
from trunkline.sip.uri import (
    AbsoluteURI,
    SipURI,
    TelURI,
    host_key,
    parse_uri,
    split_hostport,
    unescape,
)


def sip(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri


def test_full_sip_uri_components() -> None:
    uri = sip("sips:alice:secret@atlanta.com:5061;transport=TCP;lr?subject=project%20x&priority=1")
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "atlanta.com",
        5061,
    )
    assert uri.secure and uri.lr and uri.transport == "tcp"
    assert uri.params == {"transport": "TCP", "lr": None}
    assert uri.headers == {"subject": "project%20x", "priority": "1"}


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.com",
        "SIP:Alice@AtLanTa.CoM;Transport=UDP",
        "sip:%61lice@atlanta.com;maddr=239.255.255.1;ttl=15",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sips:[2001:db8::10]:5061;transport=tls",
        "tel:+1-201-555-0123;phone-context=example.com",
        "urn:service:sos",
    ],
)
def test_unmodified_uri_serializes_exactly(text: str) -> None:
    assert str(parse_uri(text)) == text


def test_scheme_is_lower_cased_and_escapes_stay_until_asked() -> None:
    uri = sip("SIP:%61lice@atlanta.com")
    assert uri.scheme == "sip" and uri.user == "%61lice" and uri.user_unescaped == "alice"
    assert unescape("a%00b") == "a\x00b"
    assert unescape("100%") == "100%"  # not an escape: kept


def test_with_returns_a_changed_copy() -> None:
    uri = sip("sip:bob@biloxi.com;transport=udp")
    moved = uri.with_(host="192.0.2.4", port=5070)
    assert str(moved) == "sip:bob@192.0.2.4:5070;transport=udp"
    assert str(uri) == "sip:bob@biloxi.com;transport=udp"


def test_ipv6_references() -> None:
    uri = sip("sip:[2001:db8::10]:5070")
    assert (uri.host, uri.host_bare, uri.port) == ("[2001:db8::10]", "2001:db8::10", 5070)
    assert sip("sip:[2001:db8::10:5070]").port is None  # RFC 5118 §4.3
    assert split_hostport("[::1]:5060") == ("[::1]", 5060)
    assert host_key("[2001:DB8:0::1]") == host_key("2001:db8::1") == "2001:db8::1"
    assert str(SipURI("2001:db8::1", "u")) == "sip:u@[2001:db8::1]"  # brackets added


@pytest.mark.parametrize(
    "text",
    [
        "sip:2001:db8::10",  # RFC 5118 §4.2: no brackets
        "sip:[2001:db8:::192.0.2.1]",  # §4.10
        "sip:[fe80::1%25eth0]",  # a zone id is no IPv6reference
        "sip:[::1",
        "sip:[::1]x",
        "sip:host:65536",
        "sip:host:" + "9" * 5000,
        "sip:user@",
        "sip:us er@host",
        "sip:host;lr;lr",  # §19.1.1: a parameter name once
        "sip:host?x",
        "sip:<host>",
        "tel:xyz",
        "tel:+1;a=1;a=2",
        "nocolon",
        "1abc:x",
        "foo:has space",
        'foo:"quoted"',
    ],
)
def test_bad_uris(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_uri(text)
    assert info.value.status == 400


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;Phone-Context=Example.com")
    assert isinstance(uri, TelURI)
    assert uri.is_global and uri.digits == "+12015550123"
    assert uri.params == {"phone-context": "Example.com"}
    assert uri == parse_uri("tel:+1.201.555.0123;phone-context=example.com")
    assert uri != parse_uri("tel:+1-201-555-0124;phone-context=example.com")
    assert not parse_uri("tel:7042").is_global  # type: ignore[union-attr]


def test_absolute_uri_is_opaque() -> None:
    uri = parse_uri("nobodyKnowsThisScheme:totallyopaquecontent")
    assert isinstance(uri, AbsoluteURI)
    assert (uri.scheme, uri.opaque) == ("nobodyknowsthisscheme", "totallyopaquecontent")


# RFC 3261 §19.1.4, both lists of examples.
EQUIVALENT = [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
    ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"),
    (
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
    (
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
]
NOT_EQUIVALENT = [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"),
    ("sip:alice@atlanta.com", "sips:alice@atlanta.com"),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_rfc3261_equivalent(a: str, b: str) -> None:
    assert parse_uri(a) == parse_uri(b)
    assert parse_uri(b) == parse_uri(a)
    assert hash(parse_uri(a)) == hash(parse_uri(b))


@pytest.mark.parametrize(("a", "b"), NOT_EQUIVALENT)
def test_rfc3261_not_equivalent(a: str, b: str) -> None:
    assert parse_uri(a) != parse_uri(b)
    assert parse_uri(b) != parse_uri(a)


def test_ipv6_hosts_compare_by_address() -> None:
    assert parse_uri("sip:[2001:db8::1]") == parse_uri("sip:[2001:DB8:0:0::1]")
