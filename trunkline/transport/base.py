"""What every transport shares: the user callbacks, the limits, a connection's common state.

A transport module (udp, stream, ws) never talks to the stack directly: it reports through the
:class:`Hub` (the :class:`~trunkline.transport.layer.TransportLayer`), which owns the tables of
connections and routes, the idle sweep and the user callbacks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response

logger = logging.getLogger("trunkline.transport")

PeerKey = tuple[str, str, int]  # (transport, host, port): what a connection can be reused for


class TransportUser(Protocol):
    """The layer above (the stack glue). Callbacks run on the event loop and must not block."""

    def message_received(self, message: Request | Response, source: Endpoint) -> None:
        """A parsed message; ``source.conn`` names the connection (or UDP socket) it came on."""

    def bad_message(self, error: ParseError, data: bytes, source: Endpoint) -> None:
        """Bytes that did not parse; answer with ``trunkline.sip.error_answer.error_response``."""

    def send_failed(self, destination: Endpoint, data: bytes, reason: str) -> None:
        """``data`` sent to ``destination`` could not be delivered (always called later, from the
        event loop, never from inside :meth:`TransportLayer.send`)."""


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """Bounds that keep a hostile or broken peer from costing unbounded memory or sockets."""

    max_datagram: int = 65535  # larger datagrams are dropped, larger sends fail
    max_header: int = 16 * 1024  # stream/WS header section (StreamParser)
    max_body: int = 1024 * 1024  # stream/WS body (StreamParser)
    max_connections: int = 4096  # TCP + TLS + WS + WSS, inbound and outbound
    max_buffer: int = 1024 * 1024  # per-connection write buffer; over it the connection drops
    idle_timeout: float = 3600.0  # seconds without traffic before a connection is closed
    connect_timeout: float = 5.0  # TCP connect + TLS handshake, WS opening handshake

    @property
    def max_message(self) -> int:
        return self.max_header + self.max_body


class Connection:
    """State every connection keeps, whatever carries it (TCP, TLS, WebSocket)."""

    __slots__ = ("closing", "conn", "last_active", "name", "peer", "routes")

    def __init__(self, name: str) -> None:
        self.name = name  # transport name: tcp, tls, ws, wss
        self.conn = 0  # id given by the hub on registration; 0 = not registered
        self.peer = Endpoint(name, "", 0)  # the source Endpoint of what arrives here
        self.last_active = 0.0
        self.closing = False
        self.routes: list[PeerKey] = []  # keys that route to this connection (peer, aliases)

    def write(self, data: bytes) -> None:
        """Queue ``data``; over the buffer limit the connection is dropped and the hub told."""
        raise NotImplementedError

    def close(self) -> None:
        """Close gracefully (flush what is buffered)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Close at once, dropping what is buffered."""
        raise NotImplementedError

    def peer_certificate(self) -> dict[str, Any] | None:
        """The verified peer certificate (``ssl.SSLSocket.getpeercert()`` form), if any."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.conn} {self.peer}>"


class Hub(Protocol):
    """What a transport module needs from the layer."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def limits(self) -> TransportLimits: ...

    def register(self, conn: Connection) -> bool: ...
    def unregister(self, conn: Connection) -> None: ...
    def deliver(self, message: Request | Response, source: Endpoint) -> None: ...
    def bad(self, error: ParseError, data: bytes, source: Endpoint) -> None: ...
    def failed(self, destination: Endpoint, data: bytes, reason: str) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
    def connection_count(self) -> int: ...


class RateLimitedLog:
    """Logs at most one record per ``key`` every ``interval`` seconds, counting the rest.

    A misbehaving peer or a bug hit by every message must not flood the log.
    """

    __slots__ = ("_interval", "_last", "_logger", "_suppressed")

    def __init__(self, log: logging.Logger = logger, interval: float = 10.0) -> None:
        self._logger = log
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __call__(
        self, level: int, key: str, msg: str, *args: object, exc_info: bool = False
    ) -> None:
        if not self._logger.isEnabledFor(level):
            return
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += f" ({skipped} similar suppressed)"
        self._logger.log(level, msg, *args, exc_info=exc_info)
