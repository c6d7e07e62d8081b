"""Byte-level scanning of clean header sections: the compiled parser's fast path.

mypyc compiles these loops to C (``scripts/compile-core``), where reading a byte costs about a
nanosecond; interpreted, the same loops are several times slower than the C-level
``bytes.split`` pipeline in :mod:`trunkline.sip.message`, which is why the message layer only
calls them when it is compiled (``COMPILED``).

A scanner never decides that input is invalid: it returns None for anything outside the plain
shape it knows (folded lines, a bare CR or LF, control characters, an unknown header spelling...)
and the general parser then handles the message, answers included. So whatever a scanner
returns must equal what the general parser builds for the same bytes; tests/unit/test_scanner.py
checks that on every conformance message and on random ones.
"""

from __future__ import annotations

from typing import Final

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import canonical_name

COMPILED: Final = not __file__.endswith(".py")

_SP: Final = 32
_HT: Final = 9
_CR: Final = 13
_LF: Final = 10
_COLON: Final = 58


def scan_head(
    data: bytes, names: dict[bytes, str]
) -> tuple[bytes, list[tuple[str, bytes, bytes | None]], int] | None:
    """(start line, header fields, offset of the body) of a message whose lines all end in
    CRLF and whose header section ends in an empty line; None when unusual.

    Each field is (canonical name, value stripped of SP/HT, raw line). ``names`` maps the
    usual spellings to canonical names; others go through the bounded cache of
    :func:`~trunkline.sip.headers.canonical_name`.
    """
    end = len(data)
    eol = 0
    while eol < end:  # the start line: printable ASCII and SP only, else unusual
        ch = data[eol]
        if ch < _SP or ch >= 127:
            break
        eol += 1
    if eol == 0 or eol + 1 >= end or data[eol] != _CR or data[eol + 1] != _LF:
        return None
    line = data[:eol]
    fields: list[tuple[str, bytes, bytes | None]] = []
    i = eol + 2
    while True:
        if i + 1 >= end:
            return None  # no empty line: the general parser's liberal rules apply
        if data[i] == _CR and data[i + 1] == _LF:
            return line, fields, i + 2
        colon = i
        while colon < end:
            ch = data[colon]
            if ch == _COLON:
                break
            if ch <= _SP or ch >= 127:  # a fold, LWS before the colon, a control: unusual
                return None
            colon += 1
        if colon == i or colon >= end:
            return None
        raw_name = data[i:colon]
        name = names.get(raw_name)
        if name is None:
            try:
                name = canonical_name(raw_name)  # cached: bounded, see headers.py
            except ParseError:
                return None
        first = colon + 1
        while first < end and (data[first] == _SP or data[first] == _HT):
            first += 1
        eol = first
        while eol < end:
            ch = data[eol]
            if ch < _SP and ch != _HT:
                break
            eol += 1
        if eol + 1 >= end or data[eol] != _CR or data[eol + 1] != _LF:
            return None  # a bare CR or LF, a control character, or no end of line
        last = eol
        while last > first and (data[last - 1] == _SP or data[last - 1] == _HT):
            last -= 1
        fields.append((name, data[first:last], data[i:eol]))
        i = eol + 2


# Character classes of the plain shapes, one bit each, indexed by byte value.
_TOKEN: Final = 1  # RFC 3261 token: alphanum and -.!%*_+`'~
_HOST: Final = 2  # hostname or IPv4 address: alphanum, -, ., _
_PARAM_VALUE: Final = 4  # token plus : [ ] / & $ (Via and URI parameter values, plain)
_USER: Final = 8  # URI user part, unreserved and user-unreserved without escapes
_URI_PARAM: Final = 16  # URI parameter name or value: unreserved and param-unreserved


def _char_table() -> bytes:
    table = bytearray(256)
    alnum = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for chars, bit in (
        (alnum + b"-.!%*_+`'~", _TOKEN),
        (alnum + b"-._", _HOST),
        (alnum + b"-.!%*_+`'~:[]/&$", _PARAM_VALUE),
        (alnum + b"-_.!~*'()&=+$,", _USER),
        (alnum + b"-_.!~*'()[]/:&+$", _URI_PARAM),
    ):
        for ch in chars:
            table[ch] |= bit
    return bytes(table)


CHARS: Final = _char_table()


def scan_tag(value: bytes) -> str | None:
    """The tag of a From/To value: the first ``;tag=`` (any case, LWS around ``=``) with a
    non-empty value, after the ``>`` when there is one."""
    n = len(value)
    i = value.rfind(b">") + 1
    while i < n:
        if value[i] != 59:  # ;
            i += 1
            continue
        i += 1
        j = _skip_lws(value, i, n)
        if (
            j + 3 <= n
            and value[j] | 32 == 116  # t
            and value[j + 1] | 32 == 97  # a
            and value[j + 2] | 32 == 103  # g
        ):
            k = _skip_lws(value, j + 3, n)
            if k < n and value[k] == 61:  # =
                k = _skip_lws(value, k + 1, n)
                e = k
                while e < n:
                    ch = value[e]
                    if ch in (_SP, _HT, 59, 44):  # SP HT ; ,
                        break
                    e += 1
                if e > k:
                    return value[k:e].decode("utf-8", "surrogateescape")
    return None


