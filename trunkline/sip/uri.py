"""SIP, SIPS and TEL URIs and opaque absolute URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118).

Treat URIs as values: ``with_()`` returns a changed copy, and an unmodified URI serializes to
exactly the text it was parsed from; escaped characters stay escaped until compared (§19.1.4).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote as _pct_unquote

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import format_params

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
# user = 1*( unreserved / escaped / user-unreserved ); password likewise without ;?/
_USER_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+\Z")
_PASSWORD_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*\Z")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_\-.]*[A-Za-z0-9_.])?\Z")
# paramchar = param-unreserved / unreserved / escaped
_PCHAR_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|%[0-9A-Fa-f]{2})+\Z")
# hname/hvalue chars = hnv-unreserved / unreserved / escaped
_HCHAR_RE = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$]|%[0-9A-Fa-f]{2})*\Z")
# RFC 3966 telephone-subscriber, liberally: visual separators and DTMF digits allowed
_TEL_RE = re.compile(r"\+?[0-9A-Fa-f*#\-.()pPwW]+\Z")
_OPAQUE_RE = re.compile(r"[!-~]+\Z")  # no LWS, no controls: anything else the scheme allows

DEFAULT_PORTS = {"sip": 5060, "sips": 5061}


def unescape(text: str) -> str:
    """Resolve %HEXHEX escapes (only in URI components, never elsewhere: RFC 4475 §3.1.1.3)."""
    if "%" not in text:
        return text
    return _pct_unquote(text, errors="surrogateescape")


def parse_host(text: str) -> str:
    """Validate a host (hostname, IPv4 or bracketed IPv6 reference) and return it unchanged."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ParseError(f"bad IPv6 reference {text[:60]!r}")
        try:
            # Python accepts a "%zone" suffix; RFC 3261's IPv6reference does not (nor do URIs
            # outside RFC 6874), and a '%' there would be read as an escape by others.
            if "%" in text:
                raise ValueError("zone id")
            ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise ParseError(f"bad IPv6 reference {text[:60]!r}") from None
        return text
    if not _HOSTNAME_RE.match(text):
        raise ParseError(f"bad host {text[:60]!r}")
    return text


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host[:port]`` -> (host, port); the port of an IPv6 reference follows the ``]``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ParseError(f"bad IPv6 reference {text[:60]!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ParseError(f"bad host:port {text[:60]!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
            raise ParseError(f"bad port in {text[:60]!r}")
        port = int(port_text)
        if port > 65535:
            raise ParseError(f"bad port in {text[:60]!r}")
    return parse_host(host), port


def format_host(host: str) -> str:
    """An IP or hostname as it stands in a URI or Via (IPv6 gets its brackets)."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def host_key(host: str) -> str:
    """Host normalized for comparison: lower case, IPv6 compressed and without brackets."""
    h = host.lower()
    if h.startswith("["):
        h = h[1:-1]
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h).compressed
        except ValueError:
            return h
    return h


class URI:
    """Base of every URI; ``scheme`` is lower-case."""

    __slots__ = ("_raw", "scheme")

    scheme: str
    _raw: str | None

    def __str__(self) -> str:
        if self._raw is None:
            self._raw = self._build()
        return self._raw

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8", "surrogateescape")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URI) and self.equivalent(other)

    def __hash__(self) -> int:
        return hash(self.scheme)

    def _build(self) -> str:
        raise NotImplementedError

    def equivalent(self, other: URI) -> bool:
        """URI equality by the rules of the scheme (RFC 3261 §19.1.4 for SIP/SIPS)."""
        return str(self).lower() == str(other).lower()


class SipURI(URI):
    """``sip:``/``sips:`` URI. Components keep their escapes; ``user_unescaped`` resolves them."""

    __slots__ = ("headers", "host", "params", "password", "port", "user")

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        params: dict[str, str | None] | None = None,
        headers: dict[str, str] | None = None,
        *,
        scheme: str = "sip",
        password: str | None = None,
        _raw: str | None = None,
    ) -> None:
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = format_host(host)
        self.port = port
        self.params: dict[str, str | None] = params if params is not None else {}
        self.headers: dict[str, str] = headers if headers is not None else {}
        self._raw = _raw

    @property
    def secure(self) -> bool:
        return self.scheme == "sips"

    @property
    def user_unescaped(self) -> str | None:
        return None if self.user is None else unescape(self.user)

    @property
    def transport(self) -> str | None:
        t = self.params.get("transport")
        return t.lower() if t else None

    @property
    def lr(self) -> bool:
        return "lr" in self.params

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def host_bare(self) -> str:
        """Host without IPv6 brackets, as sockets want it."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    def with_(self, **changes: object) -> SipURI:
        """A copy with some components changed (``params``/``headers`` replace whole)."""
        fields: dict[str, object] = {
            "host": self.host,
            "user": self.user,
            "port": self.port,
            "params": dict(self.params),
            "headers": dict(self.headers),
            "scheme": self.scheme,
            "password": self.password,
        }
        fields.update(changes)
        return SipURI(**fields)  # type: ignore[arg-type]

    def _build(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += [":", self.password]
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts += [":", str(self.port)]
        parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    def equivalent(self, other: URI) -> bool:
        if not isinstance(other, SipURI) or other.scheme != self.scheme:
            return False
        if (self.user_unescaped, _opt_unescape(self.password)) != (
            other.user_unescaped,
            _opt_unescape(other.password),
        ):
            return False
        if host_key(self.host) != host_key(other.host) or self.port != other.port:
            return False
        # §19.1.4: these parameters must match when either URI has them; others when both do.
        for name in ("user", "ttl", "method", "maddr", "transport"):
            if _low(self.params.get(name)) != _low(other.params.get(name)):
                return False
        for name, value in self.params.items():
            if name in other.params and _low(unescape(value or "")) != _low(
                unescape(other.params[name] or "")
            ):
                return False
        return _header_key(self.headers) == _header_key(other.headers)


def _opt_unescape(text: str | None) -> str | None:
    return None if text is None else unescape(text)


def _low(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _header_key(headers: dict[str, str]) -> dict[str, str]:
    return {unescape(k).lower(): unescape(v) for k, v in headers.items()}


class TelURI(URI):
    """``tel:`` URI (RFC 3966): a global (``+``) or local number with parameters."""

    __slots__ = ("number", "params")

    def __init__(
        self, number: str, params: dict[str, str | None] | None = None, *, _raw: str | None = None
    ) -> None:
        self.scheme = "tel"
        self.number = number
        self.params: dict[str, str | None] = params if params is not None else {}
        self._raw = _raw

    @property
    def is_global(self) -> bool:
        return self.number.startswith("+")

    @property
    def digits(self) -> str:
        """The number without visual separators (RFC 3966 §5.1.1)."""
        return "".join(ch for ch in self.number if ch not in "-.()")

    def _build(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    def equivalent(self, other: URI) -> bool:
        return (
            isinstance(other, TelURI)
            and self.digits.lower() == other.digits.lower()
            and {k: _low(v) for k, v in self.params.items()}
            == {k: _low(v) for k, v in other.params.items()}
        )


class AbsoluteURI(URI):
    """Any other scheme, kept opaque (RFC 4475 §3.3.2-3.3.4: parse it, let the element decide)."""

    __slots__ = ("opaque",)

    def __init__(self, scheme: str, opaque: str) -> None:
        self.scheme = scheme.lower()
        self.opaque = opaque
        self._raw = f"{scheme}:{opaque}"

    def _build(self) -> str:
        return f"{self.scheme}:{self.opaque}"


def parse_uri(text: str) -> URI:
    """Parse a URI; raises ParseError (status 400) on bad syntax."""
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.match(scheme):
        raise ParseError(f"not a URI: {text[:60]!r}")
    low = scheme.lower()
    if low in ("sip", "sips"):
        return _parse_sip(low, rest, text)
    if low == "tel":
        return _parse_tel(rest, text)
    if not _OPAQUE_RE.match(rest) or any(c in rest for c in '<>"'):
        raise ParseError(f"bad {scheme} URI {text[:60]!r}")
    return AbsoluteURI(scheme, rest)


# user@host:port;params with nothing unusual: one regex instead of the general walk
_FAST_SIP_RE = re.compile(
    r"(?:([A-Za-z0-9\-_.!~*'()&=+$,]+)@)?([A-Za-z0-9_][A-Za-z0-9_\-.]*)(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$]+)?)*)\Z"
)


def fast_sip_ok(rest: str) -> bool:
    """True when the part of a SIP URI after ``sip:`` has the plain user@host:port;params
    shape (no object built); False means "parse it to know", not "invalid"."""
    m = _FAST_SIP_RE.match(rest)
    if m is None:
        return False
    port = m.group(3)
    return port is None or int(port) <= 65535


def _parse_sip(scheme: str, rest: str, text: str) -> SipURI:
    m = _FAST_SIP_RE.match(rest)
    if m is not None:
        user, host, port_text, param_text = m.groups()
        port = int(port_text) if port_text else None
        if port is None or port <= 65535:
            params: dict[str, str | None] = {}
            if param_text:
                items = param_text[1:].split(";")
                for item in items:
                    name, eq, value = item.partition("=")
                    params[name.lower()] = value if eq else None
                if len(params) != len(items):  # §19.1.1: no name more than once
                    raise ParseError(f"repeated URI parameter in {text[:60]!r}")
            return SipURI(host, user, port, params, None, scheme=scheme, _raw=text)
    return _parse_sip_general(scheme, rest, text)


def _parse_sip_general(scheme: str, rest: str, text: str) -> SipURI:
    user = password = None
    at = rest.rfind("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
        if not _USER_RE.match(user) or (password is not None and not _PASSWORD_RE.match(password)):
            raise ParseError(f"bad user part in {text[:60]!r}")
    rest, qmark, header_text = rest.partition("?")
    hostport, semi, param_text = rest.partition(";")
    host, port = split_hostport(hostport)
    params: dict[str, str | None] = {}
    if semi:
        for item in param_text.split(";"):
            name, eq, value = item.partition("=")
            if not _PCHAR_RE.match(name) or (eq and not _PCHAR_RE.match(value)):
                raise ParseError(f"bad URI parameter in {text[:60]!r}")
            if name.lower() in params:  # RFC 3261 §19.1.1: no name more than once
                raise ParseError(f"repeated URI parameter in {text[:60]!r}")
            params[name.lower()] = value if eq else None
    headers: dict[str, str] = {}
    if qmark:
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not name or not eq or not _HCHAR_RE.match(name) or not _HCHAR_RE.match(value):
                raise ParseError(f"bad URI header in {text[:60]!r}")
            headers[name] = value
    return SipURI(host, user, port, params, headers, scheme=scheme, password=password, _raw=text)


def _parse_tel(rest: str, text: str) -> TelURI:
    number, semi, param_text = rest.partition(";")
    if not _TEL_RE.match(number):
        raise ParseError(f"bad tel URI {text[:60]!r}")
    params: dict[str, str | None] = {}
    if semi:
        for item in param_text.split(";"):
            name, eq, value = item.partition("=")
            if not _PCHAR_RE.match(name) or (eq and not _PCHAR_RE.match(value)):
                raise ParseError(f"bad tel URI parameter in {text[:60]!r}")
            if name.lower() in params:  # RFC 3966 §3: each parameter name once
                raise ParseError(f"repeated tel URI parameter in {text[:60]!r}")
            params[name.lower()] = value if eq else None
    return TelURI(number, params, _raw=text)
