"""Bytes to SIP messages: ``parse_message`` (RFC 3261 §7, §18.3, §25).

Two paths that build the same message. Compiled, messages in plain form (CRLF lines, no
folding, the usual Via/URI/CSeq shapes) go through the byte scanners of
:mod:`trunkline.sip.scanner`; every other message, and every error, goes through the general
parser here, which reads folding, compact names, bare-LF senders and the liberal rules of
§7.5/§18.3, and words the answer a broken request gets (:class:`ParseError`).

Datagram semantics (§18.3): Content-Length may be absent (the body is the rest of the
datagram) and octets past it are ignored. Streams go through :mod:`trunkline.sip.stream`,
which frames by Content-Length first.
"""

from __future__ import annotations

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import (
    COMPACT_FORMS,
    SINGLE_HEADERS,
    TOKEN_RE,
    canonical_name,
    decode,
    pretty_name,
)
from trunkline.sip.hot_headers import (
    call_id_of,
    content_length_of,
    cseq_of,
    max_forwards_of,
    top_via_of,
)
from trunkline.sip.message import (
    ANSWERABLE,
    MAX_HEADERS,
    SUPPORTED_SCHEMES,
    Message,
    Request,
    Response,
    new_request,
    parse_error,
)
from trunkline.sip.scanner import (
    COMPILED,
    NameTable,
    scan_head,
    scan_request_line,
    scan_sip_uri,
    scan_status_line,
)
from trunkline.sip.uri import SipURI, parse_uri


def parse_message(data: bytes) -> Request | Response:
    """Parse one message from a datagram. Raises ParseError (and nothing else) when invalid."""
    try:
        return _parse(data)
    except ParseError:
        raise
    except Exception as exc:  # a bug must not become a crash on hostile input
        raise ParseError(f"unparseable message ({type(exc).__name__})") from exc


def _parse(data: bytes) -> Request | Response:
    if COMPILED:
        msg = _parse_clean(data)
        if msg is not None:
            return msg
    return _parse_general(data)


def _parse_general(data: bytes) -> Request | Response:
    start = 0
    n = len(data)
    while start < n and data[start] in (13, 10):  # RFC 3261 §7.5: ignore leading CRLFs
        start += 1
    end = data.find(b"\r\n\r\n", start)
    if end >= 0:
        head = data[start:end]
        rest = data[end + 4 :]
        sep = b"\r\n"
    else:
        head, rest, sep = _split_unusual(data, start)
    first_end = head.find(sep)
    first = head if first_end < 0 else head[:first_end]
    try:
        msg = _parse_start_line(first)
    except ParseError as exc:
        if exc.is_request and first_end >= 0:
            exc.headers = _answerable_headers(head[first_end + len(sep) :], sep)
        raise
    if first_end >= 0:
        _parse_fields(msg, head[first_end + len(sep) :], sep)
    _parse_essentials(msg)
    _frame_body(msg, rest)
    return msg


def _parse_clean(data: bytes) -> Request | Response | None:
    """The compiled fast path: the same result as the general parser, for messages in plain
    form (see :mod:`trunkline.sip.scanner`); None sends the message to the general parser,
    which also words every complaint about missing or repeated headers."""
    head = scan_head(data, _SCAN_NAMES)
    if head is None or len(head.fields) > MAX_HEADERS:
        return None
    via = head.via
    call_id = head.call_id
    cseq = head.cseq
    if via is None or call_id is None or cseq is None or head.from_ is None or head.to is None:
        return None
    try:
        msg = _parse_plain_start_line(head.line)
    except ParseError as exc:
        if exc.is_request:
            exc.headers = [(n, v) for n, v, _r in head.fields if n in ANSWERABLE]
        raise
    msg._fields = head.fields
    _read_essentials(msg, via, call_id, cseq, head.max_forwards, head.content_length)
    _frame_body(msg, data[head.body_start :])
    return msg


def _parse_plain_start_line(line: bytes) -> Request | Response:
    """A start line in the shape scan_head took (printable ASCII and SP)."""
    request = scan_request_line(line)
    if request is not None:
        return _request(request[0], request[1], line)
    status = scan_status_line(line)
    if status is not None:
        resp = Response(status[0], status[1])
        resp._start = line
        return resp
    return _parse_start_line(line)


def _frame_body(msg: Message, rest: bytes) -> None:
    """The body, framed by Content-Length (RFC 3261 §18.3: octets past it are ignored)."""
    length = msg.content_length
    if length is None:
        msg._body = rest
    elif length > len(rest):
        raise parse_error(msg, "Content-Length larger than the message")  # RFC 4475 §3.1.2.2
    else:
        msg._body = rest[:length]


