"""UDP: one socket per listener, one datagram = one message (RFC 3261 §18.1.1, §18.2.1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.parser import parse_message
from trunkline.transport.base import Hub, RateLimitedLog

_log = RateLimitedLog()
_KEEPALIVE_START = (b"\r", b"\n", b"")


class UdpSocket(asyncio.DatagramProtocol):
    """A listening UDP socket. Received messages carry ``source.conn = self.id`` so an answer
    can leave from the socket the request arrived on (RFC 3581 §4, multi-homed hosts)."""

    def __init__(self, hub: Hub, sock_id: int, local: Endpoint) -> None:
        self._hub = hub
        self.id = sock_id
        self.local = local
        self.ipv6 = ":" in local.host
        self._transport: asyncio.DatagramTransport | None = None
        self._buffered: Callable[[], int] = lambda: 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop: not a subclass
        # Both asyncio's and uvloop's UDP transports have it; typeshed does not declare it.
        self._buffered = getattr(transport, "get_write_buffer_size", self._buffered)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        source = Endpoint("udp", addr[0], addr[1], self.id)
        if len(data) > self._hub.limits.max_datagram:
            _log(logging.INFO, "udp-big", "dropped %d-byte datagram from %s", len(data), source)
            return
        if data[:1] in _KEEPALIVE_START and not data.strip(b"\r\n"):
            return  # CRLF keep-alive or empty datagram (RFC 5626 §4.4.1 uses STUN on UDP)
        try:
            message = parse_message(data)
        except ParseError as exc:
            self._hub.bad(exc, data, source)
            return
        self._hub.deliver(message, source)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors from earlier sendto() calls; which destination is not known here.
        _log(logging.DEBUG, "udp-icmp", "udp %s: %s", self.local, exc)

    def sendto(self, data: bytes, destination: Endpoint) -> str | None:
        """Send; returns a failure reason or None."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return "udp socket closed"
        if self._buffered() > self._hub.limits.max_buffer:
            return "udp send buffer full"
        try:
            transport.sendto(data, (destination.host, destination.port))
        except (OSError, ValueError, TypeError) as exc:
            return f"udp sendto failed: {exc}"
        return None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
