"""Structured header values: name-addr (From, To, Contact, Route...), Via and CSeq (RFC 3261 §25.1).

Each value object keeps the text it was parsed from and writes it back unchanged until it is
modified through its API, so forwarding never rewrites what it did not touch.
"""

from __future__ import annotations

import ipaddress
import re

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import (
    format_params,
    parse_params,
    parse_quoted,
    quote,
    unquote,
)
from trunkline.sip.uri import (
    URI,
    SipURI,
    fast_sip_ok,
    format_host,
    parse_host,
    parse_uri,
    split_hostport,
)

_DISPLAY_TOKENS_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~ \t]*\Z")


class NameAddr:
    """``[display-name] <URI> *(;param)`` or ``addr-spec *(;param)``; ``*`` for Contact: *."""

    __slots__ = ("_raw", "_uri", "_uri_text", "display", "params")

    def __init__(
        self,
        uri: URI | str | None,
        display: str | None = None,
        params: dict[str, str | None] | None = None,
        *,
        _raw: str | None = None,
    ) -> None:
        self._uri: URI | None = uri if isinstance(uri, URI) else None
        self._uri_text = uri if isinstance(uri, str) else (None if uri is None else str(uri))
        self.display = display  # unquoted text, or None
        self.params: dict[str, str | None] = params if params is not None else {}
        self._raw = _raw

    @property
    def is_wildcard(self) -> bool:
        return self._uri_text == "*"

    @property
    def uri(self) -> URI:
        """The URI, parsed on first access."""
        if self._uri is None:
            if self._uri_text is None or self._uri_text == "*":
                raise ParseError("no URI in a wildcard")
            self._uri = parse_uri(self._uri_text)
        return self._uri

    @uri.setter
    def uri(self, value: URI) -> None:
        self._uri = value
        self._uri_text = str(value)
        self._raw = None

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @tag.setter
    def tag(self, value: str | None) -> None:
        self.set_param("tag", value)

    def set_param(self, name: str, value: str | None, *, remove: bool = False) -> None:
        """Set (or with ``remove``/a None tag, drop) a header parameter."""
        if remove or (name == "tag" and value is None):
            self.params.pop(name, None)
        else:
            self.params[name] = value
        self._raw = None

    def __str__(self) -> str:
        if self._raw is None:
            self._raw = self._build()
        return self._raw

    def __repr__(self) -> str:
        return f"NameAddr({str(self)!r})"

    def _build(self) -> str:
        if self._uri_text == "*":
            return "*" + format_params(self.params)
        uri = self._uri_text if self._uri is None else str(self._uri)
        display = "" if self.display is None else quote(self.display) + " "
        return f"{display}<{uri}>{format_params(self.params)}"

    def copy(self) -> NameAddr:
        return NameAddr(
            self._uri if self._uri is not None else self._uri_text,
            self.display,
            dict(self.params),
            _raw=self._raw,
        )


def parse_name_addr(value: str, *, allow_wildcard: bool = False) -> NameAddr:
    """Parse one name-addr/addr-spec with its header parameters (one element of a list)."""
    text = value.strip()
    if not text:
        raise ParseError("empty address")
    if text[0] == "*" and allow_wildcard:
        return NameAddr("*", None, parse_params(text[1:]), _raw=text)
    display: str | None = None
    if text[0] == '"':
        inner, i = parse_quoted(text, 0)
        display = unquote(inner)
        rest = text[i:].lstrip(" \t")
        if not rest.startswith("<"):
            raise ParseError("quoted display name without <URI>")
    else:
        lt = text.find("<")
        if lt < 0:
            return _parse_addr_spec(text)
        # Unquoted display name: tokens and LWS only (RFC 4475 §3.1.2.15 rejects ',' here;
        # §3.1.1.6 accepts no LWS before '<').
        words = text[:lt]
        if not _DISPLAY_TOKENS_RE.match(words):
            raise ParseError("invalid characters in unquoted display name")
        words = words.strip(" \t")
        display = " ".join(words.split()) or None
        rest = text[lt:]
    gt = rest.find(">")
    if gt < 0:
        raise ParseError("missing '>' in name-addr")
    uri_text = rest[1:gt]
    if not uri_text or uri_text != uri_text.strip(" \t"):
        raise ParseError("whitespace inside <addr-spec>")  # RFC 4475 §3.1.2.14
    uri = parse_uri(uri_text)
    return NameAddr(uri, display, parse_params(rest[gt + 1 :]), _raw=text)