def _answerable_headers(block: bytes, sep: bytes) -> list[tuple[str, bytes]]:
    """Via/From/To/Call-ID/CSeq of a request whose start line is bad, so it can be answered."""
    scratch = Request("UNKNOWN", "")
    try:
        _parse_fields(scratch, block, sep)
    except ParseError:
        return []
    return [(n, v) for n, v, _r in scratch._fields if n in ANSWERABLE]


def _split_unusual(data: bytes, start: int) -> tuple[bytes, bytes, bytes]:
    """Header/body split for messages without CRLFCRLF: bare-LF senders, or no blank line."""
    tail = data[start:]  # leading CR/LF were skipped (RFC 3261 §7.5)
    if b"\r" not in tail:
        end = tail.find(b"\n\n")
        if end >= 0:
            return tail[:end], tail[end + 2 :], b"\n"
        return tail.rstrip(b"\n"), b"", b"\n"
    # No blank line at all: a datagram's header section ends with the datagram (liberal).
    return tail.rstrip(b"\r\n"), b"", b"\r\n"


def _parse_start_line(line: bytes) -> Request | Response:
    if line.startswith(b"SIP/"):
        return _parse_status_line(line)
    parts = line.split(b" ")
    if len(parts) != 3:
        if line[:4].upper() == b"SIP/":
            return _parse_status_line(line)  # a lower-case version (RFC 3261 §7.1)
        # RFC 4475 §3.1.2.8-10: extra SP or LWS in the request line is rejected.
        token = parts[0] if parts and TOKEN_RE.match(parts[0]) else None
        raise ParseError(
            "malformed request line",
            is_request=token is not None,
            method=token.decode() if token else None,
        )
    method_b, uri_b, version = parts
    if not TOKEN_RE.match(method_b):
        if method_b[:4].upper() == b"SIP/":
            return _parse_status_line(line)  # a lower-case version (RFC 3261 §7.1)
        raise ParseError("invalid method", is_request=None)
    method = method_b.decode("ascii")
    # RFC 3261 §7.1: "The SIP-Version string is case-insensitive" (but we send upper case).
    if version != b"SIP/2.0" and version.upper() != b"SIP/2.0":
        if version.upper().startswith(b"SIP/"):
            raise ParseError(
                "unsupported SIP version",
                505,
                "Version Not Supported",
                is_request=True,
                method=method,
            )
        raise ParseError("malformed request line", is_request=True, method=method)
    return _request(method, uri_b, line)


def _request(method: str, uri_b: bytes, line: bytes) -> Request:
    """A request with its Request-URI read: 416 for a scheme Trunkline does not serve."""
    uri_text = decode(uri_b)
    if COMPILED:
        plain = scan_sip_uri(uri_b)
        if plain is not None:
            scheme, user, host, port, params = plain
            sip_uri = SipURI(
                host, user, None if port < 0 else port, params, None, scheme=scheme, _raw=uri_text
            )
            return new_request(method, uri_text, sip_uri, line)
    try:
        uri = parse_uri(uri_text)
    except ParseError as exc:
        colon = uri_text.find(":")
        scheme = uri_text[:colon].lower() if colon > 0 else ""
        if scheme and scheme not in SUPPORTED_SCHEMES and "<" not in scheme:
            raise ParseError(
                exc.detail, 416, "Unsupported URI Scheme", is_request=True, method=method
            ) from None
        raise ParseError(exc.detail, is_request=True, method=method) from None
    return new_request(method, uri_text, uri, line)


def _parse_status_line(line: bytes) -> Response:
    version, _, rest = line.partition(b" ")
    if version != b"SIP/2.0" and version.upper() != b"SIP/2.0":  # case-insensitive (§7.1)
        raise ParseError("unsupported SIP version", 505, "Version Not Supported", is_request=False)
    code, _, reason = rest.partition(b" ")
    if len(code) != 3 or not code.isdigit() or not (b"100" <= code <= b"699"):
        raise ParseError("bad status code", is_request=False)  # RFC 4475 §3.1.2.19: drop
    if any(c < 32 and c != 9 for c in reason) or 127 in reason:
        raise ParseError("control character in reason phrase", is_request=False)
    resp = Response(int(code), decode(reason))
    resp._start = line
    return resp


