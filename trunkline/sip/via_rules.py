"""Where requests came from and where responses go: RFC 3261 §18.2.1/§18.2.2 with RFC 3581.

Pure functions over a Via and the :class:`Endpoint` a request arrived from. The core does no DNS,
so a response is only ever sent to an IP literal: when the Via names a host and carries no
``received``, the source address stands in for it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from trunkline.sip.address import Via
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request

DEFAULT_PORT = 5060
DEFAULT_TLS_PORT = 5061


@lru_cache(maxsize=4096)
def ip_literal(host: str) -> str | None:
    """``host`` (brackets allowed) as a normalized IP address, or None when it is a name."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _same_address(via_host: str, source_host: str) -> bool:
    if via_host == source_host:
        return True
    literal = ip_literal(via_host)
    return literal is not None and literal == ip_literal(source_host)


def stamp_via(request: Request, source: Endpoint) -> None:
    """Record where a request really came from in its top Via (§18.2.1, RFC 3581 §4).

    ``received`` is added when the sent-by host is a name or another address than the source;
    an empty ``rport`` is filled with the source port, and then ``received`` is always added.
    """
    if stamp(request.top_via, source):
        request.update_top_via()


def stamp(via: Via, source: Endpoint) -> bool:
    """The Via-level part of :func:`stamp_via`; True when ``via`` was changed."""
    if via.wants_rport and not via.params.get("rport"):
        via.set_param("received", source.host)
        via.set_param("rport", str(source.port))
    elif not _same_address(via.host_bare, source.host):
        via.set_param("received", source.host)
    else:
        return False
    return True


def default_port(via: Via) -> int:
    """The port a sent-by without one stands for (§18.2.2, §19.1.2)."""
    return DEFAULT_TLS_PORT if via.transport in ("TLS", "WSS") else DEFAULT_PORT


def response_destination(via: Via, source: Endpoint) -> Endpoint:
    """Where to send the responses to a request whose (stamped) top Via is ``via`` (§18.2.2).

    Reliable transports answer over the connection the request came on (``source`` with its
    ``conn``; the shell opens a new one to the same address if that connection is gone).
    Otherwise: an IP ``maddr`` with the sent-by port; else ``received`` (the sent-by host when it
    is an IP literal, the source address when it is a name) with the ``rport`` value when there
    is one and the sent-by port (default 5060, 5061 for TLS) when there is none.
    """
    if source.reliable:
        return source
    params = via.params
    port = via.port if via.port is not None else default_port(via)
    maddr = params.get("maddr")
    if maddr:
        literal = ip_literal(maddr)
        if literal is not None:  # a name would need DNS: answer as if there were no maddr
            return Endpoint(source.transport, literal, port)
    received = params.get("received")
    host = ip_literal(received) if received else ip_literal(via.host)
    if host is None:
        host = source.host
    rport = params.get("rport")
    if rport:
        port = int(rport)
    elif "rport" in params:  # asked for but not stamped: the source port is what it means
        port = source.port
    return Endpoint(source.transport, host, port)
