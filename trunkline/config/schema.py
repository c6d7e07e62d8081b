"""The configuration schema (pydantic): immutable, validated once at load (DESIGN.md rule 4)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from trunkline.sip.errors import ParseError
from trunkline.sip.uri import SipURI, parse_uri

Transport = Literal["udp", "tcp", "tls", "ws", "wss"]
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 80, "wss": 443}


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listen(Frozen):
    """A socket to listen on. Also written ``"udp:127.0.0.1:5060"`` or ``"tls:[::1]:5061"``."""

    transport: Transport
    host: str
    port: Annotated[int, Field(ge=0, le=65535)]

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        m = re.fullmatch(r"(\w+):(\[[^\]]+\]|[^:]+)(?::(\d+))?", value.strip())
        if m is None:
            raise ValueError("expected transport:host[:port], e.g. udp:127.0.0.1:5060")
        transport, host, port = m.group(1).lower(), m.group(2).strip("[]"), m.group(3)
        return {
            "transport": transport,
            "host": host,
            "port": int(port) if port else DEFAULT_PORTS.get(transport, 5060),
        }

    @field_validator("host")
    @classmethod
    def _ip_literal(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            raise ValueError(f"listen host must be an IP address, not {value!r}") from None


class Tls(Frozen):
    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    verify_peer: bool = True
    require_client_cert: bool = False


class Timers(Frozen):
    """RFC 3261 timer bases (seconds) and the proxy's Timer C (§16.6 step 11)."""

    t1: Annotated[float, Field(gt=0, le=10)] = 0.5
    t2: Annotated[float, Field(gt=0, le=60)] = 4.0
    t4: Annotated[float, Field(gt=0, le=60)] = 5.0
    timer_c: Annotated[float, Field(ge=180, le=3600)] = 180.0


class Limits(Frozen):
    max_header: Annotated[int, Field(ge=1024, le=1 << 20)] = 16384
    max_body: Annotated[int, Field(ge=0, le=16 << 20)] = 1 << 20
    max_connections: Annotated[int, Field(ge=1)] = 4096
    idle_timeout: Annotated[float, Field(gt=0)] = 3600.0
    udp_mtu: Annotated[int, Field(ge=576, le=65535)] = 1500


def _check_network(value: str) -> str:
    ipaddress.ip_network(value, strict=False)  # its ValueError says what is wrong
    return value


# Validated item by item, so an error names the item (and the config loader its line).
Network = Annotated[str, AfterValidator(_check_network)]


def _check_sip_uri(value: str) -> str:
    try:
        uri = parse_uri(value)
    except ParseError as exc:
        raise ValueError(f"not a valid SIP URI: {exc.detail}") from None
    if not isinstance(uri, SipURI):
        raise ValueError("a route target must be a sip: or sips: URI")
    try:
        ipaddress.ip_address(uri.host_bare)
    except ValueError:
        raise ValueError("route target host must be an IP address (no DNS yet)") from None
    return value


class RouteMatch(Frozen):
    """What an initial request must look like for a route to apply (all given fields must match)."""

    methods: list[str] | None = None
    user: str | None = None  # regular expression on the Request-URI user part (full match)
    domain: str | None = None  # Request-URI host, case-insensitive
    source: list[Network] | None = None  # networks the request must come from

    @field_validator("user")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regular expression: {exc}") from None
        return value


class Route(Frozen):
    name: str = ""
    match: RouteMatch = RouteMatch()
    targets: Annotated[list[Annotated[str, AfterValidator(_check_sip_uri)]], Field(min_length=1)]
    fork: Literal["serial", "parallel"] = "serial"


class Proxy(Frozen):
    record_route: bool = True
    domains: list[str] = []  # names we answer for besides our listen addresses
    routes: list[Route] = []
    # In-dialog requests and responses may only go to these networks or configured targets:
    # without this a proxy is an open relay for any address a message names.
    trusted_networks: list[Network] = ["127.0.0.0/8", "::1/128"]


class Log(Frozen):
    level: Literal["debug", "info", "warning", "error"] = "info"
    bad_message_interval: Annotated[float, Field(ge=0)] = 10.0  # log at most one per interval


def _default_listen() -> list[Listen]:
    return [
        Listen(transport="udp", host="127.0.0.1", port=5060),
        Listen(transport="tcp", host="127.0.0.1", port=5060),
    ]


class Config(Frozen):
    listen: Annotated[list[Listen], Field(min_length=1)] = Field(default_factory=_default_listen)
    tls: Tls = Tls()
    timers: Timers = Timers()
    limits: Limits = Limits()
    proxy: Proxy = Proxy()
    log: Log = Log()
    user_agent: str = "Trunkline"

    @model_validator(mode="after")
    def _tls_needs_certificates(self) -> Config:
        if self.tls.certfile and self.tls.keyfile:
            return self
        error = PydanticCustomError(
            "tls_certificates", "tls/wss listeners need tls.certfile and tls.keyfile"
        )
        # Located at each such listener (not the top level), so the loader can name its line.
        errors = [
            InitErrorDetails(type=error, loc=("listen", i), input=listen)
            for i, listen in enumerate(self.listen)
            if listen.transport in ("tls", "wss")
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self
