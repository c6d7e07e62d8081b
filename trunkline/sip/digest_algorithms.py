"""Digest hash algorithms: which ones this build can compute and how their names compare."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

__all__ = ["SUPPORTED_ALGORITHMS", "is_supported"]

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
