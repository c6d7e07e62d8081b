"""Where a message came from or goes to, as the sans-IO core sees it (no sockets here)."""

from __future__ import annotations

from typing import NamedTuple

RELIABLE = frozenset({"tcp", "tls", "ws", "wss"})
SECURE = frozenset({"tls", "wss"})
VIA_TRANSPORT = {"udp": "UDP", "tcp": "TCP", "tls": "TLS", "ws": "WS", "wss": "WSS"}


class Endpoint(NamedTuple):
    """A transport address: ``transport`` is lower-case (udp, tcp, tls, ws, wss), ``host`` an IP
    literal without brackets. ``conn`` names the connection a message arrived on (connection-
    oriented transports), so answers can go back over it; 0 means "any / open one"."""

    transport: str
    host: str
    port: int
    conn: int = 0

    @property
    def reliable(self) -> bool:
        return self.transport in RELIABLE

    @property
    def secure(self) -> bool:
        return self.transport in SECURE

    @property
    def via_transport(self) -> str:
        return VIA_TRANSPORT.get(self.transport, self.transport.upper())

    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def without_conn(self) -> Endpoint:
        return self._replace(conn=0)

    def __str__(self) -> str:
        return f"{self.transport}:{self.hostport()}"
