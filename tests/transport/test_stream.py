"""TCP: framing over a real socket, keep-alive, replies, reuse, aliases, outbound connections."""

from __future__ import annotations

import asyncio

import pytest

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import FramingError
from trunkline.sip.message import Request, Response

from .conftest import LayerFactory
from .helpers import HOSTS, TIMEOUT, free_port, read_until_eof, request, response


async def _client(local: Endpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(local.host, local.port)


@pytest.mark.parametrize("host", HOSTS)
async def test_message_split_across_writes(make_layer: LayerFactory, host: str) -> None:
    layer, user = make_layer()
    local = await layer.listen("tcp", host, 0)
    _reader, writer = await _client(local)
    data = request(body=b"v=0\r\n")
    for i in range(0, len(data), 7):
        writer.write(data[i : i + 7])
        await writer.drain()
    message, source = await user.message()
    assert isinstance(message, Request) and message.body == b"v=0\r\n"
    assert source.transport == "tcp" and source.host == host and source.conn >= 1
    assert source.port == writer.get_extra_info("sockname")[1]
    writer.close()


async def test_two_messages_in_one_write_then_reply_on_same_connection(
    make_layer: LayerFactory,
) -> None:
    layer, user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await _client(local)
    writer.write(request(branch="z9hG4bKa") + request(branch="z9hG4bKb"))
    first, source1 = await user.message()
    second, source2 = await user.message()
    assert [first.top_via.branch, second.top_via.branch] == ["z9hG4bKa", "z9hG4bKb"]
    assert source1 == source2

    layer.send(response(), source1)
    assert await asyncio.wait_for(reader.readexactly(len(response())), TIMEOUT) == response()
    writer.close()


async def test_keepalive_ping_gets_pong(make_layer: LayerFactory) -> None:
    layer, _user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await _client(local)
    writer.write(b"\r\n\r\n")
    assert await asyncio.wait_for(reader.readexactly(2), TIMEOUT) == b"\r\n"
    writer.close()


async def test_parse_error_keeps_connection(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    _reader, writer = await _client(local)
    writer.write(b"INVITE bogus\r\nContent-Length: 0\r\n\r\n" + request())
    error, _data, source = await user.bad_one()
    assert not isinstance(error, FramingError)
    message, source2 = await user.message()
    assert isinstance(message, Request) and source2 == source
    writer.close()


async def test_framing_error_closes_connection(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await _client(local)
    writer.write(request().replace(b"Content-Length: 0", b"Content-Length: zero"))
    error, _data, _source = await user.bad_one()
    assert isinstance(error, FramingError)
    assert await read_until_eof(reader) == b""
    writer.close()


async def test_send_reuses_connection_from_peer(make_layer: LayerFactory) -> None:
    """A send to the peer's address with conn=0 goes over its existing connection."""
    layer, user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await _client(local)
    writer.write(request())
    _message, source = await user.message()
    layer.send(request(method="NOTIFY"), source.without_conn())
    data = await asyncio.wait_for(reader.readexactly(len(request(method="NOTIFY"))), TIMEOUT)
    assert data.startswith(b"NOTIFY ")
    assert layer.connection_count() == 1
    writer.close()


async def test_alias(make_layer: LayerFactory) -> None:
    """RFC 5923: after add_alias, sends to the advertised sent-by use the connection."""
    layer, user = make_layer()
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await _client(local)
    writer.write(request())
    _message, source = await user.message()
    advertised = Endpoint("tcp", "127.0.0.1", 5099)
    layer.add_alias(advertised, source.conn)
    layer.send(request(method="BYE"), advertised)
    data = await asyncio.wait_for(reader.readexactly(len(request(method="BYE"))), TIMEOUT)
    assert data.startswith(b"BYE ")
    assert layer.connection_count() == 1
    writer.close()


@pytest.mark.parametrize("host", HOSTS)
async def test_outbound_connection(make_layer: LayerFactory, host: str) -> None:
    server, server_user = make_layer()
    client, client_user = make_layer()
    server_ep = await server.listen("tcp", host, 0)
    client.send(request(branch="z9hG4bK1"), server_ep)
    client.send(request(branch="z9hG4bK2"), server_ep)  # queued behind the connect
    first, source = await server_user.message()
    second, source2 = await server_user.message()
    assert [first.top_via.branch, second.top_via.branch] == ["z9hG4bK1", "z9hG4bK2"]
    assert source2 == source and client.connection_count() == 1

    server.send(response(), source)
    answer, origin = await client_user.message()
    assert isinstance(answer, Response)
    assert (origin.transport, origin.host, origin.port) == ("tcp", host, server_ep.port)
    assert origin.conn >= 1

    client.send(request(branch="z9hG4bK3"), server_ep)  # reuses the outbound connection
    _third, source3 = await server_user.message()
    assert source3 == source and client.connection_count() == 1


async def test_connect_refused(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    destination = Endpoint("tcp", "127.0.0.1", free_port("127.0.0.1"))
    layer.send(request(), destination)
    failed_to, data, reason = await user.failure()
    assert failed_to == destination and data == request() and "connect" in reason


async def test_ws_without_connection_fails(make_layer: LayerFactory) -> None:
    layer, user = make_layer()
    layer.send(request(), Endpoint("ws", "127.0.0.1", 8080))
    _destination, _data, reason = await user.failure()
    assert "WebSocket" in reason


async def test_exception_in_user_callback_does_not_kill_connection(
    make_layer: LayerFactory,
) -> None:
    layer, user = make_layer()
    calls: list[Request | Response] = []

    def explode(message: Request | Response, source: Endpoint) -> None:
        calls.append(message)
        if len(calls) == 1:
            raise RuntimeError("bug in the stack")
        user.messages.put_nowait((message, source))

    user.message_received = explode  # type: ignore[method-assign]
    local = await layer.listen("tcp", "127.0.0.1", 0)
    _reader, writer = await _client(local)
    writer.write(request(branch="z9hG4bKx") + request(branch="z9hG4bKy"))
    message, _source = await user.message()
    assert message.top_via.branch == "z9hG4bKy"
    writer.close()
