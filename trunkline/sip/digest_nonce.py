"""Stateless Digest nonces: making them and checking their origin and age (RFC 7616 §3.3)."""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from enum import StrEnum

__all__ = ["NonceStatus", "check_nonce", "make_nonce"]


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