def _parse_addr_spec(text: str) -> NameAddr:
    # Without <>, a ';' starts header parameters and the URI may carry none of its own,
    # nor headers (RFC 3261 §20.10; RFC 4475 §3.3.12, §3.1.2.13).
    semi = text.find(";")
    uri_text = text if semi < 0 else text[:semi]
    uri_text = uri_text.rstrip(" \t")
    if any(c in uri_text for c in ' \t,?"<>'):
        raise ParseError("addr-spec must be enclosed in <> here")
    uri = parse_uri(uri_text)
    params = parse_params(text[semi:]) if semi >= 0 else {}
    return NameAddr(uri, None, params, _raw=text)


_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_GENERIC_PARAM = rf"[ \t]*;[ \t]*{_TOKEN}+(?:[ \t]*=[ \t]*(?:{_TOKEN}+|{_QUOTED}))?"
# The usual shape of a name-addr: [display] <sip:...> *(;param); the URI is checked apart.
_NAME_ADDR_SHAPE = re.compile(
    # Display tokens are separated by required LWS: "(token+ LWS*)*" would backtrack
    # exponentially on a long name with no "<" (a peer could stall the loop).
    rf"(?:{_QUOTED}[ \t]*|{_TOKEN}+(?:[ \t]+{_TOKEN}+)*[ \t]*)?<(sips?):([^<>\s\"]+)>"
    rf"(?:{_GENERIC_PARAM})*[ \t]*\Z"
)


def check_name_addr(value: str, *, allow_wildcard: bool = False) -> None:
    """Raise ParseError unless ``value`` is a well-formed name-addr or addr-spec.

    Validation without building objects: the common ``[display] <sip:...>;params`` shape is
    checked with two regexes; anything else goes through :func:`parse_name_addr`, which gives
    the precise error (or accepts an unusual but valid form)."""
    m = _NAME_ADDR_SHAPE.match(value)
    if (
        m is not None
        and fast_sip_ok(m.group(2))
        and _distinct_names(m.group(2))
        and _distinct_names(value[m.end(2) + 1 :])
    ):
        return
    parse_name_addr(value, allow_wildcard=allow_wildcard)


def _distinct_names(text: str) -> bool:
    """No ``;name`` said twice, in any case (parse_params refuses that). A ';' inside a quoted
    value only makes this say False, which sends the value to the exact parser."""
    names = [item.partition("=")[0].strip(" \t").lower() for item in text.split(";")[1:]]
    return len(names) == len(set(names))


