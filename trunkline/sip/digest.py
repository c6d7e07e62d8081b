"""Digest access authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).

Parses and builds the values of WWW-Authenticate / Proxy-Authenticate (challenges) and
Authorization / Proxy-Authorization (credentials); computes and verifies responses for MD5,
SHA-256 and SHA-512-256, plain and ``-sess``, with qop ``auth`` and ``auth-int``; makes and
checks stateless nonces. Sans-IO: the caller hands in ``now``; nothing here reads a clock.

RFC 3261 §7.3.1 forbids folding several challenges or credentials into one header line, so each
parser takes exactly one header value and the commas inside it separate parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import TypeAlias
from urllib.parse import unquote

from trunkline.sip.errors import ParseError

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "Challenge",
    "Credentials",
    "NonceStatus",
    "Params",
    "build_credentials",
    "challenges_for",
    "check_nonce",
    "compute_ha1",
    "compute_response",
    "compute_userhash",
    "is_supported",
    "make_nonce",
    "parse_challenge",
    "parse_credentials",
    "select_challenge",
    "verify",
]

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

# --- hash algorithms (RFC 7616 §3.2, RFC 8760 §2.1) -------------------------------------------

_ALGORITHMS = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")
_CANONICAL = {name.lower(): name for name in _ALGORITHMS}


def _bind(name: str) -> Callable[[bytes], str]:
    def digest(data: bytes) -> str:
        return hashlib.new(name, data).hexdigest()

    return digest


def _hasher(*names: str) -> Callable[[bytes], str] | None:
    """The first hash OpenSSL provides under one of ``names``, or None.

    SHA-512/256 is spelt "sha512_256" or "sha512-256" depending on the OpenSSL build, and a
    FIPS build refuses MD5; an algorithm we cannot compute is simply not offered.
    """
    for name in names:
        try:
            hashlib.new(name)
        except ValueError:
            continue
        return _bind(name)
    return None


_BASE_HASHES: dict[str, Callable[[bytes], str]] = {
    base: fn
    for base, fn in (
        ("MD5", _hasher("md5")),
        ("SHA-256", _hasher("sha256")),
        ("SHA-512-256", _hasher("sha512_256", "sha512-256")),
    )
    if fn is not None
}


def _base(algorithm: str) -> str:
    return algorithm[: -len("-sess")] if algorithm.endswith("-sess") else algorithm


SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(a for a in _ALGORITHMS if _base(a) in _BASE_HASHES)
"""Canonical names of the algorithms this build can compute, in RFC 7616 §3.2 order."""


def _canonical(algorithm: str) -> str:
    """Algorithm tokens compare case-insensitively; unknown ones (e.g. AKAv1-MD5) are kept."""
    return _CANONICAL.get(algorithm.lower(), algorithm)


def _is_sess(algorithm: str) -> bool:
    return _canonical(algorithm).endswith("-sess")


def is_supported(algorithm: str) -> bool:
    """True when ``algorithm`` (any case) can be computed here."""
    return _canonical(algorithm) in SUPPORTED_ALGORITHMS


def _hash_for(algorithm: str) -> Callable[[bytes], str]:
    canonical = _canonical(algorithm)
    if canonical not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return _BASE_HASHES[_base(canonical)]


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


# --- computing and verifying (RFC 7616 §3.4.1-§3.4.4) -------------------------------------------


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def compute_ha1(algorithm: str, username: str, realm: str, password: str | bytes) -> str:
    """H(username ":" realm ":" password), the value a registrar can store instead of passwords.

    For ``-sess`` algorithms this is the inner hash; the session part depends on the nonce and
    cnonce and is applied by :func:`compute_response` (RFC 7616 §3.4.2).
    """
    digest = _hash_for(algorithm)
    return digest(f"{username}:{realm}:".encode() + _utf8(password))


def compute_userhash(algorithm: str, username: str, realm: str) -> str:
    """H(username ":" realm), sent instead of the name when userhash=true (RFC 7616 §3.4.4)."""
    return _hash_for(algorithm)(f"{username}:{realm}".encode())


def _format_nc(nc: int | str | None) -> str | None:
    return f"{nc:08x}" if isinstance(nc, int) else nc


def compute_response(
    algorithm: str,
    username: str,
    realm: str,
    password: str | bytes | None,
    method: str,
    uri: str,
    nonce: str,
    *,
    qop: str | None = None,
    nc: int | str | None = None,
    cnonce: str | None = None,
    body: bytes = b"",
    ha1: str | None = None,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1), from a password or a stored HA1.

    ``qop`` None is the RFC 2069 form kept by RFC 3261 §22.4. With ``auth-int`` the body is
    hashed; an empty body hashes the empty string (RFC 3261 §22.4). ``nc`` may be an int.
    Raises ValueError for an unsupported algorithm or qop, or a missing cnonce/nc.
    """
    digest = _hash_for(algorithm)
    secret = _ha1(algorithm, username, realm, password, ha1)
    if _is_sess(algorithm):
        if cnonce is None:
            raise ValueError("-sess algorithms need a cnonce")
        secret = digest(f"{secret}:{nonce}:{cnonce}".encode())
    ha2 = digest(_a2(digest, method, uri, qop, body))
    if qop is None:
        return digest(f"{secret}:{nonce}:{ha2}".encode())
    count = _format_nc(nc)
    if count is None or cnonce is None:
        raise ValueError("qop needs nc and cnonce")
    return digest(f"{secret}:{nonce}:{count}:{cnonce}:{qop}:{ha2}".encode())


