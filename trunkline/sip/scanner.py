"""Byte-level scanning of clean header sections: the compiled parser's fast path.

mypyc compiles these loops to C (``scripts/compile-core``). Offsets are ``i64``
(mypy_extensions), so a byte read compiles to a bounds check and a load, without the checks a
tagged ``int`` costs: about a nanosecond a byte. Interpreted, the same loops are several times
slower than the C-level ``bytes.split`` pipeline in :mod:`trunkline.sip.parser`, which is why
the message layer only calls them when it is compiled (``COMPILED``).

A scanner never decides that input is invalid: it returns None for anything outside the plain
shape it knows (folded lines, a bare CR or LF, control characters, an unknown header spelling, a
header said twice that may stand once...) and the general parser then handles the message,
answers included. So whatever a scanner returns must equal what the general parser builds for
the same bytes; tests/unit/test_scanner.py checks that on every conformance message and on
random ones.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import canonical_name

COMPILED: Final = not __file__.endswith(".py")

_SP: Final = 32
_HT: Final = 9
_CR: Final = 13
_LF: Final = 10
_COLON: Final = 58


# The headers every message needs at once (RFC 3261 §8.1.1): scan_head hands their values over
# so that nobody walks the fields again. All but Via may stand once only (RFC 4475 §3.3.8);
# Content-Type is tracked for that rule alone.
VIA: Final = 0
FROM: Final = 1
TO: Final = 2
CALL_ID: Final = 3
CSEQ: Final = 4
MAX_FORWARDS: Final = 5
CONTENT_LENGTH: Final = 6
CONTENT_TYPE: Final = 7
HOT_SLOTS: Final[dict[str, int]] = {
    "via": VIA,
    "from": FROM,
    "to": TO,
    "call-id": CALL_ID,
    "cseq": CSEQ,
    "max-forwards": MAX_FORWARDS,
    "content-length": CONTENT_LENGTH,
    "content-type": CONTENT_TYPE,
}


class Head:
    """What :func:`scan_head` read: the start line, every header field (canonical name, value
    stripped of SP/HT, raw line), where the body starts, and the values of the hot headers
    (the top Via line; None for a header that is absent)."""

    __slots__ = (
        "body_start",
        "call_id",
        "content_length",
        "cseq",
        "fields",
        "from_",
        "line",
        "max_forwards",
        "to",
        "via",
    )

    def __init__(self, line: bytes) -> None:
        self.line = line
        self.fields: list[tuple[str, bytes, bytes | None]] = []
        self.body_start: i64 = 0
        self.via: bytes | None = None
        self.from_: bytes | None = None
        self.to: bytes | None = None
        self.call_id: bytes | None = None
        self.cseq: bytes | None = None
        self.max_forwards: bytes | None = None
        self.content_length: bytes | None = None

    def keep(self, slot: i64, value: bytes) -> None:
        if slot == VIA:
            self.via = value
        elif slot == FROM:
            self.from_ = value
        elif slot == TO:
            self.to = value
        elif slot == CALL_ID:
            self.call_id = value
        elif slot == CSEQ:
            self.cseq = value
        elif slot == MAX_FORWARDS:
            self.max_forwards = value
        elif slot == CONTENT_LENGTH:
            self.content_length = value


_BUCKETS: Final = 128  # a power of two; the usual names spread over it with few collisions


def _fold_hash(h: i64, ch: i64) -> i64:
    """One step of the case-folded hash of a header name (``ch | 32`` folds ASCII letters)."""
    return (h * 33 + (ch | 32)) & 0xFFFFFF


class NameTable:
    """Header names the scanner recognises without slicing or hashing them as bytes: each
    name's case-folded spelling, by a hash computed while the scanner looks for the colon.

    Folding with ``| 32`` is exact here: header names hold no control characters or SP
    (scan_head leaves those to the general parser), and among the other bytes only letters fold
    onto letters, digits and ``-``.
    """

    __slots__ = ("_first", "_next", "folded", "names", "slots")

    def __init__(self, spellings: dict[str, str]) -> None:
        """``spellings`` maps each name as written, in any case (``"v"``, ``"via"``), to its
        canonical name (``"via"``)."""
        self.folded: list[bytes] = []  # entry -> folded spelling
        self.names: list[str] = []  # entry -> canonical name
        self.slots: list[i64] = []  # entry -> HOT_SLOTS slot or -1
        self._next: list[i64] = []  # entry -> next entry in its bucket, or -1
        self._first: list[i64] = [-1] * _BUCKETS  # bucket -> first entry, or -1
        for spelled, name in spellings.items():
            folded = spelled.lower().encode("ascii")
            if folded in self.folded:
                continue
            h: i64 = 0
            for ch in folded:
                h = _fold_hash(h, ch)
            bucket = h & (_BUCKETS - 1)
            self._next.append(self._first[bucket])
            self._first[bucket] = len(self.folded)
            self.folded.append(folded)
            self.names.append(name)
            self.slots.append(HOT_SLOTS.get(name, -1))

    def find(self, data: bytes, start: i64, end: i64, h: i64) -> i64:
        """The entry of ``data[start:end]``, whose fold hash is ``h``; -1 when unknown."""
        size: i64 = end - start
        entry = self._first[h & (_BUCKETS - 1)]
        while entry >= 0:
            folded = self.folded[entry]
            if len(folded) == size:
                k: i64 = 0
                while k < size and (data[start + k] | 32) == folded[k]:
                    k += 1
                if k == size:
                    return entry
            entry = self._next[entry]
        return -1


def scan_head(data: bytes, names: NameTable) -> Head | None:
    """The header section of a message whose lines all end in CRLF and whose header section
    ends in an empty line; None when unusual, or when a header that may stand once repeats.

    ``names`` holds the usual header names; others go through the bounded cache of
    :func:`~trunkline.sip.headers.canonical_name`.
    """
    end: i64 = len(data)
    eol: i64 = 0
    while eol < end:  # the start line: printable ASCII and SP only, else unusual
        ch: i64 = data[eol]
        if ch < _SP or ch >= 127:
            break
        eol += 1
    if eol == 0 or eol + 1 >= end or data[eol] != _CR or data[eol + 1] != _LF:
        return None
    head = Head(data[:eol])
    fields = head.fields
    seen: i64 = 0  # one bit per hot slot
    i: i64 = eol + 2
    while True:
        if i + 1 >= end:
            return None  # no empty line: the general parser's liberal rules apply
        if data[i] == _CR and data[i + 1] == _LF:
            head.body_start = i + 2
            return head
        colon: i64 = i
        h: i64 = 0
        while colon < end:
            ch = data[colon]
            if ch == _COLON:
                break
            if ch <= _SP or ch >= 127:  # a fold, LWS before the colon, a control: unusual
                return None
            h = _fold_hash(h, ch)
            colon += 1
        if colon == i or colon >= end:
            return None
        entry = names.find(data, i, colon, h)
        if entry >= 0:
            name = names.names[entry]
            slot: i64 = names.slots[entry]
        else:
            try:
                name = canonical_name(data[i:colon])  # cached: bounded, see headers.py
            except ParseError:
                return None
            slot = HOT_SLOTS.get(name, -1)
        first: i64 = colon + 1
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
        last: i64 = eol
        while last > first and (data[last - 1] == _SP or data[last - 1] == _HT):
            last -= 1
        value = data[first:last]
        fields.append((name, value, data[i:eol]))
        if slot >= 0:
            bit: i64 = 1 << slot
            if seen & bit == 0:
                seen |= bit
                head.keep(slot, value)
            elif slot != VIA:
                return None  # said twice: the general parser decides (400, or one length)
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


def scan_request_line(line: bytes) -> tuple[str, bytes] | None:
    """``<method token> SP <URI> SP SIP/2.0`` of a start line that scan_head took (printable
    ASCII and SP): (method, URI)."""
    n: i64 = len(line)
    i: i64 = 0
    while i < n and CHARS[line[i]] & _TOKEN:
        i += 1
    if i == 0 or i >= n or line[i] != _SP:
        return None
    j: i64 = i + 1
    while j < n and line[j] != _SP:
        j += 1
    if j == i + 1 or j + 8 != n or line[j + 1 :] != b"SIP/2.0":
        return None
    return line[:i].decode("ascii"), line[i + 1 : j]


def scan_status_line(line: bytes) -> tuple[int, str] | None:
    """``SIP/2.0 SP <100-699> [SP <reason>]`` of a start line that scan_head took: (status,
    reason)."""
    n: i64 = len(line)
    if n < 11 or not line.startswith(b"SIP/2.0 "):
        return None
    code: i64 = 0
    for k in range(8, 11):
        digit: i64 = line[k] - 48
        if digit < 0 or digit > 9:
            return None
        code = code * 10 + digit
    if code < 100 or code > 699:
        return None
    if n == 11:
        return code, ""
    if line[11] != _SP:
        return None
    return code, line[12:].decode("ascii")


def scan_digits(value: bytes) -> i64:
    """The number written by 1 to 10 ASCII digits; -1 for anything else."""
    n: i64 = len(value)
    if n == 0 or n > 10:
        return -1
    number: i64 = 0
    for i in range(n):
        digit: i64 = value[i] - 48
        if digit < 0 or digit > 9:
            return -1
        number = number * 10 + digit
    return number


def scan_tag(value: bytes) -> str | None:
    """The tag of a From/To value: the first ``;tag=`` (any case, LWS around ``=``) with a
    non-empty value, after the ``>`` when there is one."""
    n: i64 = len(value)
    i: i64 = value.rfind(b">") + 1
    while i < n:
        if value[i] != 59:  # ;
            i += 1
            continue
        i += 1
        j: i64 = _skip_lws(value, i, n)
        if (
            j + 3 <= n
            and value[j] | 32 == 116  # t
            and value[j + 1] | 32 == 97  # a
            and value[j + 2] | 32 == 103  # g
        ):
            k: i64 = _skip_lws(value, j + 3, n)
            if k < n and value[k] == 61:  # =
                k = _skip_lws(value, k + 1, n)
                e: i64 = k
                while e < n:
                    ch: i64 = value[e]
                    if ch in (_SP, _HT, 59, 44):  # SP HT ; ,
                        break
                    e += 1
                if e > k:
                    return value[k:e].decode("utf-8", "surrogateescape")
    return None


def _skip_lws(value: bytes, i: i64, n: i64) -> i64:
    while i < n and (value[i] == _SP or value[i] == _HT):
        i += 1
    return i


def _scan_hostport(value: bytes, i: i64, n: i64) -> tuple[str, i64, i64] | None:
    """``hostname-or-IPv4[:port]`` from ``value[i]``: (host, port or -1, where it ends)."""
    start: i64 = i
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
    digits: i64 = i
    while i < n and 48 <= value[i] <= 57 and i - digits < 6:
        i += 1
    if i == digits or i - digits > 5:
        return None
    port: i64 = 0
    for k in range(digits, i):
        port = port * 10 + value[k] - 48
    if port > 65535:
        return None
    return host, port, i


def _scan_params(
    value: bytes, i: i64, n: i64, name_chars: i64, value_chars: i64
) -> tuple[dict[str, str | None], i64] | None:
    """``*(;name[=value])`` from ``value[i]``, names and values of the given character classes:
    (parameters with lower-case names, where they end); None for an empty or repeated name."""
    params: dict[str, str | None] = {}
    while i < n and value[i] == 59:  # ;
        start: i64 = i + 1
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
            vstart: i64 = i
            while i < n and CHARS[value[i]] & value_chars:
                i += 1
            if i == vstart:
                return None
            params[name] = value[vstart:i].decode("ascii")
        else:
            params[name] = None
    return params, i


def scan_via(value: bytes) -> tuple[str, str, i64, dict[str, str | None], i64] | None:
    """The first via-parm of a Via value in plain form ``SIP/2.0/<letters> <host>[:<port>]``
    and plain parameters: (transport, host, port or -1, parameters, end offset)."""
    n: i64 = len(value)
    if not value.startswith(b"SIP/2.0/"):
        return None
    i: i64 = 8
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
    n: i64 = len(value)
    i: i64 = 0
    number: i64 = 0
    while i < n and 48 <= value[i] <= 57:
        number = number * 10 + value[i] - 48
        i += 1
        if number > 0xFFFFFFFF:
            return None
    if i == 0 or i >= n or value[i] != _SP:
        return None
    i += 1
    start: i64 = i
    while i < n and CHARS[value[i]] & _TOKEN:
        i += 1
    if i == start or i != n:
        return None
    return number, value[start:].decode("ascii")


def scan_call_id(value: bytes) -> str | None:
    """A Call-ID of printable ASCII without SP: as text."""
    n: i64 = len(value)
    if n == 0:
        return None
    for i in range(n):
        ch: i64 = value[i]
        if ch <= _SP or ch >= 127:
            return None
    return value.decode("ascii")


def scan_sip_uri(
    uri: bytes,
) -> tuple[str, str | None, str, i64, dict[str, str | None]] | None:
    """A SIP or SIPS URI in plain form ``sip:[user@]host[:port]*(;param[=value])`` (no
    escapes, password, IPv6 reference or headers): (scheme, user, host, port or -1, params)."""
    n: i64 = len(uri)
    i: i64 = 0
    if uri.startswith(b"sip:"):
        scheme = "sip"
        i = 4
    elif uri.startswith(b"sips:"):
        scheme = "sips"
        i = 5
    else:
        return None
    user: str | None = None
    j: i64 = i
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


def scan_name_addrs(value: bytes, many: bool) -> bool:
    """True when ``value`` is, in plain form, a name-addr or addr-spec with header parameters
    (``many``: a comma-separated list of them) that the general grammar accepts:
    ``[display] <plain SIP URI> *(;token[=token])``, the display a quoted string of printable
    ASCII without escapes or tokens and LWS; or a plain SIP URI without parameters of its own
    followed by ``*(;token[=token])``. False means "ask the general grammar", not "invalid"."""
    n: i64 = len(value)
    i: i64 = 0
    while True:
        i = _scan_name_addr(value, i, n)
        if i < 0:
            return False
        i = _skip_lws(value, i, n)
        if i == n:
            return True
        if not many or value[i] != 44:  # ,
            return False
        i = _skip_lws(value, i + 1, n)


def _scan_name_addr(value: bytes, i: i64, n: i64) -> i64:
    """One element from ``value[i]``: where it ends, or -1 when not plain."""
    start: i64 = i
    if i < n and value[i] == 34:  # a quoted display name
        i += 1
        while i < n and value[i] != 34:
            ch: i64 = value[i]
            if ch == 92 or (ch < _SP and ch != _HT) or ch >= 127:  # escapes, controls, UTF-8
                return -1
            i += 1
        if i >= n:
            return -1
        i = _skip_lws(value, i + 1, n)
    else:  # tokens and LWS, or no display name at all
        while i < n and (CHARS[value[i]] & _TOKEN or value[i] == _SP or value[i] == _HT):
            i += 1
    if i >= n or value[i] != 60:  # no <: an addr-spec, which takes no display name
        return _scan_addr_spec(value, start, n)
    gt: i64 = i + 1
    while gt < n and value[gt] != 62:  # >
        gt += 1
    if gt >= n or scan_sip_uri(value[i + 1 : gt]) is None:
        return -1
    return _scan_header_params(value, gt + 1, n)


def _scan_addr_spec(value: bytes, i: i64, n: i64) -> i64:
    """A SIP URI without < >: its parameters would be the header's (RFC 3261 §20.10)."""
    end: i64 = i
    while end < n and value[end] != 59 and value[end] != 44:  # ; ,
        end += 1
    if scan_sip_uri(value[i:end]) is None:  # also refuses LWS, quotes, brackets
        return -1
    return _scan_header_params(value, end, n)


def _scan_header_params(value: bytes, i: i64, n: i64) -> i64:
    """``*(;token[=token])`` from ``value[i]`` with no name said twice (the general grammar
    refuses that and says why): where it ends, or -1."""
    scanned = _scan_params(value, i, n, _TOKEN, _TOKEN)
    return -1 if scanned is None else scanned[1]
