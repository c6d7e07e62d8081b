"""UDP: datagrams both ways on IPv4 and IPv6, bad datagrams, choice of the sending socket."""

from __future__ import annotations

import pytest

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response
from trunkline.transport import TransportLimits

from .conftest import LayerFactory
from .helpers import HOSTS, DatagramPeer, request, response


@pytest.mark.parametrize("host", HOSTS)
async def test_round_trip(make_layer: LayerFactory, host: str) -> None:
    server, server_user = make_layer()
    client, client_user = make_layer()
    server_ep = await server.listen("udp", host, 0)
    client_ep = await client.listen("udp", host, 0)
    assert server_ep.host == host and server_ep.port > 0 and server_ep.conn == 0

    client.send(request(), server_ep)
    message, source = await server_user.message()
    assert isinstance(message, Request) and message.method == "OPTIONS"
    assert (source.transport, source.host, source.port) == ("udp", host, client_ep.port)

    server.send(response(), source)  # source.conn names the socket it came in on
    answer, origin = await client_user.message()
    assert isinstance(answer, Response) and answer.status == 200
    assert (origin.host, origin.port) == (host, server_ep.port)


async def test_bad_datagram_reported_with_its_bytes(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    local = await layer.listen("udp", "127.0.0.1", 0)
    garbage = b"NOT SIP AT ALL\r\n\r\n"
    peer = await DatagramPeer.open("127.0.0.1")
    peer.sendto(b"\r\n\r\n", local.host, local.port)  # keep-alive: ignored silently
    peer.sendto(garbage, local.host, local.port)
    error, data, source = await user.bad_one()
    peer.close()
    assert isinstance(error, ParseError)
    assert data == garbage
    assert source.port == peer.port
    assert user.messages.empty()


async def test_no_listener_of_that_family(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    await layer.listen("udp", "127.0.0.1", 0)
    layer.send(request(), Endpoint("udp", "::1", 5060))
    destination, data, reason = await user.failure()
    assert destination.host == "::1" and data == request() and "IPv6" in reason


async def test_oversize_send_fails(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(max_datagram=1300))
    local = await layer.listen("udp", "127.0.0.1", 0)
    layer.send(request(body=b"x" * 1300), local)
    _destination, _data, reason = await user.failure()
    assert "max_datagram" in reason


async def test_answer_leaves_from_the_receiving_socket(make_layer: LayerFactory) -> None:
    """Two sockets of one family: the answer goes out of the one the request came in on."""
    layer, user = make_layer()
    await layer.listen("udp", "127.0.0.1", 0)
    second = await layer.listen("udp", "127.0.0.1", 0)
    peer = await DatagramPeer.open("127.0.0.1")
    peer.sendto(request(), second.host, second.port)
    _message, source = await user.message()
    layer.send(response(), source)
    data, address = await peer.receive()
    peer.close()
    assert data == response()
    assert address[1] == second.port
