"""The layer as a whole: listeners, local endpoints, shutdown."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from trunkline.sip.endpoint import Endpoint

from .conftest import LayerFactory
from .helpers import HAS_IPV6, TIMEOUT, read_until_eof, request


async def test_listeners_and_local_endpoint(make_layer: LayerFactory) -> None:
    layer, _user = make_layer()
    udp4 = await layer.listen("udp", "127.0.0.1", 0)
    wildcard = await layer.listen("tcp", "0.0.0.0", 0)
    tcp4 = await layer.listen("tcp", "127.0.0.1", 0)
    assert layer.listeners() == [udp4, wildcard, tcp4]
    assert layer.local_endpoint("tcp") == tcp4  # a specific address beats the wildcard
    assert layer.local_endpoint("udp", "192.0.2.1") == udp4
    assert layer.local_endpoint("udp", "2001:db8::1") is None
    assert layer.local_endpoint("tls") is None
    if HAS_IPV6:
        udp6 = await layer.listen("udp", "::1", 0)
        assert layer.local_endpoint("udp", "2001:db8::1") == udp6


async def test_listen_rejects_bad_arguments(make_layer: LayerFactory) -> None:
    layer, _user = make_layer()
    with pytest.raises(ValueError):
        await layer.listen("sctp", "127.0.0.1", 0)
    with pytest.raises(ValueError):
        await layer.listen("tls", "127.0.0.1", 0)  # no TlsSettings


async def test_close_ends_connections_and_listeners(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    tcp = await layer.listen("tcp", "127.0.0.1", 0)
    ws_ep = await layer.listen("ws", "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(tcp.host, tcp.port)
    writer.write(request())
    await user.message()
    async with connect(f"ws://{ws_ep.hostport()}/", subprotocols=["sip"]) as ws:  # type: ignore[list-item]
        await ws.send(request())
        await user.message()
        layer.send(request(), Endpoint("tcp", "192.0.2.1", 5060))  # a connect in progress
        assert layer.connection_count() == 2

        await asyncio.wait_for(layer.close(), TIMEOUT)
        assert layer.connection_count() == 0
        assert await read_until_eof(reader) == b""
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection(tcp.host, tcp.port)
    assert user.failures.empty()  # no callbacks after close
