"""Digest header grammar: parsing and building challenge and credentials header values.

Parses and builds the values of WWW-Authenticate / Proxy-Authenticate (challenges) and
Authorization / Proxy-Authorization (credentials), RFC 3261 §25.1 and RFC 7616 §3.3-§3.4.

RFC 3261 §7.3.1 forbids folding several challenges or credentials into one header line, so each
parser takes exactly one header value and the commas inside it separate parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TypeAlias
from urllib.parse import unquote

from trunkline.sip.digest_algorithms import _canonical
from trunkline.sip.errors import ParseError

__all__ = ["Challenge", "Credentials", "Params", "parse_challenge", "parse_credentials"]

# --- grammar (RFC 3261 §25.1) --------------------------------------------------------------

_TOKEN_CHARS = r"A-Za-z0-9\-.!%*_+`'~"
# qdtext: LWS, %x21, %x23-5B, %x5D-7E, UTF8-NONASCII; surrogates are left out so that every
# parsed value can be encoded back to UTF-8 for hashing.
_QDTEXT = r"\t \x21\x23-\x5b\x5d-\x7e\x80-\ud7ff\ue000-\U0010ffff"
_QUOTED_PAIR = r"\\[\x00-\x09\x0b\x0c\x0e-\x7f]"
_TOKEN_RE = re.compile(rf"[{_TOKEN_CHARS}]+")
_SCHEME_RE = re.compile(rf"([{_TOKEN_CHARS}]+)(?:[ \t]+|\Z)")
_PARAM_RE = re.compile(
    rf'([{_TOKEN_CHARS}]+)[ \t]*=[ \t]*(?:([{_TOKEN_CHARS}]+)|"((?:[{_QDTEXT}]|{_QUOTED_PAIR})*)")'
)
_COMMA_RE = re.compile(r"[ \t]*,[ \t]*")
# RFC 7235 §2.1 token68, for schemes other than Digest that carry one opaque blob.
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 3261 §7.3.1: a folded line (CRLF followed by whitespace) is equivalent to one SP.
_FOLD_RE = re.compile(r"\r\n[ \t]+")
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPE_RE = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')
_UNQUOTABLE_RE = re.compile(r"[\r\n\ud800-\udfff]")
_SPACES_RE = re.compile(r"[ \t]+")
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")
# RFC 8187 ext-value, as used by RFC 7616 §3.4 username*.
_EXT_VALUE_RE = re.compile(
    r"([A-Za-z0-9!#$%&+\-^_`{}~]+)'[A-Za-z0-9\-]*'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)"
)

# --- data -------------------------------------------------------------------------------------

Params: TypeAlias = tuple[tuple[str, str], ...]
"""Parameters other than the ones a class has fields for: (name as spelt, unquoted value)."""
_Fields: TypeAlias = tuple[tuple[str, str | None, Callable[[str], str]], ...]


@dataclass(frozen=True, slots=True)
class Challenge:
    """One WWW-Authenticate or Proxy-Authenticate value (RFC 7616 §3.3).

    For a scheme other than Digest, ``realm`` is taken from a realm parameter when there is one,
    ``params`` holds every parameter and ``raw`` the text after the scheme, written back
    verbatim by :meth:`encode` so a proxy can relay what it does not understand.
    """

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    domain: tuple[str, ...] = ()
    userhash: bool = False
    charset: str | None = None
    scheme: str = "Digest"
    params: Params = ()
    raw: str | None = None

    @property
    def is_digest(self) -> bool:
        return _is_digest(self.scheme)

    def encode(self) -> str:
        """The header value, e.g. ``Digest realm="x", nonce="y", algorithm=MD5``."""
        if self.raw is not None or not self.is_digest:
            return _encode_other(self.scheme, self.params, self.raw)
        fields: _Fields = (
            ("realm", self.realm, _quote),
            ("nonce", self.nonce, _quote),
            ("algorithm", self.algorithm, _token),
            # RFC 3261 §25.1 qop-options: one quoted, comma-separated list of tokens.
            ("qop", ",".join(map(_token, self.qop)) if self.qop else None, _quote),
            ("opaque", self.opaque, _quote),
            ("domain", " ".join(self.domain) if self.domain else None, _quote),
            ("stale", "true" if self.stale else None, _token),
            ("charset", self.charset, _value),
            ("userhash", "true" if self.userhash else None, _token),
        )
        return _join(self.scheme, fields, self.params)


@dataclass(frozen=True, slots=True)
class Credentials:
    """One Authorization or Proxy-Authorization value (RFC 7616 §3.4).

    ``nc`` is kept as the 8 hex digits the client sent, because the response hashes that
    text. With ``userhash`` true, ``username`` is the hash of the real name (RFC 7616 §3.4.4).
    Other schemes are kept as for :class:`Challenge`.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    cnonce: str | None = None
    nc: str | None = None
    qop: str | None = None
    opaque: str | None = None
    userhash: bool = False
    scheme: str = "Digest"
    params: Params = ()
    raw: str | None = None

    @property
    def is_digest(self) -> bool:
        return _is_digest(self.scheme)

    @property
    def nonce_count(self) -> int | None:
        """``nc`` as a number, for replay checks (RFC 7616 §3.4)."""
        return int(self.nc, 16) if self.nc is not None and _NC_RE.fullmatch(self.nc) else None

    def encode(self) -> str:
        """The header value, e.g. ``Digest username="bob", realm="x", ...``."""
        if self.raw is not None or not self.is_digest:
            return _encode_other(self.scheme, self.params, self.raw)
        fields: _Fields = (
            ("username", self.username, _quote),
            ("realm", self.realm, _quote),
            ("nonce", self.nonce, _quote),
            ("uri", self.uri, _quote),
            ("response", self.response, _quote),
            ("algorithm", self.algorithm, _token),
            ("cnonce", self.cnonce, _quote),
            ("opaque", self.opaque, _quote),
            ("qop", self.qop, _token),
            ("nc", self.nc, _token),
            ("userhash", "true" if self.userhash else None, _token),
        )
        return _join(self.scheme, fields, self.params)


