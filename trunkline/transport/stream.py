"""TCP and TLS connections: StreamParser framing, CRLF keep-alive (RFC 3261 §18.3, RFC 5626).

One :class:`StreamConnection` (an asyncio Protocol) per connection, inbound or outbound. A
framing error is unrecoverable (RFC 4475 §3.1.2): it is reported, then the connection is closed
after flushing whatever the user answered.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import FramingError, ParseError
from trunkline.sip.stream import KeepAlive, StreamParser
from trunkline.transport.base import Connection, Hub, PeerKey

_PONG = b"\r\n"


class StreamConnection(Connection, asyncio.Protocol):
    """A TCP or TLS connection; ``outbound`` is the (transport, host, port) it was opened to."""

    __slots__ = ("_hub", "_loop", "_parser", "_transport", "outbound")

    def __init__(self, hub: Hub, name: str, outbound: PeerKey | None = None) -> None:
        super().__init__(name)
        self._hub = hub
        self._loop = hub.loop
        limits = hub.limits
        self._parser = StreamParser(max_header=limits.max_header, max_body=limits.max_body)
        self._transport: asyncio.Transport | None = None
        self.outbound = outbound

    # ---- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance check here.
        self._transport = stream = cast(asyncio.Transport, transport)
        peer = stream.get_extra_info("peername")
        self.last_active = self._loop.time()
        if not peer:  # already gone
            self.closing = True
            stream.abort()
            return
        self.peer = Endpoint(self.name, peer[0], peer[1])
        if not self._hub.register(self):
            self.closing = True
            stream.abort()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_active = self._loop.time()
        hub = self._hub
        try:
            events = self._parser.feed(data)
        except FramingError as exc:
            hub.bad(exc, data, self.peer)
            self.close()
            return
        for event in events:
            if isinstance(event, ParseError):
                hub.bad(event, data, self.peer)
            elif isinstance(event, KeepAlive):
                if event.ping:
                    self.write(_PONG)  # RFC 5626 §3.5.1: answer a CRLFCRLF ping with CRLF
            else:
                hub.deliver(event, self.peer)

    def eof_received(self) -> bool | None:
        return None  # close our side too: SIP has no use for half-closed connections

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self._hub.unregister(self)

    # ---- Connection --------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self.closing:
            self._hub.failed(self.peer, data, "connection closing")
            return
        transport.write(data)
        self.last_active = self._loop.time()
        if transport.get_write_buffer_size() > self._hub.limits.max_buffer:
            self._hub.failed(self.peer, data, "write buffer full; connection dropped")
            self.abort()

    def close(self) -> None:
        self.closing = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self.closing = True
        if self._transport is not None:
            self._transport.abort()

    def peer_certificate(self) -> dict[str, Any] | None:
        if self._transport is None:
            return None
        cert = self._transport.get_extra_info("peercert")
        return cert or None