def _parse_fields(msg: Message, block: bytes, sep: bytes) -> None:
    fields = msg._fields
    lines = block.split(sep)
    bare_lf = False
    if sep == b"\r\n":
        # An LF not preceded by CR is no line end in SIP (RFC 3261 §7.3.1, §25.1), but the
        # many LF-tolerant parsers after us would read one as a line end: reject it rather than
        # forward a hidden header line (header injection through the SBC). One count, cheap;
        # raised after the general loop below has read the lines an answer needs.
        bare_lf = block.count(b"\n") != len(lines) - 1
        if not bare_lf and b"\r\n " not in block and b"\r\n\t" not in block:
            get = _NAMES.get
            try:  # fast path: nothing folded, one C-level pass per line
                fields[:] = [
                    ((get(n) if c else None) or _slow_name(n, c), v.strip(b" \t"), line)
                    for line in lines
                    for n, c, v in (line.partition(b":"),)
                ]
            except ParseError:
                fields.clear()  # the general loop below says exactly what is wrong
            else:
                if len(fields) > MAX_HEADERS:
                    raise parse_error(msg, "too many header fields")
                return
    for line in lines:
        if not line:
            raise parse_error(msg, "empty line inside the header section")
        first = line[0]
        if first == 32 or first == 9:  # folded continuation (RFC 3261 §7.3.1)
            if not fields:
                raise parse_error(msg, "continuation line before the first header")
            name, value, raw = fields[-1]
            cont = line.strip(b" \t")
            if value and cont:  # the fold is LWS: one SP; none at either end of the value
                cont = value + b" " + cont
            fields[-1] = (name, cont or value, (raw or b"") + sep + line)
            continue
        colon = line.find(b":")
        if colon <= 0:
            raise parse_error(msg, f"header line without a name and colon: {line[:40]!r}")
        known = _NAMES.get(line[:colon])
        if known is None:
            try:
                known = canonical_name(line[:colon])
            except ParseError as exc:
                raise parse_error(msg, exc.detail) from None
        fields.append((known, line[colon + 1 :].strip(b" \t"), line))
    if len(fields) > MAX_HEADERS:
        raise parse_error(msg, "too many header fields")
    if bare_lf:
        raise parse_error(msg, "bare LF in the header section")
    if sep != b"\r\n":  # keep what we write back in wire form
        msg._fields = [(n, v, None if r is None else r.replace(sep, b"\r\n")) for n, v, r in fields]


def _slow_name(name: bytes, colon: bytes) -> str:
    if not colon or not name:
        raise ParseError("header line without a name and colon")
    return canonical_name(name)


# The usual spellings, so the hot loop skips strip/lower/compact-form lookups.
_NAMES: dict[bytes, str] = {
    spelled.encode(): canonical
    for canonical in (
        "via",
        "from",
        "to",
        "call-id",
        "cseq",
        "max-forwards",
        "content-length",
        "content-type",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "user-agent",
        "server",
        "expires",
        "require",
        "proxy-require",
        "authorization",
        "proxy-authorization",
        "www-authenticate",
        "proxy-authenticate",
        "subject",
        "event",
    )
    for spelled in {canonical, pretty_name(canonical), canonical.upper()}
} | {k.encode(): v for k, v in COMPACT_FORMS.items()}
# The same names for the compiled scanner, which matches them in any case.
_SCAN_NAMES = NameTable({spelled.decode(): name for spelled, name in _NAMES.items()})


def _parse_essentials(msg: Message) -> None:
    seen: dict[str, bytes] = {}
    top_via: bytes | None = None
    for name, value, _raw in msg._fields:
        if name in SINGLE_HEADERS:
            if name in seen and (name != "content-length" or seen[name] != value):
                # RFC 4475 §3.3.8/§3.3.9: one Content-Length said twice alike is harmless
                raise parse_error(msg, f"more than one {pretty_name(name)}")
            seen[name] = value
        elif name == "via" and top_via is None:
            top_via = value
    try:
        if top_via is None or "from" not in seen or "to" not in seen:
            raise KeyError
        call_id = seen["call-id"]
        cseq = seen["cseq"]
    except KeyError:
        # RFC 4475 §3.3.1: a message without these cannot be handled; answer 400. (Counting
        # `seen` is no shortcut: Max-Forwards and Content-Length land there too.)
        missing = [h for h in ("from", "to", "call-id", "cseq") if h not in seen]
        if top_via is None:
            missing.insert(0, "via")
        raise parse_error(msg, "missing " + ", ".join(pretty_name(h) for h in missing)) from None
    _read_essentials(
        msg, top_via, call_id, cseq, seen.get("max-forwards"), seen.get("content-length")
    )


def _read_essentials(
    msg: Message,
    top_via: bytes,
    call_id: bytes,
    cseq: bytes,
    max_forwards: bytes | None,
    content_length: bytes | None,
) -> None:
    """Parse the values of the headers the stack reads on every message, in this order."""
    try:
        if content_length is not None:
            msg.content_length = content_length_of(content_length)
        msg._top_via = top_via_of(top_via)
        msg._call_id = call_id_of(call_id)
        msg._cseq = cseq_of(cseq)
        if max_forwards is not None:
            msg._max_forwards = max_forwards_of(max_forwards)
    except ParseError as exc:
        raise parse_error(msg, exc.detail, exc.status, exc.reason) from None
