"""What is "us": our listening addresses and domains, our own Route entries (RFC 3261 §16.4),
and which local socket and transport a next hop is reached with (§18.1.1)."""

from __future__ import annotations

from trunkline.config.schema import Config
from trunkline.proxy.router import Target
from trunkline.sip.address import NameAddr, Via
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request
from trunkline.sip.uri import URI, SipURI, host_key
from trunkline.stack import SipStack


class Locality:
    def __init__(self, config: Config, stack: SipStack) -> None:
        self.config = config
        self.stack = stack
        self.domains = frozenset(d.lower() for d in config.proxy.domains)
        self._addresses: frozenset[tuple[str, int]] | None = None
        self._hosts: frozenset[str] | None = None

    def _listeners(self) -> tuple[frozenset[tuple[str, int]], frozenset[str]]:
        if self._addresses is None or self._hosts is None:
            bound = self.stack.transport.listeners()
            self._addresses = frozenset((host_key(e.host), e.port) for e in bound)
            self._hosts = frozenset(host_key(e.host) for e in bound)
        return self._addresses, self._hosts

    def is_local_hostport(self, host: str, port: int | None, secure: bool = False) -> bool:
        addresses, hosts = self._listeners()
        key = host_key(host)
        if key in self.domains:
            return True
        if port is None:
            return key in hosts and (
                (key, 5061 if secure else 5060) in addresses or any(h == key for h, _p in addresses)
            )
        return (key, port) in addresses

    def is_local_uri(self, uri: URI) -> bool:
        return isinstance(uri, SipURI) and self.is_local_hostport(uri.host, uri.port, uri.secure)

    def is_local_domain(self, uri: URI) -> bool:
        if not isinstance(uri, SipURI):
            return False
        _addresses, hosts = self._listeners()
        key = host_key(uri.host)
        return key in self.domains or key in hosts

    def is_local_sent_by(self, via: Via) -> bool:
        return self.is_local_hostport(via.host, via.port)

    def preprocess_route(self, request: Request) -> NameAddr | None:
        """§16.4: undo a strict router's rewrite, drop our own Route entries, and return the
        Route that now leads (None when there is none left)."""
        if not request.has_header("route"):
            return None
        routes = request.routes
        uri = request.uri
        if self.is_local_uri(uri) and isinstance(uri, SipURI) and not uri.user and routes:
            last = routes[-1]  # the previous hop was a strict router (§16.4)
            request.uri = last.uri
            request.remove_header("route")
            for route in routes[:-1]:
                request.add_header("Route", str(route))
            routes = routes[:-1]
        while routes and self.is_local_uri(routes[0].uri):
            request.pop_first_value("route")
            routes = routes[1:]
        return routes[0] if routes else None

    def local_for(self, destination: Endpoint) -> Endpoint | None:
        """Our listening socket that reaches ``destination`` (same transport and IP family)."""
        return self.stack.transport.local_endpoint(destination.transport, destination.host)

    def choose_transport(self, target: Target, request: Request) -> Endpoint:
        """§18.1.1: a request within 200 bytes of the path MTU goes over TCP, unless the URI
        named UDP explicitly or there is no TCP socket to send it from."""
        endpoint = target.endpoint
        if endpoint.transport != "udp" or target.explicit_transport:
            return endpoint
        if len(bytes(request)) + 200 <= self.config.limits.udp_mtu - 200:
            return endpoint
        tcp = endpoint._replace(transport="tcp")
        return tcp if self.local_for(tcp) is not None else endpoint
