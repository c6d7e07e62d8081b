"""Limits: oversize headers, connection count, write buffer, idle connections."""

from __future__ import annotations

import asyncio

from trunkline.sip.errors import FramingError
from trunkline.transport import TransportLimits

from .conftest import LayerFactory
from .helpers import TIMEOUT, read_until_eof, request


async def test_oversize_header_closes_connection(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(max_header=1024))
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(local.host, local.port)
    writer.write(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X-Pad: " + b"x" * 2000 + b"\r\n")
    error, _data, _source = await user.bad_one()
    assert isinstance(error, FramingError) and error.status == 513
    assert await read_until_eof(reader) == b""
    writer.close()


async def test_oversize_body_closes_connection(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(max_body=100))
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(local.host, local.port)
    writer.write(request(body=b"x" * 200))
    error, _data, _source = await user.bad_one()
    assert isinstance(error, FramingError)
    assert await read_until_eof(reader) == b""
    writer.close()


async def test_max_connections(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(max_connections=2))
    local = await layer.listen("tcp", "127.0.0.1", 0)
    writers = []
    for _ in range(2):
        _reader, writer = await asyncio.open_connection(local.host, local.port)
        writer.write(request())
        await user.message()  # registered
        writers.append(writer)
    reader, writer = await asyncio.open_connection(local.host, local.port)
    writer.write(request())
    assert await read_until_eof(reader) == b""
    assert layer.connection_count() == 2 and user.messages.empty()
    for w in [*writers, writer]:
        w.close()


async def test_idle_connection_closed(make_layer: LayerFactory) -> None:
    layer, user = make_layer(TransportLimits(idle_timeout=0.05))
    local = await layer.listen("tcp", "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(local.host, local.port)
    writer.write(request())
    await user.message()
    assert await read_until_eof(reader) == b""
    writer.close()


async def test_write_buffer_overflow_drops_connection(make_layer: LayerFactory) -> None:
    """A peer that never reads: once the kernel buffers fill, our buffer passes max_buffer."""
    layer, user = make_layer(TransportLimits(max_buffer=256 * 1024))
    local = await layer.listen("tcp", "127.0.0.1", 0)
    _reader, writer = await asyncio.open_connection(local.host, local.port)
    writer.write(request())
    _message, source = await user.message()
    chunk = b"x" * (1024 * 1024)
    for _ in range(256):
        layer.send(chunk, source)
        if layer.connection_count() == 0 or not user.failures.empty():
            break
    destination, _data, reason = await asyncio.wait_for(user.failures.get(), TIMEOUT)
    assert destination.conn == source.conn and "buffer" in reason
    writer.close()
