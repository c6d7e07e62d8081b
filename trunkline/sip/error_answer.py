"""The answer to a request that did not parse: built from whatever of it could be read
(RFC 3261 §8.2.6, RFC 4475), so even a broken request gets its 400/505/416, and the answer is
itself a message any parser accepts."""

from __future__ import annotations

import re
from collections.abc import Callable

from trunkline.sip.address import parse_cseq, parse_name_addr, parse_via
from trunkline.sip.errors import ParseError
from trunkline.sip.headers import decode, encode, split_list
from trunkline.sip.hot_headers import check_call_id


def error_response(err: ParseError, to_tag: str | None = None) -> bytes | None:
    """The wire answer to a request that failed to parse, or None when none can be sent.

    Only requests are answered (never ACK), and only when a top Via can be read: a response is
    routed by it (RFC 3261 §18.2.2) and matched by its branch and the CSeq method (§17.1.3).
    The answer is itself well-formed (RFC 3261 §8.2.6.2 copies Via, From, To, Call-ID, CSeq):
    unreadable Via values are cut down to their sent-by or dropped (never the top one), the
    first of repeated single-valued headers is kept, and a From/To/Call-ID/CSeq that is missing
    or unreadable is replaced by a neutral value (anonymous.invalid, RFC 3261 §8.1.1.3), so the
    client can still match the answer to its transaction and no parser chokes on it.
    """
    if not err.is_request or err.method == "ACK":
        return None
    vias = _answer_vias([v for n, v in err.headers if n == "via"])
    if not vias:
        return None
    first: dict[str, bytes] = {}
    for name, value in err.headers:
        first.setdefault(name, value)
    lines = [f"SIP/2.0 {err.status} {err.reason}".encode()]
    lines += [b"Via: " + v for v in vias]
    lines.append(b"From: " + _answer_addr(first.get("from"), None))
    lines.append(b"To: " + _answer_addr(first.get("to"), to_tag))
    call_id = first.get("call-id")
    if call_id is None or not _readable(check_call_id, call_id):
        call_id = b"invalid"
    lines.append(b"Call-ID: " + call_id)
    cseq = first.get("cseq")
    if cseq is None or not _readable(lambda v: parse_cseq(decode(v)), cseq):
        cseq = b"0 " + (err.method or "INVALID").encode()
    lines.append(b"CSeq: " + cseq)
    lines.append(b'Warning: 399 trunkline "' + _safe_warning(err.detail) + b'"')
    lines.append(b"Content-Length: 0")
    lines.append(b"")
    lines.append(b"")
    return b"\r\n".join(lines)


_ANONYMOUS = b"<sip:anonymous@anonymous.invalid>"
_VIA_PROTOCOL_RE = re.compile(r"[ \t]*[^/ \t]+[ \t]*/[ \t]*[^/ \t]+[ \t]*/")


def _readable(check: Callable[[bytes], object], value: bytes | None) -> bool:
    if value is None or b"\n" in value or b"\r" in value:
        return False
    try:
        check(value)
    except (ParseError, ValueError):
        return False
    return True


def _answer_vias(values: list[bytes]) -> list[bytes]:
    """Via values for an error answer: each readable one, or its ``SIP/2.0/T sent-by`` part."""
    out: list[bytes] = []
    for line in values:
        try:
            items = split_list(decode(line))
        except ParseError:
            items = [decode(line).split(",", 1)[0]]
        for item in items:
            # Last resort for a request of another SIP version (505): its Via names that
            # version, which a SIP/2.0 answer cannot carry; the branch still matches it.
            other_version = _VIA_PROTOCOL_RE.sub("SIP/2.0/", item, count=1)
            for candidate in (item, item.split(";", 1)[0], other_version):
                try:
                    out.append(encode(str(parse_via(candidate))))
                    break
                except ParseError:
                    continue
            else:
                if not out:
                    return []  # the top Via is unreadable: nowhere to send an answer
    return out


def _answer_addr(value: bytes | None, to_tag: str | None) -> bytes:
    try:
        ok = value is not None and b"\n" not in value and b"\r" not in value
        addr = parse_name_addr(decode(value)) if ok and value is not None else None
    except ParseError:
        addr = None
    if addr is None:
        text = _ANONYMOUS
    else:
        text = encode(str(addr))
        if addr.tag is not None:
            return text
    return text + b";tag=" + to_tag.encode() if to_tag is not None else text


def _safe_warning(detail: str) -> bytes:
    text = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "?" for ch in detail)
    return text[:120].encode()
