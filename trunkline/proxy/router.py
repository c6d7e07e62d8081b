"""Where an initial request goes: the configured routes, matched in order (first wins)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from trunkline.config.schema import Route as RouteConfig
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request
from trunkline.sip.uri import SipURI, parse_uri

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Target:
    """A next hop: the URI as configured and the transport address it resolves to."""

    uri: SipURI
    endpoint: Endpoint
    explicit_transport: bool  # the URI named a transport: never switch it (RFC 3261 §18.1.1)


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    name: str
    methods: frozenset[str] | None
    user: re.Pattern[str] | None
    domain: str | None
    sources: tuple[IPNetwork, ...] | None
    targets: tuple[Target, ...]
    parallel: bool

    def matches(self, request: Request, source: Endpoint) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return False
        uri = request.uri
        if self.user is not None or self.domain is not None:
            if not isinstance(uri, SipURI):
                return False
            if self.user is not None and not self.user.fullmatch(uri.user_unescaped or ""):
                return False
            if self.domain is not None and uri.host_bare.lower() != self.domain:
                return False
        if self.sources is not None:
            addr = ipaddress.ip_address(source.host)
            if not any(addr in net for net in self.sources):
                return False
        return True


def target_of(uri_text: str) -> Target:
    """Resolve a configured or routed SIP URI whose host is an IP literal (no DNS here)."""
    uri = parse_uri(uri_text)
    assert isinstance(uri, SipURI)
    return target_from_uri(uri)


def target_from_uri(uri: SipURI) -> Target:
    """Transport address of a SIP URI (maddr wins; sips means TLS; RFC 3263 minus DNS)."""
    transport = uri.transport
    explicit = transport is not None
    if transport is None:
        transport = "tls" if uri.secure else "udp"
    elif uri.secure and transport == "tcp":
        transport = "tls"
    host = uri.maddr or uri.host_bare
    if host.startswith("["):
        host = host[1:-1]
    default = 5061 if transport == "tls" else 443 if transport == "wss" else 5060
    port = uri.port if uri.port is not None else default
    return Target(uri, Endpoint(transport, host, port), explicit)


class Router:
    def __init__(self, routes: list[RouteConfig]) -> None:
        self.routes = [_compile(r) for r in routes]
        self.target_hosts = frozenset(t.endpoint.host for r in self.routes for t in r.targets)

    def route(self, request: Request, source: Endpoint) -> CompiledRoute | None:
        for route in self.routes:
            if route.matches(request, source):
                return route
        return None


def _compile(cfg: RouteConfig) -> CompiledRoute:
    m = cfg.match
    return CompiledRoute(
        name=cfg.name,
        methods=frozenset(m.methods) if m.methods else None,
        user=re.compile(m.user) if m.user is not None else None,
        domain=m.domain.lower() if m.domain else None,
        sources=tuple(ipaddress.ip_network(n, strict=False) for n in m.source)
        if m.source
        else None,
        targets=tuple(target_of(t) for t in cfg.targets),
        parallel=cfg.fork == "parallel",
    )