class Via:
    """One Via value: ``SIP/2.0/UDP host[:port];branch=...;received=...;rport``."""

    __slots__ = ("_raw", "host", "params", "port", "protocol", "transport")

    def __init__(
        self,
        transport: str,
        host: str,
        port: int | None = None,
        params: dict[str, str | None] | None = None,
        *,
        protocol: str = "SIP/2.0",
        _raw: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.transport = transport.upper()
        self.host = format_host(host)
        self.port = port
        self.params: dict[str, str | None] = params if params is not None else {}
        self._raw = _raw

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The rport value; None when absent or empty (asked for, not yet filled in)."""
        value = self.params.get("rport")
        return int(value) if value else None

    @property
    def wants_rport(self) -> bool:
        return "rport" in self.params

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def host_bare(self) -> str:
        return self.host[1:-1] if self.host.startswith("[") else self.host

    def set_param(self, name: str, value: str | None) -> None:
        self.params[name] = value
        self._raw = None

    def __str__(self) -> str:
        if self._raw is None:
            self._raw = (
                f"{self.protocol}/{self.transport} {self.sent_by}{format_params(self.params)}"
            )
        return self._raw

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"


_VIA_HEAD_RE = re.compile(
    r"\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*/\s*"
    r"([A-Za-z0-9\-.!%*_+`'~]+)\s+(\[[^\]\s]*\]|[^\s:;\[\]]+)(?:\s*:\s*([0-9]+))?\s*(;.*)?\Z",
    re.DOTALL,
)


_FAST_VIA_RE = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9_][A-Za-z0-9_\-.]*|\[[0-9A-Fa-f:.]+\])"
    r"(?::([0-9]{1,5}))?(;.*)?\Z",
    re.DOTALL,
)


def parse_via(value: str) -> Via:
    """Parse one via-parm; an unknown transport token is kept (RFC 4475 §3.1.1.10)."""
    m = _FAST_VIA_RE.match(value)
    if m is not None:
        transport, host, port_text, param_text = m.groups()
        if host[0] == "[":
            parse_host(host)
        port = int(port_text) if port_text else None
        if port is not None and port > 65535:
            raise ParseError("bad Via port")
        params = parse_params(param_text) if param_text else {}
        _check_via_params(params)
        return Via(transport, host, port, params, _raw=value)
    m = _VIA_HEAD_RE.match(value)
    if m is None:
        raise ParseError("malformed Via")
    name, version, transport, host, port_text, param_text = m.groups()
    if name.upper() != "SIP" or version != "2.0":
        raise ParseError("Via protocol is not SIP/2.0")
    parse_host(host)
    port = None
    if port_text is not None:
        # length first: int() of thousands of digits raises ValueError, not ParseError
        if len(port_text) > 5 or int(port_text) > 65535:
            raise ParseError("bad Via port")
        port = int(port_text)
    params = parse_params(param_text) if param_text else {}
    _check_via_params(params)
    raw = value.strip()
    return Via(transport, host, port, params, protocol=f"{name}/{version}", _raw=raw)


def via_from_parts(
    transport: str, host: str, port: int, params: dict[str, str | None], raw: str
) -> Via:
    """The Via that :func:`parse_via` builds from ``raw`` when its parts are already read
    (the compiled scanner's plain shape); ``port`` is -1 when absent."""
    _check_via_params(params)
    return Via(transport, host, None if port < 0 else port, params, _raw=raw)


def _check_via_params(params: dict[str, str | None]) -> None:
    received = params.get("received")
    if received is not None:
        # RFC 5118 §4.5: accept the address with or without IPv6 brackets.
        addr = received[1:-1] if received.startswith("[") and received.endswith("]") else received
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise ParseError("Via received is not an IP address") from None
    rport = params.get("rport")
    # lengths first: int() of thousands of digits raises ValueError, not ParseError
    if rport is not None and (not rport.isdigit() or len(rport) > 5 or int(rport) > 65535):
        raise ParseError("bad Via rport")
    branch = params.get("branch")
    if "branch" in params and not branch:
        raise ParseError("empty Via branch")
    ttl = params.get("ttl")
    if ttl is not None and (not ttl.isdigit() or len(ttl) > 3 or int(ttl) > 255):
        raise ParseError("bad Via ttl")


def parse_sent_by(text: str) -> tuple[str, int | None]:
    """``host[:port]`` as in Via sent-by or a maddr."""
    return split_hostport(text)


class CSeq:
    """``CSeq: <number> <METHOD>``; the number must be below 2**31 (RFC 3261 §8.1.1.5)."""

    __slots__ = ("method", "number")

    def __init__(self, number: int, method: str) -> None:
        self.number = number
        self.method = method

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    def __repr__(self) -> str:
        return f"CSeq({self.number}, {self.method!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CSeq) and self.number == other.number and self.method == other.method
        )

    def __hash__(self) -> int:
        return hash((self.number, self.method))


_CSEQ_RE = re.compile(r"[ \t]*([0-9]+)[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\Z")
MAX_CSEQ_NUMBER = (1 << 32) - 1


def parse_cseq(value: str) -> CSeq:
    """``1*DIGIT LWS Method`` (RFC 3261 §20.16); folding has been unfolded to SP already.

    The number is a 32-bit unsigned integer (§8.1.1.5, §20.16): up to 2**32-1 is accepted, more
    is a 400 (RFC 4475 §3.1.2.4). The "less than 2**31" rule is for the UAC choosing the
    initial value, not for what a receiver accepts. Only SP/HTAB separate (str.split() would
    also split on other Unicode spaces, which are no LWS).
    """
    m = _CSEQ_RE.match(value)
    if m is None:
        raise ParseError("malformed CSeq")
    digits, method = m.groups()
    digits = digits.lstrip("0") or "0"  # leading zeros are legal (RFC 4475 §3.1.1.1)
    if len(digits) > 10 or int(digits) > MAX_CSEQ_NUMBER:
        raise ParseError("CSeq number too large")
    return CSeq(int(digits), method)


def sip_uri_of(addr: NameAddr) -> SipURI | None:
    """The address's URI when it is a SIP/SIPS URI."""
    uri = addr.uri
    return uri if isinstance(uri, SipURI) else None