def _skip_lws(value: bytes, i: int, n: int) -> int:
    while i < n and (value[i] == _SP or value[i] == _HT):
        i += 1
    return i


def _scan_hostport(value: bytes, i: int, n: int) -> tuple[str, int, int] | None:
    """``hostname-or-IPv4[:port]`` from ``value[i]``: (host, port or -1, where it ends)."""
    start = i
    if i >= n or value[i] == 45 or value[i] == 46:  # a hostname starts with alnum or _
        return None
    while i < n and CHARS[value[i]] & _HOST:
        i += 1
    if i == start:
        return None
    host = value[start:i].decode("ascii")
    if i >= n or value[i] != _COLON:
        return host, -1, i
    i += 1
    digits = i
    while i < n and 48 <= value[i] <= 57 and i - digits < 6:
        i += 1
    if i == digits or i - digits > 5:
        return None
    port = int(value[digits:i])
    if port > 65535:
        return None
    return host, port, i


def _scan_params(
    value: bytes, i: int, n: int, name_chars: int, value_chars: int
) -> tuple[dict[str, str | None], int] | None:
    """``*(;name[=value])`` from ``value[i]``, names and values of the given character classes:
    (parameters with lower-case names, where they end); None for an empty or repeated name."""
    params: dict[str, str | None] = {}
    while i < n and value[i] == 59:  # ;
        start = i + 1
        i = start
        while i < n and CHARS[value[i]] & name_chars:
            i += 1
        if i == start:
            return None
        name = value[start:i].decode("ascii").lower()
        if name in params:
            return None
        if i < n and value[i] == 61:  # =
            i += 1
            vstart = i
            while i < n and CHARS[value[i]] & value_chars:
                i += 1
            if i == vstart:
                return None
            params[name] = value[vstart:i].decode("ascii")
        else:
            params[name] = None
    return params, i


def scan_via(value: bytes) -> tuple[str, str, int, dict[str, str | None], int] | None:
    """The first via-parm of a Via value in plain form ``SIP/2.0/<letters> <host>[:<port>]``
    and plain parameters: (transport, host, port or -1, parameters, end offset)."""
    n = len(value)
    if not value.startswith(b"SIP/2.0/"):
        return None
    i = 8
    while i < n and (65 <= value[i] <= 90 or 97 <= value[i] <= 122):
        i += 1
    if i == 8 or i >= n or value[i] != _SP:
        return None
    transport = value[8:i].decode("ascii")
    hostport = _scan_hostport(value, i + 1, n)
    if hostport is None:
        return None
    host, port, i = hostport
    scanned = _scan_params(value, i, n, _TOKEN, _PARAM_VALUE)
    if scanned is None or (scanned[1] < n and value[scanned[1]] != 44):  # , or the end
        return None
    return transport, host, port, scanned[0], scanned[1]


def scan_cseq(value: bytes) -> tuple[int, str] | None:
    """``<digits> SP <method token>`` (a value already stripped): (number, method)."""
    n = len(value)
    i = 0
    number = 0
    while i < n and 48 <= value[i] <= 57:
        number = number * 10 + value[i] - 48
        i += 1
        if number > 0xFFFFFFFF:
            return None
    if i == 0 or i >= n or value[i] != _SP:
        return None
    i += 1
    start = i
    while i < n and CHARS[value[i]] & _TOKEN:
        i += 1
    if i == start or i != n:
        return None
    return number, value[start:].decode("ascii")


def scan_call_id(value: bytes) -> str | None:
    """A Call-ID of printable ASCII without SP: as text."""
    n = len(value)
    if n == 0:
        return None
    for i in range(n):
        ch = value[i]
        if ch <= _SP or ch >= 127:
            return None
    return value.decode("ascii")


def scan_sip_uri(
    uri: bytes,
) -> tuple[str, str | None, str, int, dict[str, str | None]] | None:
    """A SIP or SIPS URI in plain form ``sip:[user@]host[:port]*(;param[=value])`` (no
    escapes, password, IPv6 reference or headers): (scheme, user, host, port or -1, params)."""
    n = len(uri)
    if uri.startswith(b"sip:"):
        scheme = "sip"
        i = 4
    elif uri.startswith(b"sips:"):
        scheme = "sips"
        i = 5
    else:
        return None
    user: str | None = None
    j = i
    while j < n and CHARS[uri[j]] & _USER:
        j += 1
    if j > i and j < n and uri[j] == 64:  # @
        user = uri[i:j].decode("ascii")
        i = j + 1
    hostport = _scan_hostport(uri, i, n)
    if hostport is None:
        return None
    host, port, i = hostport
    scanned = _scan_params(uri, i, n, _URI_PARAM, _URI_PARAM)
    if scanned is None or scanned[1] != n:
        return None
    return scheme, user, host, port, scanned[0]
