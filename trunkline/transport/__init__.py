"""Transports: UDP, TCP, TLS, WebSocket and secure WebSocket (RFC 3261 §18, RFC 7118).

Its one job: move SIP messages between sockets and the stack. No SIP logic beyond framing:
Via received/rport, response routing and the choice of transport are the core's; this package
delivers to the Endpoint it is given, reusing connections (RFC 5923 aliases), answering CRLF
keep-alives (RFC 5626) and enforcing limits on sizes, buffers, connection counts and idleness.
"""

from trunkline.transport.base import TransportLimits, TransportUser
from trunkline.transport.layer import TRANSPORTS, TransportLayer
from trunkline.transport.tls import TlsSettings

__all__ = ["TRANSPORTS", "TlsSettings", "TransportLayer", "TransportLimits", "TransportUser"]