_NOT_PARAMS = frozenset(("scheme", "params", "raw"))
_CHALLENGE_KEYS = frozenset(f.name for f in fields(Challenge)) - _NOT_PARAMS
_CREDENTIAL_KEYS = frozenset(f.name for f in fields(Credentials)) - _NOT_PARAMS | {"username*"}


def _is_digest(scheme: str) -> bool:
    return scheme.lower() == "digest"


# --- encoding ---------------------------------------------------------------------------------


def _quote(value: str) -> str:
    """A quoted-string; quoted-pair cannot carry CR or LF (RFC 3261 §25.1), so those fail."""
    if _UNQUOTABLE_RE.search(value):
        raise ValueError(f"{value!r} cannot be carried in a quoted-string")
    return '"' + _ESCAPE_RE.sub(lambda m: "\\" + m.group(0), value) + '"'


def _token(value: str) -> str:
    if not _TOKEN_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a token")
    return value


def _value(value: str) -> str:
    """Token when it is one, quoted-string otherwise: RFC 3261 auth-param allows either."""
    return value if _TOKEN_RE.fullmatch(value) else _quote(value)


def _join(scheme: str, fields: _Fields, params: Params) -> str:
    """``scheme`` then the fields that are set, then the other parameters."""
    parts = [f"{name}={encode(value)}" for name, value, encode in fields if value is not None]
    parts += [f"{_token(name)}={_value(value)}" for name, value in params]
    return f"{_token(scheme)} " + ", ".join(parts)


def _encode_other(scheme: str, params: Params, raw: str | None) -> str:
    if raw is not None:
        return f"{_token(scheme)} {raw}" if raw else _token(scheme)
    return _join(scheme, (), params) if params else _token(scheme)


# --- parsing ----------------------------------------------------------------------------------


def _to_text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("authentication header is not UTF-8") from None
    text = _FOLD_RE.sub(" ", value.strip(" \t\r\n")).strip(" \t")
    if "\r" in text or "\n" in text:
        raise ParseError("bare CR or LF in authentication header")
    return text


def _split_scheme(value: bytes | str) -> tuple[str, str]:
    text = _to_text(value)
    match = _SCHEME_RE.match(text)
    if match is None:
        raise ParseError("authentication scheme missing")
    return match.group(1), text[match.end() :]


def _parse_params(text: str) -> list[tuple[str, str]]:
    """``auth-param *(COMMA auth-param)``, values unquoted; anything else is a ParseError."""
    params: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _PARAM_RE.match(text, pos)
        if match is None:
            raise ParseError(f"malformed auth-param at offset {pos}")
        token, quoted = match.group(2), match.group(3)
        params.append((match.group(1), token if token is not None else _unescape(quoted)))
        pos = match.end()
        if pos == len(text):
            return params
        comma = _COMMA_RE.match(text, pos)
        if comma is None:
            raise ParseError(f"expected ',' at offset {pos}")
        pos = comma.end()


def _unescape(quoted: str) -> str:
    return _UNESCAPE_RE.sub(lambda m: m.group(1), quoted) if "\\" in quoted else quoted


