"""Readers of the header values every message needs at once (RFC 3261 §18.3, §20).

Top Via, CSeq, Call-ID, Max-Forwards, Content-Length and the From/To tags, from the raw
(unfolded, stripped) header value. Compiled, each first tries the byte scanner's plain form
(:mod:`trunkline.sip.scanner`); anything else, and every error, comes from the general grammar
in :mod:`trunkline.sip.address`.
"""

from __future__ import annotations

import re

from trunkline.sip.address import CSeq, Via, parse_cseq, parse_via, via_from_parts
from trunkline.sip.errors import ParseError
from trunkline.sip.headers import decode, encode, split_list
from trunkline.sip.scanner import (
    COMPILED,
    scan_call_id,
    scan_cseq,
    scan_digits,
    scan_tag,
    scan_via,
)

_TAG_RE = re.compile(rb";[ \t]*tag[ \t]*=[ \t]*([^ \t;,]+)", re.IGNORECASE)


def top_via_of(value: bytes) -> Via:
    """The first via-parm of a Via header value."""
    if COMPILED:
        plain = scan_via(value)
        if plain is not None:
            transport, host, port, params, end = plain
            return via_from_parts(transport, host, port, params, decode(value[:end]))
    return parse_via(decode(first_item(value)))


def cseq_of(value: bytes) -> CSeq:
    if COMPILED:
        plain = scan_cseq(value)
        if plain is not None:
            return CSeq(plain[0], plain[1])
    return parse_cseq(decode(value))


def call_id_of(value: bytes) -> str:
    if COMPILED:
        plain = scan_call_id(value)
        if plain is not None:
            return plain
    return check_call_id(value)


def check_call_id(value: bytes) -> str:
    """A Call-ID value as text; ParseError when empty or holding whitespace."""
    if not value or b" " in value or b"\t" in value:
        raise ParseError("bad Call-ID")
    return decode(value)


def tag_of(value: bytes | None) -> str | None:
    """The tag parameter of a From/To value: header parameters follow the '>' if there is one."""
    if value is None:
        return None
    if COMPILED:
        return scan_tag(value)
    return regex_tag(value)


def regex_tag(value: bytes) -> str | None:
    """:func:`tag_of` by regex, the faster form when not compiled."""
    gt = value.rfind(b">")
    m = _TAG_RE.search(value, gt + 1 if gt >= 0 else 0)
    return None if m is None else m.group(1).decode("utf-8", "surrogateescape")


def first_item(value: bytes) -> bytes:
    """First element of a list value; the fast path has no quotes before the first comma."""
    comma = value.find(b",")
    if comma < 0 or b'"' in value[:comma]:
        return value if comma < 0 else encode(split_list(decode(value))[0])
    return value[:comma].rstrip(b" \t")


def content_length_of(value: bytes) -> int:
    if COMPILED:
        number = scan_digits(value)
        if number >= 0:
            return number
    if not value.isdigit() or len(value) > 10:
        raise ParseError("bad Content-Length")  # RFC 4475 §3.1.2.3: negative, or not a number
    return int(value)


def max_forwards_of(value: bytes) -> int:
    if COMPILED:
        number = scan_digits(value)
        if 0 <= number <= 255:
            return number
    if not value.isdigit() or len(value) > 10 or int(value) > 255:
        raise ParseError("bad Max-Forwards")
    return int(value)
