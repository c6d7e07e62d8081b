"""SIP over WebSocket and secure WebSocket (RFC 7118), server side, with ``websockets``.

Each WebSocket message carries exactly one SIP message (RFC 7118 §5), so it is parsed with
datagram semantics. The opening handshake must offer the ``sip`` subprotocol (§4.1): websockets
refuses a handshake without it (HTTP 400). Outbound WebSocket connections are not implemented:
SIP servers reach WS clients over the connections the clients opened.

No WebSocket ping timer runs per connection; the layer's idle sweep closes dead connections,
and a CRLFCRLF message is answered with CRLF, as some SIP-over-WS clients expect.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse
from websockets.typing import Subprotocol

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.parser import parse_message
from trunkline.transport.base import Connection, Hub, RateLimitedLog

SUBPROTOCOL = Subprotocol("sip")
_log = RateLimitedLog()
_CRLF_START = (b"\r", b"\n")


def _is_text(data: bytes) -> bool:
    """RFC 7118 §5.1: text frames must be UTF-8; anything else goes in a binary frame."""
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


class WsConnection(Connection):
    """One accepted WebSocket; writes go through a small queue drained by a short-lived task."""

    __slots__ = ("_hub", "_loop", "_queue", "_queued", "_sender", "_ws")

    def __init__(self, hub: Hub, name: str, ws: ServerConnection) -> None:
        super().__init__(name)
        self._hub = hub
        self._loop = hub.loop
        self._ws = ws
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._sender: asyncio.Task[None] | None = None
        host, port = ws.remote_address[:2]
        self.peer = Endpoint(name, host, port)
        self.last_active = self._loop.time()

    def received(self, message: str | bytes) -> None:
        self.last_active = self._loop.time()
        data = message.encode() if isinstance(message, str) else message
        if data[:1] in _CRLF_START and not data.strip(b"\r\n"):
            if data == b"\r\n\r\n":
                self.write(b"\r\n")  # keep-alive ping in the RFC 5626 style
            return
        try:
            parsed = parse_message(data)
        except ParseError as exc:
            self._hub.bad(exc, data, self.peer)
            return
        self._hub.deliver(parsed, self.peer)

    # ---- Connection --------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.closing:
            self._hub.failed(self.peer, data, "connection closing")
            return
        self._queue.append(data)
        self._queued += len(data)
        self.last_active = self._loop.time()
        if self._queued + self._ws.transport.get_write_buffer_size() > self._hub.limits.max_buffer:
            self._hub.failed(self.peer, data, "write buffer full; connection dropped")
            self.abort()
            return
        if self._sender is None:
            self._sender = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        queue = self._queue
        try:
            while queue:
                data = queue[0]
                await self._ws.send(data, text=_is_text(data))
                queue.popleft()
                self._queued -= len(data)
        except ConnectionClosed:
            self._fail_queue("connection closed")
        except Exception:  # a bug; the connection cannot be trusted any more
            _log(logging.ERROR, "ws-send", "ws send to %s failed", self.peer, exc_info=True)
            self._fail_queue("internal error")
            self.abort()
        finally:
            self._sender = None

    def _fail_queue(self, reason: str) -> None:
        while self._queue:
            self._hub.failed(self.peer, self._queue.popleft(), reason)
        self._queued = 0

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self._hub.spawn(self._ws.close(1001))  # going away: idle, or shutting down

    def abort(self) -> None:
        self.closing = True
        self._queue.clear()
        self._queued = 0
        self._ws.transport.abort()

    def peer_certificate(self) -> dict[str, Any] | None:
        cert = self._ws.transport.get_extra_info("peercert")
        return cert or None


async def start_server(
    hub: Hub, name: str, sock: Any, ssl_context: ssl.SSLContext | None, backlog: int
) -> Server:
    """Serve WebSocket (``ws``) or secure WebSocket (``wss``) on an already bound socket."""
    limits = hub.limits

    def process_request(ws: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        if hub.connection_count() >= limits.max_connections:
            return ws.respond(503, "Too many connections\n")
        return None

    async def handler(ws: ServerConnection) -> None:
        conn = WsConnection(hub, name, ws)
        if not hub.register(conn):
            await ws.close(1013, "too many connections")
            return
        try:
            async for message in ws:
                conn.received(message)
        except ConnectionClosed:
            pass
        finally:
            conn.closing = True
            hub.unregister(conn)

    return await serve(
        handler,
        sock=sock,
        ssl=ssl_context,
        backlog=backlog,
        subprotocols=[SUBPROTOCOL],
        process_request=process_request,
        max_size=limits.max_message,
        max_queue=16,
        write_limit=min(65536, limits.max_buffer),
        compression=None,  # bounded memory per connection; SIP over WS rarely gains from it
        ping_interval=None,  # the layer's idle sweep replaces a timer per connection
        open_timeout=limits.connect_timeout,
        close_timeout=limits.connect_timeout,
        server_header="Trunkline",
        logger=logging.getLogger("trunkline.transport.ws"),
    )