def _other_params(rest: str) -> Params:
    """Parameters of a scheme we do not know: auth-params, one token68, or nothing."""
    if not rest or _TOKEN68_RE.fullmatch(rest):
        return ()
    return tuple(_parse_params(rest))


def _digest_params(rest: str, known: frozenset[str]) -> tuple[dict[str, str], Params]:
    """Known parameters by lower-cased name, and the others in order with their spelling."""
    values: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in _parse_params(rest):
        key = name.lower()
        if key in seen:
            # RFC 7235 §2.1: each parameter name occurs only once per challenge.
            raise ParseError(f"duplicate {name} parameter")
        seen.add(key)
        if key in known:
            values[key] = value
        else:
            extra.append((name, value))
    return values, tuple(extra)


def _required(values: dict[str, str], name: str) -> str:
    if name not in values:
        raise ParseError(f"Digest {name} parameter missing")
    return values[name]


def _checked_token(value: str | None, what: str) -> str | None:
    if value is not None and not _TOKEN_RE.fullmatch(value):
        raise ParseError(f"{what} is not a token")
    return value


def _flag(value: str | None) -> bool:
    # RFC 7616 §3.3: anything but a case-insensitive "true" counts as false.
    return value is not None and value.lower() == "true"


def _qop_options(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = tuple(item.strip(" \t").lower() for item in value.split(","))
    if not all(_TOKEN_RE.fullmatch(item) for item in items):
        raise ParseError("malformed qop-options")
    return items


def parse_challenge(value: bytes | str) -> Challenge:
    """Parse one WWW-Authenticate / Proxy-Authenticate value; raises ParseError (400)."""
    scheme, rest = _split_scheme(value)
    if not _is_digest(scheme):
        params = _other_params(rest)
        realm = next((v for n, v in params if n.lower() == "realm"), "")
        return Challenge(realm, "", "", scheme=scheme, params=params, raw=rest)
    values, extra = _digest_params(rest, _CHALLENGE_KEYS)
    return Challenge(
        realm=_required(values, "realm"),
        nonce=_required(values, "nonce"),
        algorithm=_canonical(_checked_token(values.get("algorithm"), "algorithm") or "MD5"),
        qop=_qop_options(values.get("qop")),
        opaque=values.get("opaque"),
        stale=_flag(values.get("stale")),
        domain=tuple(u for u in _SPACES_RE.split(values.get("domain", "")) if u),
        userhash=_flag(values.get("userhash")),
        charset=values.get("charset"),
        scheme="Digest",
        params=extra,
    )


def _username(values: dict[str, str]) -> str:
    """``username``, or the RFC 8187 ``username*`` RFC 7616 §3.4 allows for other characters."""
    if "username*" not in values:
        return _required(values, "username")
    if "username" in values:
        raise ParseError("both username and username* present")  # RFC 7616 §3.4
    match = _EXT_VALUE_RE.fullmatch(values["username*"])
    if match is None or match.group(1).lower() != "utf-8":
        raise ParseError("malformed username*")
    try:
        return unquote(match.group(2), encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ParseError("username* is not UTF-8") from None


def _nonce_count(value: str | None) -> str | None:
    if value is not None and not _NC_RE.fullmatch(value):
        raise ParseError("nc is not 8 hex digits")  # RFC 3261 §25.1 nc-value = 8LHEX
    return value


def parse_credentials(value: bytes | str) -> Credentials:
    """Parse one Authorization / Proxy-Authorization value; raises ParseError (400)."""
    scheme, rest = _split_scheme(value)
    if not _is_digest(scheme):
        params = _other_params(rest)
        realm = next((v for n, v in params if n.lower() == "realm"), "")
        return Credentials("", realm, "", "", "", "", scheme=scheme, params=params, raw=rest)
    values, extra = _digest_params(rest, _CREDENTIAL_KEYS)
    qop = _checked_token(values.get("qop"), "qop")
    if qop is not None and ("cnonce" not in values or "nc" not in values):
        raise ParseError("qop without cnonce and nc")  # RFC 7616 §3.4
    return Credentials(
        username=_username(values),
        realm=_required(values, "realm"),
        nonce=_required(values, "nonce"),
        uri=_required(values, "uri"),
        response=_required(values, "response"),
        algorithm=_canonical(_checked_token(values.get("algorithm"), "algorithm") or "MD5"),
        cnonce=values.get("cnonce"),
        nc=_nonce_count(values.get("nc")),
        qop=qop.lower() if qop is not None else None,
        opaque=values.get("opaque"),
        userhash=_flag(values.get("userhash")),
        scheme="Digest",
        params=extra,
    )