def _ha1(
    algorithm: str, username: str, realm: str, password: str | bytes | None, ha1: str | None
) -> str:
    if ha1 is not None:
        return ha1.lower()
    if password is None:
        raise ValueError("need a password or an HA1")
    return compute_ha1(algorithm, username, realm, password)


def _a2(
    digest: Callable[[bytes], str], method: str, uri: str, qop: str | None, body: bytes
) -> bytes:
    if qop == "auth-int":
        return f"{method}:{uri}:{digest(body)}".encode()
    if qop in (None, "auth"):
        return f"{method}:{uri}".encode()
    raise ValueError(f"unsupported qop {qop!r}")


def _same(a: str, b: str) -> bool:
    # surrogatepass keeps the encoding injective for hand-built strings with lone surrogates.
    return hmac.compare_digest(_wire(a), _wire(b))


def _wire(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _computable(credentials: Credentials) -> bool:
    """Whether the credentials are Digest ones we could have produced at all."""
    if not credentials.is_digest or not is_supported(credentials.algorithm):
        return False
    if credentials.qop not in (None, "auth", "auth-int"):
        return False
    needs_cnonce = credentials.qop is not None or _is_sess(credentials.algorithm)
    if needs_cnonce and credentials.cnonce is None:
        return False
    return credentials.qop is None or credentials.nc is not None


def verify(
    credentials: Credentials,
    method: str,
    password: str | bytes | None = None,
    body: bytes = b"",
    *,
    ha1: str | None = None,
    username: str | None = None,
) -> bool:
    """Whether ``credentials`` answer the challenge for ``method`` with this password or HA1.

    Comparisons are constant-time (hmac.compare_digest). ``username`` is the real user name,
    needed when ``credentials.userhash`` is true (RFC 7616 §3.4.4: the server found the user
    by hash; without it such credentials verify False), otherwise checked against
    ``credentials.username`` when given. Credentials we cannot compute (another scheme, an
    unknown algorithm or qop, cnonce or nc missing) verify False; only a missing password and
    HA1 raises ValueError. The caller still checks the realm, the nonce (:func:`check_nonce`),
    the nonce count and that ``uri`` names the Request-URI (RFC 3261 §22.4).
    """
    if not _computable(credentials):
        return False
    name_ok, name = _check_username(credentials, username)
    expected = _expected(credentials, name, password, method, body, ha1)
    # Both checks always run, so timing does not tell which one failed.
    return _same(expected, credentials.response.lower()) & name_ok


def _expected(
    c: Credentials,
    username: str,
    password: str | bytes | None,
    method: str,
    body: bytes,
    ha1: str | None,
) -> str:
    return compute_response(
        c.algorithm,
        username,
        c.realm,
        password,
        method,
        c.uri,
        c.nonce,
        qop=c.qop,
        nc=c.nc,
        cnonce=c.cnonce,
        body=body,
        ha1=ha1,
    )


def _check_username(credentials: Credentials, username: str | None) -> tuple[bool, str]:
    if credentials.userhash:
        if username is None:
            return False, credentials.username  # the caller did not look the hash up
        hashed = compute_userhash(credentials.algorithm, username, credentials.realm)
        return _same(hashed, credentials.username.lower()), username
    if username is None:
        return True, credentials.username
    return _same(username, credentials.username), username


# --- client side ------------------------------------------------------------------------------


_STRENGTH = {"MD5": 0, "SHA-256": 1, "SHA-512-256": 2}


def select_challenge(
    challenges: Iterable[Challenge], *, strongest: bool = False
) -> Challenge | None:
    """The Digest challenge to answer, or None when none can be.

    By default the topmost one we support: servers list them in order of preference (RFC 8760
    §2.3) and a UAC "SHOULD use the topmost header field that it supports" (§2.4). Challenges
    are not integrity-protected, so an on-path attacker can reorder them to downgrade to MD5
    (RFC 8760 §3); ``strongest`` is the local policy §2.4 allows against that, ties going to
    the earlier challenge.
    """
    usable = [c for c in challenges if _answerable(c)]
    if strongest:
        usable.sort(key=lambda c: -_STRENGTH[_base(_canonical(c.algorithm))])
    return usable[0] if usable else None


def _answerable(challenge: Challenge) -> bool:
    if not challenge.is_digest or not is_supported(challenge.algorithm):
        return False
    return not challenge.qop or bool({"auth", "auth-int"} & set(challenge.qop))


def _choose_qop(offered: tuple[str, ...], body: bytes | None, prefer_auth_int: bool) -> str | None:
    """Prefer "auth"; "auth-int" only when offered and the body is in hand."""
    if not offered:
        return None  # RFC 2069 compatibility (RFC 3261 §22.4)
    int_ok = "auth-int" in offered and body is not None
    if int_ok and (prefer_auth_int or "auth" not in offered):
        return "auth-int"
    if "auth" in offered:
        return "auth"
    raise ValueError("challenge offers no qop we can answer (auth-int needs the body)")


def build_credentials(
    challenge: Challenge,
    username: str,
    password: str | bytes | None,
    method: str,
    uri: str,
    cnonce: str | None = None,
    nc: int = 1,
    body: bytes | None = None,
    *,
    ha1: str | None = None,
    prefer_auth_int: bool = False,
) -> Credentials:
    """Answer a Digest challenge for a request with this ``method`` and Request-URI ``uri``.

    qop is "auth" when offered; "auth-int" when it is the only one offered (or
    ``prefer_auth_int``) and ``body`` is given. ``cnonce`` defaults to 128 random bits.
    Raises ValueError for a challenge that cannot be answered (see :func:`select_challenge`).
    """
    if not challenge.is_digest:
        raise ValueError(f"cannot answer a {challenge.scheme} challenge")
    qop = _choose_qop(challenge.qop, body, prefer_auth_int)
    needs_cnonce = qop is not None or _is_sess(challenge.algorithm)
    if needs_cnonce and cnonce is None:
        cnonce = secrets.token_urlsafe(16)
    shown = username
    if challenge.userhash:  # RFC 7616 §3.4.4: the name travels hashed
        shown = compute_userhash(challenge.algorithm, username, challenge.realm)
    draft = Credentials(
        shown,
        challenge.realm,
        challenge.nonce,
        uri,
        "",
        challenge.algorithm,
        cnonce if needs_cnonce else None,
        _format_nc(nc) if qop is not None else None,
        qop,
        challenge.opaque,
        challenge.userhash,
    )
    response = _expected(draft, username, password, method, body or b"", ha1)
    return replace(draft, response=response)


# --- server side ------------------------------------------------------------------------------


def challenges_for(
    realm: str,
    nonce: str,
    algorithms: Sequence[str] = ("SHA-256", "MD5"),
    qop: Sequence[str] = ("auth",),
    opaque: str | None = None,
    *,
    stale: bool = False,
    userhash: bool = False,
) -> list[Challenge]:
    """One challenge per algorithm, most preferred first (RFC 8760 §2.3), sharing the nonce.

    Raises ValueError for an algorithm this build cannot compute.
    """
    for algorithm in algorithms:
        _hash_for(algorithm)
    return [
        Challenge(realm, nonce, _canonical(a), tuple(qop), opaque, stale, userhash=userhash)
        for a in algorithms
    ]


class NonceStatus(StrEnum):
    """Outcome of :func:`check_nonce`; compares equal to its string value."""

    VALID = "valid"
    STALE = "stale"  # ours but too old: answer 401 with stale=true (RFC 7616 §3.3)
    INVALID = "invalid"  # not ours, tampered with, or from the future


_STAMP_LEN, _SALT_LEN, _MAC_LEN = 8, 8, 16
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes in unpadded base64url


def _nonce_mac(secret: bytes, stamp_salt: bytes, context: bytes) -> bytes:
    return hmac.new(secret, stamp_salt + context, "sha256").digest()[:_MAC_LEN]


def _encode_nonce(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_nonce(nonce: str) -> bytes | None:
    """The nonce's bytes, or None unless it is exactly what :func:`_encode_nonce` writes.

    Base64 ignores the spare low bits of the last character; insisting on the canonical text
    keeps one nonce from having several spellings, which a nonce-count store keys on.
    """
    if not _NONCE_RE.fullmatch(nonce):
        return None
    raw = base64.urlsafe_b64decode(nonce + "=")
    return raw if _encode_nonce(raw) == nonce else None


def make_nonce(
    secret: bytes, now: float, *, salt: bytes | None = None, context: bytes = b""
) -> str:
    """A nonce that needs no server state: time stamp, salt and an HMAC over both.

    RFC 7616 §3.3 suggests a time stamp plus a hash keyed with a server secret, so that the
    server can tell its own nonces, and their age, without remembering them. ``now`` is the
    caller's clock in seconds; ``salt`` (8 bytes) makes each nonce unique and defaults to
    random bytes; ``context`` (say the realm) is bound into the MAC but not carried.
    """
    salt = secrets.token_bytes(_SALT_LEN) if salt is None else salt
    if len(salt) != _SALT_LEN:
        raise ValueError(f"salt must be {_SALT_LEN} bytes")
    stamp_salt = int(now * 1000).to_bytes(_STAMP_LEN, "big", signed=True) + salt
    raw = stamp_salt + _nonce_mac(secret, stamp_salt, context)
    return _encode_nonce(raw)


def check_nonce(
    secret: bytes,
    nonce: str,
    now: float,
    max_age: float,
    *,
    context: bytes = b"",
    max_skew: float = 2.0,
) -> NonceStatus:
    """Whether ``nonce`` came from :func:`make_nonce` with this secret, and is fresh.

    A nonce up to ``max_skew`` seconds in the future is accepted, for nodes of a cluster
    sharing the secret whose clocks differ a little. This does not stop replays within
    ``max_age``: the caller tracks nonce counts for that (RFC 7616 §5.3).
    """
    raw = _decode_nonce(nonce)
    if raw is None:
        return NonceStatus.INVALID
    stamp_salt, mac = raw[: _STAMP_LEN + _SALT_LEN], raw[_STAMP_LEN + _SALT_LEN :]
    if not hmac.compare_digest(mac, _nonce_mac(secret, stamp_salt, context)):
        return NonceStatus.INVALID
    age = now - int.from_bytes(stamp_salt[:_STAMP_LEN], "big", signed=True) / 1000
    if age > max_age:
        return NonceStatus.STALE
    return NonceStatus.VALID if age >= -max_skew else NonceStatus.INVALID
