"""Digest access authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760).

Computes and verifies responses for MD5, SHA-256 and SHA-512-256, plain and ``-sess``, with
qop ``auth`` and ``auth-int``; answers challenges (client side) and issues them (server side).
Sans-IO: the caller hands in ``now``; nothing here reads a clock.

This module is the public face of digest authentication and re-exports the rest: the header
grammar (:class:`Challenge`, :class:`Credentials`, :func:`parse_challenge`,
:func:`parse_credentials`) lives in :mod:`trunkline.sip.digest_grammar`, the algorithm table in
:mod:`trunkline.sip.digest_algorithms` and the stateless nonces (:func:`make_nonce`,
:func:`check_nonce`) in :mod:`trunkline.sip.digest_nonce`. The ``import X as X`` lines keep the
private names the unit tests reach through this module where they were.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from trunkline.sip.digest_algorithms import _BASE_HASHES as _BASE_HASHES
from trunkline.sip.digest_algorithms import (
    SUPPORTED_ALGORITHMS,
    _base,
    _canonical,
    _hash_for,
    _is_sess,
    is_supported,
)
from trunkline.sip.digest_algorithms import _hasher as _hasher
from trunkline.sip.digest_grammar import _CHALLENGE_KEYS as _CHALLENGE_KEYS
from trunkline.sip.digest_grammar import _CREDENTIAL_KEYS as _CREDENTIAL_KEYS
from trunkline.sip.digest_grammar import (
    Challenge,
    Credentials,
    Params,
    parse_challenge,
    parse_credentials,
)
from trunkline.sip.digest_nonce import NonceStatus, check_nonce, make_nonce

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
