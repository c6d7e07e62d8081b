"""received/rport stamping and response routing (RFC 3261 §18.2.1/§18.2.2, RFC 3581, RFC 4475)."""

from __future__ import annotations

import pytest

from trunkline.sip.address import parse_via
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request
from trunkline.sip.parser import parse_message
from trunkline.sip.via_rules import default_port, ip_literal, response_destination, stamp_via

LOCAL = Endpoint("udp", "127.0.0.1", 40000)


def request_with_via(via: str) -> Request:
    data = (
        "OPTIONS sip:user@example.com SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKlower\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:caller@example.net>;tag=3\r\n"
        "To: <sip:user@example.com>\r\n"
        "Call-ID: via-rules-1\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


# (top Via as sent, source, Via after stamping, where the response goes)
STAMP_TABLE = [
    # RFC 4475-style: the Via names a documentation address, the packet came from localhost.
    (
        "SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 5060),
    ),
    (
        "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 5060),
    ),
    (
        "SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 5070),
    ),
    # RFC 3581: rport asked for -> filled in with the source port, received always added.
    (
        "SIP/2.0/UDP 192.0.2.2:5070;rport;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2:5070;rport=40000;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 40000),
    ),
    (
        "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport",
        LOCAL,
        "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport=40000;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 40000),
    ),
    # The sent-by is the source: nothing added, the Via port is used.
    (
        "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1",
        Endpoint("udp", "127.0.0.1", 5070),
    ),
    # A host name: received is always added (§18.2.1), and the core needs no DNS.
    (
        "SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 5062),
    ),
    # IPv6 (RFC 5118): the same address written differently is the same address.
    (
        "SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK1",
        Endpoint("udp", "2001:db8::1", 5060),
        "SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK1",
        Endpoint("udp", "2001:db8::1", 5060),
    ),
    (
        "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1",
        Endpoint("udp", "2001:db8::2", 5099),
        "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1;received=2001:db8::2",
        Endpoint("udp", "2001:db8::2", 5060),
    ),
    # Reliable transports answer on the connection the request came on.
    (
        "SIP/2.0/TCP 192.0.2.2:5060;branch=z9hG4bK1",
        Endpoint("tcp", "127.0.0.1", 40001, conn=12),
        "SIP/2.0/TCP 192.0.2.2:5060;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("tcp", "127.0.0.1", 40001, conn=12),
    ),
    (
        "SIP/2.0/TLS client.example.com;branch=z9hG4bK1;rport",
        Endpoint("tls", "127.0.0.1", 40002, conn=3),
        "SIP/2.0/TLS client.example.com;branch=z9hG4bK1;rport=40002;received=127.0.0.1",
        Endpoint("tls", "127.0.0.1", 40002, conn=3),
    ),
    # maddr (an IP literal) wins over received, with the sent-by port.
    (
        "SIP/2.0/UDP 192.0.2.2:5080;maddr=239.255.255.1;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2:5080;maddr=239.255.255.1;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "239.255.255.1", 5080),
    ),
    (
        "SIP/2.0/UDP 192.0.2.2;maddr=239.255.255.1;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2;maddr=239.255.255.1;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "239.255.255.1", 5060),
    ),
    # A maddr that is a name would need DNS: ignored.
    (
        "SIP/2.0/UDP 192.0.2.2:5080;maddr=mcast.example.com;branch=z9hG4bK1",
        LOCAL,
        "SIP/2.0/UDP 192.0.2.2:5080;maddr=mcast.example.com;branch=z9hG4bK1;received=127.0.0.1",
        Endpoint("udp", "127.0.0.1", 5080),
    ),
]


@pytest.mark.parametrize(("via", "source", "stamped", "destination"), STAMP_TABLE)
def test_stamp_and_route(via: str, source: Endpoint, stamped: str, destination: Endpoint) -> None:
    request = request_with_via(via)
    stamp_via(request, source)
    assert str(request.top_via) == stamped
    # Written back into the message, lower Vias untouched, and it survives a round trip.
    again = parse_message(bytes(request))
    assert str(again.top_via) == stamped
    assert [str(v) for v in again.vias][1:] == ["SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKlower"]
    assert response_destination(request.top_via, source) == destination
    assert response_destination(again.top_via, source) == destination


def test_unchanged_request_keeps_its_bytes() -> None:
    request = request_with_via("SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1")
    before = bytes(request)
    stamp_via(request, LOCAL)
    assert bytes(request) == before


def test_response_destination_without_stamping() -> None:
    """Before stamping: a host name falls back to the source address, an empty rport to the
    source port; a filled-in rport and received are taken as they are."""
    cases = [
        ("SIP/2.0/UDP host.example.com:5062;branch=z9hG4bK1", ("127.0.0.1", 5062)),
        ("SIP/2.0/UDP host.example.com;rport;branch=z9hG4bK1", ("127.0.0.1", 40000)),
        ("SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1", ("192.0.2.9", 5060)),
        ("SIP/2.0/UDP 192.0.2.9;received=198.51.100.4;rport=7000", ("198.51.100.4", 7000)),
        ("SIP/2.0/UDP 192.0.2.9:5090;received=[2001:db8::7]", ("2001:db8::7", 5090)),
    ]
    for via, (host, port) in cases:
        assert response_destination(parse_via(via), LOCAL) == Endpoint("udp", host, port), via


def test_default_ports() -> None:
    assert default_port(parse_via("SIP/2.0/UDP a.example.com")) == 5060
    assert default_port(parse_via("SIP/2.0/TCP a.example.com")) == 5060
    assert default_port(parse_via("SIP/2.0/TLS a.example.com")) == 5061
    # A TLS Via arriving over (D)TLS-less datagram transport still defaults to 5061.
    dest = response_destination(parse_via("SIP/2.0/TLS 192.0.2.3"), LOCAL)
    assert dest == Endpoint("udp", "192.0.2.3", 5061)


def test_ip_literal() -> None:
    assert ip_literal("192.0.2.1") == "192.0.2.1"
    assert ip_literal("[2001:DB8::1]") == "2001:db8::1"
    assert ip_literal("2001:db8:0:0::1") == "2001:db8::1"
    assert ip_literal("example.com") is None
    assert ip_literal("1.2.3.4.example") is None
