"""The transport layer: listeners, connection tables, routing of sends, one idle-sweep timer.

It owns every socket and knows nothing of SIP beyond framing. What arrives is handed to the
:class:`~trunkline.transport.base.TransportUser`; what the user sends goes out on the right
socket: for UDP the listening socket the request came in on (or the best one of the same IP
family), for connection-oriented transports the named connection, else any live connection to
that peer or an RFC 5923 alias, else (TCP/TLS) a new outbound connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server as WsServer

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response
from trunkline.transport import ws
from trunkline.transport.base import (
    Connection,
    PeerKey,
    RateLimitedLog,
    TransportLimits,
    TransportUser,
    logger,
)
from trunkline.transport.stream import StreamConnection
from trunkline.transport.tls import TlsSettings
from trunkline.transport.udp import UdpSocket

TRANSPORTS = frozenset({"udp", "tcp", "tls", "ws", "wss"})
_CONNECTABLE = frozenset({"tcp", "tls"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_BACKLOG = 511
_CLOSE_GRACE = 1.0  # seconds close() waits for connections to finish before aborting them

_log = RateLimitedLog()


@dataclass(slots=True)
class _Pending:
    """An outbound connection being opened, and what waits to go out on it."""

    queue: list[tuple[bytes, Endpoint]] = field(default_factory=list)
    size: int = 0
    task: asyncio.Task[Any] | None = None


class TransportLayer:
    """Moves SIP messages between sockets and a :class:`TransportUser`.

    Sources: a message on a connection has ``source = Endpoint(transport, peer_ip, peer_port,
    conn)``; a UDP datagram has ``conn`` = the id of the UDP socket it arrived on, and a UDP
    send whose ``destination.conn`` names a UDP socket of the right family leaves from it (the
    same address and port the request came to, RFC 3581 §4); with ``conn=0`` the socket whose
    bound address best suits the destination is used. Ids come from one counter starting at 1.

    Sends: ``destination.conn`` is used when it names a live connection of the same transport;
    else a live connection to (transport, host, port), the peer's own address or an RFC 5923
    alias; else TCP/TLS connect (data queued meanwhile, up to ``max_buffer``). There is no
    outbound WebSocket: a send to a WS peer without a connection fails. Failures reach
    ``user.send_failed`` from the event loop, never from inside :meth:`send`.

    ``client_tls`` sets certificates and verification for outbound TLS; without it the settings
    of the first TLS/WSS listener are used, or else default verification against the system
    trust store.
    """

    def __init__(
        self,
        user: TransportUser,
        limits: TransportLimits = TransportLimits(),  # noqa: B008 - frozen, shared safely
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        client_tls: TlsSettings | None = None,
    ) -> None:
        self._user = user
        self._limits = limits
        self._loop = loop
        self._client_tls = client_tls
        self._client_ctx: ssl.SSLContext | None = None
        self._next_id = 1
        self._listeners: list[Endpoint] = []
        self._udp: dict[int, UdpSocket] = {}
        self._udp_choice: dict[tuple[bool, bool], UdpSocket | None] = {}
        self._servers: list[asyncio.Server | WsServer] = []
        self._conns: dict[int, Connection] = {}
        self._routes: dict[PeerKey, int] = {}
        self._pending: dict[PeerKey, _Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._all_gone: asyncio.Event | None = None
        self._closed = False

    # ---- public API ----------------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    @property
    def limits(self) -> TransportLimits:
        return self._limits

    async def listen(
        self, transport: str, host: str, port: int, *, tls: TlsSettings | None = None
    ) -> Endpoint:
        """Listen on ``host``/``port`` (0: ephemeral); returns the bound local Endpoint."""
        if self._closed:
            raise RuntimeError("transport layer closed")
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}")
        context = None
        if transport in ("tls", "wss"):
            if tls is None:
                raise ValueError(f"{transport} listener needs TlsSettings")
            context = tls.server_context()
            if self._client_tls is None:  # outbound TLS presents and trusts what we listen with
                self._client_tls = tls
                self._client_ctx = None
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        sock = await _bind(self.loop, host, port, kind)
        local = Endpoint(transport, *sock.getsockname()[:2])
        try:
            await self._serve(transport, sock, local, context)
        except BaseException:
            sock.close()
            raise
        self._listeners.append(local)
        logger.info("listening on %s", local)
        return local

    def send(self, data: bytes, destination: Endpoint) -> None:
        """Send one serialized message; failures are reported through ``user.send_failed``."""
        transport = destination.transport
        if transport == "udp":
            reason = self._send_udp(data, destination)
            if reason is not None:
                self.failed(destination, data, reason)
            return
        conn = self._find(destination)
        if conn is not None:
            conn.write(data)
        elif transport in _CONNECTABLE:
            self._connect(data, destination)
        elif transport in TRANSPORTS:  # ws, wss: clients connect to us, we never dial out
            self.failed(destination, data, "no WebSocket connection to this peer")
        else:
            self.failed(destination, data, f"unknown transport {transport!r}")

    def add_alias(self, destination: Endpoint, conn: int) -> None:
        """RFC 5923: later sends to ``destination`` (transport, host, port) may use ``conn``."""
        connection = self._conns.get(conn)
        if connection is None or connection.closing or connection.name != destination.transport:
            return
        self._route(connection, (destination.transport, destination.host, destination.port))

    def local_endpoint(self, transport: str, family_of: str | None = None) -> Endpoint | None:
        """A listening Endpoint of ``transport`` (of the IP family of host ``family_of`` if
        given), preferring a specific address over a wildcard one."""
        want_v6 = None if family_of is None else ":" in family_of
        fallback = None
        for local in self._listeners:
            if local.transport != transport:
                continue
            if want_v6 is not None and (":" in local.host) != want_v6:
                continue
            if local.host not in _WILDCARDS:
                return local
            fallback = fallback or local
        return fallback

    def listeners(self) -> list[Endpoint]:
        return list(self._listeners)

    def connection_count(self) -> int:
        return len(self._conns)

    def peer_certificate(self, conn: int) -> dict[str, Any] | None:
        """The peer's certificate on a TLS/WSS connection (``getpeercert()`` form, with
        ``subject`` and ``subjectAltName``), or None when there is none or it was not checked."""
        connection = self._conns.get(conn)
        return None if connection is None else connection.peer_certificate()

    async def close(self) -> None:
        """Stop listening and close every connection; callbacks stop with it."""
        if self._closed:
            return
        self._closed = True
        if self._sweep_handle is not None:
            self._sweep_handle.cancel()
            self._sweep_handle = None
        for pending in self._pending.values():
            if pending.task is not None:
                pending.task.cancel()
        for udp in self._udp.values():
            udp.close()
        for server in self._servers:
            server.close()
        for conn in list(self._conns.values()):
            conn.close()
        await self._wait_connections_gone()
        for server in self._servers:
            await server.wait_closed()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- Hub: called by the transport modules --------------------------------------------
    def register(self, conn: Connection) -> bool:
        if self._closed:
            return False
        if len(self._conns) >= self._limits.max_connections:
            _log(logging.WARNING, "max-conn", "refused %s: too many connections", conn.peer)
            return False
        conn.conn = self._new_id()
        conn.peer = conn.peer._replace(conn=conn.conn)
        self._conns[conn.conn] = conn
        self._route(conn, (conn.name, conn.peer.host, conn.peer.port))
        if isinstance(conn, StreamConnection) and conn.outbound is not None:
            self._route(conn, conn.outbound)
            pending = self._pending.pop(conn.outbound, None)
            if pending is not None:  # flush now, before anything received here can overtake it
                for data, _destination in pending.queue:
                    conn.write(data)
                pending.queue.clear()
        self._arm_sweep(self._limits.idle_timeout)
        return True

    def unregister(self, conn: Connection) -> None:
        if self._conns.get(conn.conn) is not conn:
            return
        del self._conns[conn.conn]
        for key in conn.routes:
            if self._routes.get(key) == conn.conn:
                del self._routes[key]
        if not self._conns and self._all_gone is not None:
            self._all_gone.set()

    def deliver(self, message: Request | Response, source: Endpoint) -> None:
        try:
            self._user.message_received(message, source)
        except Exception:
            _log(logging.ERROR, "user-received", "message_received failed", exc_info=True)

    def bad(self, error: ParseError, data: bytes, source: Endpoint) -> None:
        _log(logging.DEBUG, "bad-message", "bad message from %s: %r", source, error)
        try:
            self._user.bad_message(error, data, source)
        except Exception:
            _log(logging.ERROR, "user-bad", "bad_message failed", exc_info=True)

    def failed(self, destination: Endpoint, data: bytes, reason: str) -> None:
        """Report a failed send later, from the loop: never re-enter the caller of send()."""
        if not self._closed:
            self.loop.call_soon(self._report_failure, destination, data, reason)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task that close() waits for."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    # ---- internals ---------------------------------------------------------------------
    async def _serve(
        self, transport: str, sock: socket.socket, local: Endpoint, context: ssl.SSLContext | None
    ) -> None:
        loop = self.loop
        if transport == "udp":
            udp = UdpSocket(self, self._new_id(), local)
            await loop.create_datagram_endpoint(lambda: udp, sock=sock)
            self._udp[udp.id] = udp
            self._udp_choice.clear()
        elif transport in _CONNECTABLE:
            server = await loop.create_server(
                lambda: StreamConnection(self, transport),
                sock=sock,
                ssl=context,
                backlog=_BACKLOG,
                ssl_handshake_timeout=self._limits.connect_timeout if context else None,
            )
            self._servers.append(server)
        else:
            self._servers.append(await ws.start_server(self, transport, sock, context, _BACKLOG))

    def _new_id(self) -> int:
        new_id = self._next_id
        self._next_id += 1
        return new_id

    def _route(self, conn: Connection, key: PeerKey) -> None:
        self._routes[key] = conn.conn
        conn.routes.append(key)

    def _find(self, destination: Endpoint) -> Connection | None:
        conns = self._conns
        if destination.conn:
            conn = conns.get(destination.conn)
            if conn is not None and not conn.closing and conn.name == destination.transport:
                return conn
        conn_id = self._routes.get((destination.transport, destination.host, destination.port))
        if conn_id:
            conn = conns.get(conn_id)
            if conn is not None and not conn.closing:
                return conn
        return None

    def _send_udp(self, data: bytes, destination: Endpoint) -> str | None:
        if len(data) > self._limits.max_datagram:
            return "message larger than max_datagram"
        v6 = ":" in destination.host
        udp = self._udp.get(destination.conn) if destination.conn else None
        if udp is None or udp.ipv6 != v6:
            udp = self._pick_udp(destination.host, v6)
            if udp is None:
                return f"no UDP listener for IPv{6 if v6 else 4}"
        return udp.sendto(data, destination)

    def _pick_udp(self, host: str, v6: bool) -> UdpSocket | None:
        """The UDP socket of the family of ``host`` whose bound address suits it best."""
        loopback = host == "::1" if v6 else host.startswith("127.")
        key = (v6, loopback)
        if key in self._udp_choice:
            return self._udp_choice[key]
        candidates = [udp for udp in self._udp.values() if udp.ipv6 == v6]
        best = max(candidates, key=lambda u: _suitability(u.local.host, loopback), default=None)
        self._udp_choice[key] = best
        return best

    def _connect(self, data: bytes, destination: Endpoint) -> None:
        key = (destination.transport, destination.host, destination.port)
        pending = self._pending.get(key)
        if pending is None:
            if self._closed:
                return
            if len(self._conns) + len(self._pending) >= self._limits.max_connections:
                self.failed(destination, data, "too many connections")
                return
            try:
                context = self._client_context() if destination.transport == "tls" else None
            except (OSError, ValueError) as exc:
                self.failed(destination, data, f"TLS client setup failed: {exc}")
                return
            pending = self._pending[key] = _Pending()
            pending.task = self.spawn(self._open(key, pending, context))
        if pending.size + len(data) > self._limits.max_buffer:
            self.failed(destination, data, "too much data waiting for the connection")
            return
        pending.queue.append((data, destination))
        pending.size += len(data)

    async def _open(self, key: PeerKey, pending: _Pending, context: ssl.SSLContext | None) -> None:
        """Open an outbound TCP/TLS connection; on success ``register`` flushes the queue."""
        name, host, port = key
        conn = StreamConnection(self, name, outbound=key)
        server_name = None
        if context is not None:  # the name the certificate must match: configured, else the IP
            configured = self._client_tls.server_name if self._client_tls else None
            server_name = configured or host
        try:
            await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: conn,
                    host,
                    port,
                    ssl=context,
                    server_hostname=server_name,
                    local_addr=self._source_address(name, host),
                ),
                self._limits.connect_timeout,
            )
            reason = "connection lost during setup"
        except asyncio.CancelledError:
            self._fail_pending(key, pending, "transport layer closed")
            raise
        except TimeoutError:
            reason = "connect timed out"
        except ssl.SSLCertVerificationError as exc:
            reason = f"TLS certificate verification failed: {exc.verify_message}"
        except ssl.SSLError as exc:
            reason = f"TLS handshake failed: {exc.reason or exc}"
        except OSError as exc:
            reason = f"connect failed: {exc.strerror or exc}"
        except Exception as exc:
            _log(logging.ERROR, "connect", "connect to %s:%s failed", host, port, exc_info=True)
            reason = f"connect failed: {exc!r}"
        self._fail_pending(key, pending, reason)

    def _fail_pending(self, key: PeerKey, pending: _Pending, reason: str) -> None:
        if self._pending.get(key) is pending:
            del self._pending[key]
        for data, destination in pending.queue:
            self.failed(destination, data, reason)
        pending.queue.clear()

    def _client_context(self) -> ssl.SSLContext:
        if self._client_ctx is None:
            self._client_ctx = (self._client_tls or TlsSettings()).client_context()
        return self._client_ctx

    def _source_address(self, transport: str, host: str) -> tuple[str, int] | None:
        """Bind outbound connections to the listener's address on multi-homed hosts."""
        local = self.local_endpoint(transport, host)
        if local is None or local.host in _WILDCARDS:
            return None
        return (local.host, 0)

    def _report_failure(self, destination: Endpoint, data: bytes, reason: str) -> None:
        if self._closed:
            return
        logger.debug("send to %s failed: %s", destination, reason)
        try:
            self._user.send_failed(destination, data, reason)
        except Exception:
            _log(logging.ERROR, "user-failed", "send_failed failed", exc_info=True)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            _log(logging.DEBUG, "task", "transport task ended: %r", exc)

    # ---- idle sweep: one timer for every connection --------------------------------------
    def _arm_sweep(self, delay: float) -> None:
        if self._sweep_handle is None and self._conns and not self._closed:
            granularity = min(1.0, self._limits.idle_timeout / 4)
            self._sweep_handle = self.loop.call_later(max(delay, granularity), self._sweep)

    def _sweep(self) -> None:
        """Close connections idle for ``idle_timeout``; abort those that fail to close within
        a grace period after it. Re-arms itself for the next deadline."""
        self._sweep_handle = None
        idle = self._limits.idle_timeout
        grace = max(self._limits.connect_timeout, 1.0)
        now = self.loop.time()
        next_deadline = now + idle
        for conn in list(self._conns.values()):
            deadline = conn.last_active + idle + (grace if conn.closing else 0.0)
            if now < deadline:
                next_deadline = min(next_deadline, deadline)
            elif conn.closing:
                conn.abort()
            else:
                logger.debug("closing idle connection %r", conn)
                conn.close()
                next_deadline = min(next_deadline, deadline + grace)
        self._arm_sweep(next_deadline - now)

    async def _wait_connections_gone(self) -> None:
        if not self._conns:
            return
        self._all_gone = asyncio.Event()
        try:
            await asyncio.wait_for(self._all_gone.wait(), _CLOSE_GRACE)
        except TimeoutError:
            for conn in list(self._conns.values()):
                conn.abort()


def _suitability(bound: str, loopback_destination: bool) -> int:
    """How well a socket bound to ``bound`` can reach a (loopback or not) destination."""
    if bound in _WILDCARDS:
        return 2
    bound_loopback = bound == "::1" or bound.startswith("127.")
    return 3 if bound_loopback == loopback_destination else (1 if loopback_destination else 0)


UDP_RCVBUF = 8 * 1024 * 1024


async def _bind(
    loop: asyncio.AbstractEventLoop, host: str, port: int, kind: socket.SocketKind
) -> socket.socket:
    """A bound, non-blocking socket (SO_REUSEADDR on streams, IPv6 sockets IPv6-only)."""
    infos = await loop.getaddrinfo(host or None, port, type=kind, flags=socket.AI_PASSIVE)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    family, sock_type, proto, _name, address = infos[0]
    sock = socket.socket(family, sock_type, proto)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        else:
            # A SIP server's UDP socket takes bursts (and our pauses): the kernel default
            # (~208 KiB) holds well under 100 ms at a few hundred calls/s. The kernel caps
            # the request at net.core.rmem_max; asking costs nothing.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
