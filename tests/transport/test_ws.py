"""SIP over WebSocket and secure WebSocket (RFC 7118) with a websockets client."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request
from trunkline.transport import TransportLimits

from .conftest import LayerFactory
from .helpers import HOSTS, TIMEOUT, Certs, request, response


def _uri(scheme: str, local: Endpoint) -> str:
    return f"{scheme}://{local.hostport()}/"


@pytest.mark.parametrize("host", HOSTS)
async def test_ws_round_trip(make_layer: LayerFactory, host: str) -> None:
    layer, user = make_layer()
    local = await layer.listen("ws", host, 0)
    async with connect(_uri("ws", local), subprotocols=["sip"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "sip"
        await ws.send(request().decode())
        message, source = await user.message()
        assert isinstance(message, Request)
        assert source.transport == "ws" and source.host == host and source.conn >= 1
        assert source.port == ws.local_address[1]

        layer.send(response(), source)
        reply = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert reply == response().decode()  # a text frame: it is UTF-8

        layer.send(request(method="NOTIFY"), source.without_conn())  # reuse by address
        reply = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(reply, str) and reply.startswith("NOTIFY ")

        await ws.send(request(branch="z9hG4bKbin"))  # binary frames are fine too
        message, _source = await user.message()
        assert message.top_via.branch == "z9hG4bKbin"


async def test_wss_round_trip(make_layer: LayerFactory, certs: Certs) -> None:
    layer, user = make_layer()
    local = await layer.listen("wss", "127.0.0.1", 0, tls=certs.server())
    context = ssl.create_default_context(cafile=certs.ca)
    async with connect(_uri("wss", local), subprotocols=["sip"], ssl=context) as ws:  # type: ignore[list-item]
        await ws.send(request())
        _message, source = await user.message()
        assert source.transport == "wss"
        layer.send(response(), source)
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == response().decode()


async def test_handshake_without_sip_subprotocol_rejected(make_layer: LayerFactory) -> None:
    layer, _user = make_layer()
    local = await layer.listen("ws", "127.0.0.1", 0)
    with pytest.raises(InvalidStatus) as info:
        async with connect(_uri("ws", local)):
            pass
    assert info.value.response.status_code == 400
    with pytest.raises(InvalidStatus):
        async with connect(_uri("ws", local), subprotocols=["chat"]):  # type: ignore[list-item]
            pass
    assert layer.connection_count() == 0


async def test_bad_message_and_keepalive(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    local = await layer.listen("ws", "127.0.0.1", 0)
    async with connect(_uri("ws", local), subprotocols=["sip"]) as ws:  # type: ignore[list-item]
        await ws.send("\r\n\r\n")
        assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "\r\n"
        await ws.send("GARBAGE\r\n\r\n")
        _error, data, source = await user.bad_one()
        assert data == b"GARBAGE\r\n\r\n" and source.transport == "ws"


async def test_ws_idle_timeout(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(idle_timeout=0.05))
    local = await layer.listen("ws", "127.0.0.1", 0)
    async with connect(_uri("ws", local), subprotocols=["sip"]) as ws:  # type: ignore[list-item]
        await ws.send(request())
        await user.message()
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        assert ws.close_code == 1001


async def test_ws_max_connections(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(max_connections=1))
    local = await layer.listen("ws", "127.0.0.1", 0)
    async with connect(_uri("ws", local), subprotocols=["sip"]) as ws:  # type: ignore[list-item]
        await ws.send(request())
        await user.message()  # registered
        with pytest.raises(InvalidStatus) as info:
            async with connect(_uri("ws", local), subprotocols=["sip"]):  # type: ignore[list-item]
                pass
        assert info.value.response.status_code == 503
    assert layer.connection_count() <= 1
