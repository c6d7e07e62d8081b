"""Header names, compact forms and the small grammars shared by many headers (RFC 3261 §7.3, §25.1).

Values are handled as ``bytes`` on the wire and decoded to ``str`` (UTF-8, surrogateescape, so
nothing is lost) only when an application asks for a structured value.
"""

from __future__ import annotations

import re
from functools import lru_cache

from trunkline.sip.errors import ParseError

# RFC 3261 §7.3.3 and the compact forms registered since (RFC 3265, 3515, 3892, 3841, 4028, 4474).
COMPACT_FORMS: dict[str, str] = {
    "a": "accept-contact",
    "b": "referred-by",
    "c": "content-type",
    "d": "request-disposition",
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "n": "identity-info",
    "o": "event",
    "r": "refer-to",
    "s": "subject",
    "t": "to",
    "u": "allow-events",
    "v": "via",
    "x": "session-expires",
    "y": "identity",
}

# How we write a header name we build ourselves; received names are written back as received.
_PRETTY: dict[str, str] = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
    "p-asserted-identity": "P-Asserted-Identity",
    "p-preferred-identity": "P-Preferred-Identity",
}

# Headers whose value is a comma-separated list (RFC 3261 §7.3.1); others are never split.
LIST_HEADERS: frozenset[str] = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "path",
        "service-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
        "content-encoding",
        "content-language",
        "in-reply-to",
        "alert-info",
        "call-info",
        "error-info",
        "reason",
        "warning",
        "p-asserted-identity",
        "p-preferred-identity",
        "history-info",
        "accept-contact",
        "reject-contact",
        "request-disposition",
        "security-client",
        "security-server",
        "security-verify",
    }
)

# Headers that may appear only once (RFC 3261 §20 / RFC 4475 §3.3.8).
SINGLE_HEADERS: frozenset[str] = frozenset(
    {"call-id", "from", "to", "cseq", "max-forwards", "content-length", "content-type"}
)

_TOKEN_CHARS = "A-Za-z0-9\\-.!%*_+`'~"
TOKEN_RE = re.compile(rb"[" + _TOKEN_CHARS.encode() + rb"]+\Z")
TOKEN_STR_RE = re.compile("[" + _TOKEN_CHARS + "]+\\Z")
_NAME_CACHE: dict[bytes, str] = {}


def canonical_name(raw: bytes) -> str:
    """Lower-case long form of a header name as read from the wire (``b"v "`` -> ``"via"``)."""
    name = _NAME_CACHE.get(raw)
    if name is not None:
        return name
    stripped = raw.strip(b" \t")
    if not TOKEN_RE.match(stripped):
        raise ParseError(f"invalid header name {raw[:40]!r}")
    text = stripped.decode("ascii").lower()
    name = COMPACT_FORMS.get(text, text)
    if len(_NAME_CACHE) < 4096:  # bounded: hostile traffic can invent names forever
        _NAME_CACHE[raw] = name
    return name


@lru_cache(maxsize=1024)
def normalize_name(name: str) -> str:
    """Lower-case long form of a header name given by the application."""
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low)


@lru_cache(maxsize=1024)
def pretty_name(name: str) -> str:
    """Conventional capitalisation for a header we write: ``"call-id"`` -> ``"Call-ID"``."""
    low = name.lower()
    pretty = _PRETTY.get(low)
    if pretty is not None:
        return pretty
    return "-".join(part[:1].upper() + part[1:] for part in low.split("-"))


def decode(value: bytes) -> str:
    """Lossless bytes -> str (invalid UTF-8 is kept as surrogates and re-encodes identically)."""
    return value.decode("utf-8", "surrogateescape")


def encode(value: str) -> bytes:
    """Inverse of :func:`decode`."""
    return value.encode("utf-8", "surrogateescape")


def split_list(value: str) -> list[str]:
    """Split a list-header value on commas outside quoted strings and angle brackets.

    Empty elements (``a,,b``) are kept as empty strings so callers can reject them.
    """
    if "," not in value:
        return [value.strip()]
    items: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quotes:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quotes = False
        elif ch == '"':
            in_quotes = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == "," and not in_angle:
            items.append(value[start:i].strip())
            start = i + 1
        i += 1
    if in_quotes:
        raise ParseError("unterminated quoted string")
    items.append(value[start:].strip())
    return items


def parse_quoted(value: str, start: int) -> tuple[str, int]:
    """Read the quoted-string starting at ``value[start] == '"'``.

    Returns the raw text between the quotes (quoted-pairs kept escaped, so it re-serializes
    unchanged) and the index just after the closing quote.
    """
    i = start + 1
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            i += 2
            continue
        if ch == '"':
            return value[start + 1 : i], i + 1
        i += 1
    raise ParseError("unterminated quoted string")


def unquote(text: str) -> str:
    """Resolve quoted-pairs of a quoted-string's inner text (``\\"`` -> ``"``)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def quote(text: str) -> str:
    """Make a quoted-string of arbitrary text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PARAM_VALUE_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:\[\]/&$]+\Z")


_SIMPLE_PARAMS_RE = re.compile(
    r"(?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]/&$]+)?)+\Z"
)


def parse_params(text: str, *, allow_bare_empty: bool = False) -> dict[str, str | None]:
    """Parse ``;name[=value]`` generic parameters (RFC 3261 ``generic-param``), LWS allowed.

    ``text`` starts at the first ``;`` (or is empty). Names are lower-cased; values keep their
    case, quoted values keep their quotes so that re-serialization is exact. An empty parameter
    (``;;``) is a syntax error (RFC 4475 §3.1.2.1), and so is a repeated name: a dict cannot
    keep both, and readers that take the first (``Message.from_tag``) and the last would
    disagree about e.g. the dialog's tag.
    """
    params: dict[str, str | None] = {}
    if _SIMPLE_PARAMS_RE.match(text):  # fast path: no LWS, no quotes
        items = text[1:].split(";")
        for item in items:
            name, eq, value = item.partition("=")
            params[name.lower()] = value if eq else None
        if len(params) != len(items):
            raise ParseError("repeated parameter")
        return params
    if not text.strip():
        return params
    i = 0
    n = len(text)
    while i < n:
        # skip LWS, expect ';'
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] != ";":
            raise ParseError(f"unexpected {text[i]!r} in parameters")
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        j = i
        while j < n and text[j] not in "=; \t":
            j += 1
        name = text[i:j]
        if not name:
            if allow_bare_empty and j >= n:
                break
            raise ParseError("empty parameter")
        if not TOKEN_STR_RE.match(name):
            raise ParseError(f"invalid parameter name {name[:40]!r}")
        if name.lower() in params:
            raise ParseError(f"repeated parameter {name[:40]!r}")
        i = j
        while i < n and text[i] in " \t":
            i += 1
        pvalue: str | None = None
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                inner, i = parse_quoted(text, i)
                pvalue = '"' + inner + '"'
            else:
                j = i
                while j < n and text[j] not in "; \t":
                    j += 1
                pvalue = text[i:j]
                if not pvalue or not _PARAM_VALUE_RE.match(pvalue):
                    raise ParseError(f"invalid value for parameter {name[:40]!r}")
                i = j
        params[name.lower()] = pvalue
    return params


def format_params(params: dict[str, str | None]) -> str:
    """Inverse of :func:`parse_params`."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())
