"""SIP requests and responses: lazy parse, exact write-back, in-place edits (RFC 3261 §7, §18.3).

``parse_message`` reads the start line and locates every header at once, and parses the ones the
stack needs on every message (top Via, From/To tags, Call-ID, CSeq, Max-Forwards,
Content-Length); everything else is parsed on first access. Untouched header lines are written
back byte for byte; editing a header re-serializes only that header.

``parse_message`` has datagram semantics (RFC 3261 §18.3): Content-Length may be absent (the
body is the rest of the datagram) and octets past it are ignored. Streams go through
:mod:`trunkline.sip.stream`, which frames by Content-Length first.
"""

from __future__ import annotations

from collections.abc import Iterator

from trunkline.sip.address import (
    CSeq,
    NameAddr,
    Via,
    check_name_addr,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from trunkline.sip.errors import ParseError
from trunkline.sip.headers import (
    COMPACT_FORMS,
    LIST_HEADERS,
    SINGLE_HEADERS,
    TOKEN_RE,
    canonical_name,
    decode,
    encode,
    normalize_name,
    pretty_name,
    split_list,
)
from trunkline.sip.hot_headers import (
    call_id_of,
    check_call_id,
    content_length_of,
    cseq_of,
    max_forwards_of,
    tag_of,
    top_via_of,
)
from trunkline.sip.reasons import reason_phrase
from trunkline.sip.scanner import (
    COMPILED,
    HOT_SLOTS,
    scan_head,
    scan_request_line,
    scan_sip_uri,
    scan_status_line,
)
from trunkline.sip.uri import URI, SipURI, parse_uri

MAX_HEADERS = 256
MAX_CSEQ = (1 << 31) - 1
_ANSWERABLE = ("via", "from", "to", "call-id", "cseq")
_SUPPORTED_SCHEMES = frozenset({"sip", "sips", "tel"})


class Message:
    """Common part of requests and responses: an ordered list of header fields and a body."""

    __slots__ = (
        "_addr_cache",
        "_body",
        "_call_id",
        "_cseq",
        "_fields",
        "_from",
        "_max_forwards",
        "_to",
        "_top_via",
        "_vias",
        "content_length",
    )

    # Each header line: (canonical name, unfolded value, raw line as received or None once edited).
    _fields: list[tuple[str, bytes, bytes | None]]

    def __init__(self) -> None:
        self._fields = []
        self._body = b""
        self._vias: list[Via] | None = None
        self._addr_cache: dict[str, list[NameAddr]] | None = None
        self._top_via: Via | None = None
        self._from: NameAddr | None = None
        self._to: NameAddr | None = None
        self._call_id: str | None = None
        self._cseq: CSeq | None = None
        self._max_forwards: int | None = None
        self.content_length: int | None = None

    # ---- raw header access -------------------------------------------------------------
    def header(self, name: str) -> bytes | None:
        """The first value of a header (unfolded, stripped), or None."""
        key = normalize_name(name)
        for fname, value, _raw in self._fields:
            if fname == key:
                return value
        return None

    def header_str(self, name: str) -> str | None:
        value = self.header(name)
        return None if value is None else decode(value)

    def header_values(self, name: str) -> list[str]:
        """Every value of a header in order; list headers are split on their commas."""
        key = normalize_name(name)
        out: list[str] = []
        for fname, value, _raw in self._fields:
            if fname == key:
                text = decode(value)
                if key in LIST_HEADERS:
                    out.extend(split_list(text))
                else:
                    out.append(text)
        return out

    def has_header(self, name: str) -> bool:
        key = normalize_name(name)
        return any(f[0] == key for f in self._fields)

    def header_names(self) -> list[str]:
        return [f[0] for f in self._fields]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        """(canonical name, value) for every header line, in order."""
        for name, value, _raw in self._fields:
            yield name, value

    def add_header(self, name: str, value: str | bytes, *, first: bool = False) -> None:
        """Append a header line (or insert it before every other line of that name)."""
        key = normalize_name(name)
        data = encode(value) if isinstance(value, str) else value
        field = (key, data, None)
        if first:
            for i, f in enumerate(self._fields):
                if f[0] == key:
                    self._fields.insert(i, field)
                    break
            else:
                self._fields.append(field)
        else:
            self._fields.append(field)
        self._invalidate(key)

    def set_header(self, name: str, value: str | bytes) -> None:
        """Replace every line of a header with one line (added at the end when absent)."""
        key = normalize_name(name)
        data = encode(value) if isinstance(value, str) else value
        for i, f in enumerate(self._fields):
            if f[0] == key:
                self._fields[i] = (key, data, None)
                self._fields[i + 1 :] = [g for g in self._fields[i + 1 :] if g[0] != key]
                break
        else:
            self._fields.append((key, data, None))
        self._invalidate(key)

    def remove_header(self, name: str) -> int:
        """Remove every line of a header; returns how many were removed."""
        key = normalize_name(name)
        before = len(self._fields)
        self._fields = [f for f in self._fields if f[0] != key]
        self._invalidate(key)
        return before - len(self._fields)

    def pop_first_value(self, name: str) -> str | None:
        """Remove and return the first value of a list header (top Via, first Route)."""
        key = normalize_name(name)
        for i, (fname, value, _raw) in enumerate(self._fields):
            if fname != key:
                continue
            items = split_list(decode(value))
            first = items[0]
            if len(items) == 1:
                del self._fields[i]
            else:
                self._fields[i] = (key, encode(", ".join(items[1:])), None)
            self._invalidate(key)
            return first
        return None

    def _invalidate(self, key: str) -> None:
        if self._addr_cache is not None:
            self._addr_cache.pop(key, None)
        if key == "via":
            self._vias = None
            self._top_via = None
        elif key == "from":
            self._from = None
        elif key == "to":
            self._to = None
        elif key == "call-id":
            self._call_id = None
        elif key == "cseq":
            self._cseq = None
        elif key == "max-forwards":
            self._max_forwards = None

    # ---- structured access to the headers the stack needs -----------------------------------
    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first (parsed on first access)."""
        if self._vias is None:
            values = self.header_values("via")
            top = self._top_via  # parsed by parse_message already: not again
            if top is not None and values:
                self._vias = [top, *(parse_via(v) for v in values[1:])]
            else:
                self._vias = [parse_via(v) for v in values]
        return self._vias

    @property
    def top_via(self) -> Via:
        if self._top_via is None:
            value = self.header("via")
            if value is None:
                raise ParseError("missing Via")
            self._top_via = parse_via(split_list(decode(value))[0])
        return self._top_via

    def update_top_via(self) -> None:
        """Write the (edited) top Via back, re-serializing only its header line."""
        for i, (fname, value, _raw) in enumerate(self._fields):
            if fname != "via":
                continue
            top = self.top_via
            items = split_list(decode(value))
            items[0] = str(top)
            self._fields[i] = ("via", encode(", ".join(items)), None)
            self._vias = None
            self._top_via = top
            return

    @property
    def from_(self) -> NameAddr:
        if self._from is None:
            self._from = _required_addr(self, "from")
        return self._from

    @property
    def to(self) -> NameAddr:
        if self._to is None:
            self._to = _required_addr(self, "to")
        return self._to

    def update_address(self, name: str) -> None:
        """Write an edited From or To (e.g. a new To tag) back into its header line."""
        key = normalize_name(name)
        addr = self.from_ if key == "from" else self.to
        for i, f in enumerate(self._fields):
            if f[0] == key:
                self._fields[i] = (key, encode(str(addr)), None)
                return

    @property
    def from_tag(self) -> str | None:
        """From tag, read without parsing the whole address (hot path of every match)."""
        if self._from is not None:
            return self._from.tag
        return tag_of(self.header("from"))

    @property
    def to_tag(self) -> str | None:
        if self._to is not None:
            return self._to.tag
        return tag_of(self.header("to"))

    @property
    def call_id(self) -> str:
        if self._call_id is None:
            value = self.header("call-id")
            if value is None:
                raise ParseError("missing Call-ID")
            self._call_id = check_call_id(value)
        return self._call_id

    @property
    def cseq(self) -> CSeq:
        if self._cseq is None:
            value = self.header("cseq")
            if value is None:
                raise ParseError("missing CSeq")
            self._cseq = parse_cseq(decode(value))
        return self._cseq

    @property
    def max_forwards(self) -> int | None:
        if self._max_forwards is None:
            value = self.header("max-forwards")
            if value is None:
                return None
            self._max_forwards = max_forwards_of(value)
        return self._max_forwards

    @max_forwards.setter
    def max_forwards(self, value: int) -> None:
        self.set_header("max-forwards", str(value))
        self._max_forwards = value

    def addresses(self, name: str) -> list[NameAddr]:
        """Every name-addr of a list header (Contact, Route, Record-Route, Path...)."""
        key = normalize_name(name)
        cache = self._addr_cache
        if cache is None:
            cache = self._addr_cache = {}
        parsed = cache.get(key)
        if parsed is None:  # parsed once: validate() and routing both read these
            wildcard = key == "contact"
            parsed = [parse_name_addr(v, allow_wildcard=wildcard) for v in self.header_values(key)]
            cache[key] = parsed
        return list(parsed)

    @property
    def contacts(self) -> list[NameAddr]:
        return self.addresses("contact")

    @property
    def routes(self) -> list[NameAddr]:
        return self.addresses("route")

    @property
    def record_routes(self) -> list[NameAddr]:
        return self.addresses("record-route")

    @property
    def content_type(self) -> str | None:
        value = self.header("content-type")
        return None if value is None else decode(value).split(";", 1)[0].strip().lower()

    # ---- body ---------------------------------------------------------------------------------
    @property
    def body(self) -> bytes:
        return self._body

    @body.setter
    def body(self, value: bytes) -> None:
        self._body = value
        self.set_header("content-length", str(len(value)))
        self.content_length = len(value)

    def set_body(self, value: bytes, content_type: str | None) -> None:
        self.body = value
        if content_type is None:
            self.remove_header("content-type")
        else:
            self.set_header("content-type", content_type)

    # ---- serialization ---------------------------------------------------------------------
    def start_line(self) -> bytes:
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        lines = [self.start_line()]
        for name, value, raw in self._fields:
            lines.append(raw if raw is not None else pretty_name(name).encode() + b": " + value)
        if self.content_length is None:  # datagram without Content-Length: streams need it
            lines.append(b"Content-Length: " + str(len(self._body)).encode())
        lines.append(b"")
        lines.append(self._body)
        return b"\r\n".join(lines)

    def validate(self) -> None:
        """Check every header Trunkline knows the grammar of; raise ParseError on the first bad one.

        ``parse_message`` already checked framing and the headers the stack needs; this covers
        the rest (every Via, Contact, Route, Record-Route...), for elements that act on them.
        """
        _ = (self.vias, self.call_id, self.cseq, self.max_forwards)
        for name in ("from", "to", "contact", "route", "record-route"):
            lists = name in LIST_HEADERS
            try:
                for fname, value, _raw in self._fields:
                    if fname != name:
                        continue
                    text = decode(value)
                    for item in split_list(text) if lists else (text,):
                        check_name_addr(item, allow_wildcard=name == "contact")
            except ParseError as exc:
                raise ParseError(f"bad {pretty_name(name)}: {exc.detail}") from None


class Request(Message):
    """A SIP request. ``uri`` is parsed lazily; ``method`` is case-sensitive (RFC 3261 §7.1)."""

    __slots__ = ("_start", "_uri", "method", "uri_text")

    def __init__(self, method: str, uri: URI | str) -> None:
        super().__init__()
        self.method = method
        self._uri: URI | None = uri if isinstance(uri, URI) else None
        self.uri_text = str(uri)
        self._start: bytes | None = None

    def copy(self) -> Request:
        """An independent request to edit (one per proxy branch): header lines are shared
        (they are immutable), parsed mutable values (Vias, addresses) are re-read lazily."""
        req = _new_request(self.method, self.uri_text, self._uri, self._start)
        req._fields = list(self._fields)
        req._body = self._body
        req.content_length = self.content_length
        req._call_id = self._call_id
        req._cseq = self._cseq  # CSeq is never edited in place
        req._max_forwards = self._max_forwards
        return req

    @property
    def uri(self) -> URI:
        if self._uri is None:
            self._uri = parse_uri(self.uri_text)
        return self._uri

    @uri.setter
    def uri(self, value: URI) -> None:
        self._uri = value
        self.uri_text = str(value)
        self._start = None

    def start_line(self) -> bytes:
        if self._start is None:
            self._start = encode(f"{self.method} {self.uri_text} SIP/2.0")
        return self._start

    def validate(self) -> None:
        """Full request check (RFC 3261 §8.2.2, §16.3); raises ParseError with the answer."""
        present = {f[0] for f in self._fields}
        for name in ("via", "from", "to", "call-id", "cseq"):
            if name not in present:
                raise _error(self, f"missing {pretty_name(name)}")
        try:
            super().validate()
        except ParseError as exc:
            raise _error(self, exc.detail, exc.status, exc.reason) from None
        if self.cseq.method != self.method:
            raise _error(self, "CSeq method does not match the request method")
        uri = self.uri
        if uri.scheme not in _SUPPORTED_SCHEMES:
            raise _error(self, "unsupported URI scheme", 416, "Unsupported URI Scheme")
        if isinstance(uri, SipURI) and uri.headers:
            # RFC 3261 §19.1.1 Table 1: headers are not allowed in a Request-URI. RFC 4475
            # §3.1.2.11 calls rejecting with 400 reasonable; a proxy must never forward them.
            raise _error(self, "headers in the Request-URI")

    def create_response(
        self, status: int, reason: str | None = None, *, to_tag: str | None = None
    ) -> Response:
        """A response with Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6).

        ``to_tag`` is added to To when it has none (a UAS adds one to every non-100 answer).
        """
        resp = Response(status, reason)
        for field in self._fields:
            if field[0] in _ANSWERABLE:
                resp._fields.append(field)
        if to_tag is not None and status > 100 and self.to_tag is None:
            # Appended to the raw value, not re-built: a To that does not parse can still be
            # answered (RFC 4475 §3.1.2.6), and untouched bytes stay untouched.
            for i, (name, value, _raw) in enumerate(resp._fields):
                if name == "to":
                    resp._fields[i] = ("to", value + b";tag=" + encode(to_tag), None)
                    break
        return resp  # no body: serialization ends it with Content-Length: 0


class Response(Message):
    """A SIP response (status 100-699)."""

    __slots__ = ("_start", "reason", "status")

    def __init__(self, status: int, reason: str | None = None) -> None:
        super().__init__()
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)
        self._start: bytes | None = None

    def start_line(self) -> bytes:
        if self._start is None:
            self._start = f"SIP/2.0 {self.status} {self.reason}".encode("utf-8", "surrogateescape")
        return self._start

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_final(self) -> bool:
        return self.status >= 200


# ---- parsing ------------------------------------------------------------------------------------


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
            exc.headers = [(n, v) for n, v, _r in head.fields if n in _ANSWERABLE]
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
        raise _error(msg, "Content-Length larger than the message")  # RFC 4475 §3.1.2.2
    else:
        msg._body = rest[:length]


def _answerable_headers(block: bytes, sep: bytes) -> list[tuple[str, bytes]]:
    """Via/From/To/Call-ID/CSeq of a request whose start line is bad, so it can be answered."""
    scratch = Request("UNKNOWN", "")
    try:
        _parse_fields(scratch, block, sep)
    except ParseError:
        return []
    return [(n, v) for n, v, _r in scratch._fields if n in _ANSWERABLE]


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
            return _new_request(method, uri_text, sip_uri, line)
    try:
        uri = parse_uri(uri_text)
    except ParseError as exc:
        colon = uri_text.find(":")
        scheme = uri_text[:colon].lower() if colon > 0 else ""
        if scheme and scheme not in _SUPPORTED_SCHEMES and "<" not in scheme:
            raise ParseError(
                exc.detail, 416, "Unsupported URI Scheme", is_request=True, method=method
            ) from None
        raise ParseError(exc.detail, is_request=True, method=method) from None
    return _new_request(method, uri_text, uri, line)


def _new_request(method: str, uri_text: str, uri: URI | None, line: bytes | None) -> Request:
    """A parsed request: the URI object when already parsed, the received start line."""
    req = Request(method, uri_text)
    req._uri = uri
    req._start = line
    return req


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
                    raise _error(msg, "too many header fields")
                return
    for line in lines:
        if not line:
            raise _error(msg, "empty line inside the header section")
        first = line[0]
        if first == 32 or first == 9:  # folded continuation (RFC 3261 §7.3.1)
            if not fields:
                raise _error(msg, "continuation line before the first header")
            name, value, raw = fields[-1]
            cont = line.strip(b" \t")
            if value and cont:  # the fold is LWS: one SP; none at either end of the value
                cont = value + b" " + cont
            fields[-1] = (name, cont or value, (raw or b"") + sep + line)
            continue
        colon = line.find(b":")
        if colon <= 0:
            raise _error(msg, f"header line without a name and colon: {line[:40]!r}")
        known = _NAMES.get(line[:colon])
        if known is None:
            try:
                known = canonical_name(line[:colon])
            except ParseError as exc:
                raise _error(msg, exc.detail) from None
        fields.append((known, line[colon + 1 :].strip(b" \t"), line))
    if len(fields) > MAX_HEADERS:
        raise _error(msg, "too many header fields")
    if bare_lf:
        raise _error(msg, "bare LF in the header section")
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
# The same for the compiled scanner, with each name's slot among the hot headers.
_SCAN_NAMES: dict[bytes, tuple[str, int]] = {
    spelled: (name, HOT_SLOTS.get(name, -1)) for spelled, name in _NAMES.items()
}


def _parse_essentials(msg: Message) -> None:
    seen: dict[str, bytes] = {}
    top_via: bytes | None = None
    for name, value, _raw in msg._fields:
        if name in SINGLE_HEADERS:
            if name in seen and (name != "content-length" or seen[name] != value):
                raise _error(msg, f"more than one {pretty_name(name)}")  # RFC 4475 §3.3.8/§3.3.9
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
        raise _error(msg, "missing " + ", ".join(pretty_name(h) for h in missing)) from None
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
        raise _error(msg, exc.detail, exc.status, exc.reason) from None


def _required_addr(msg: Message, name: str) -> NameAddr:
    value = msg.header(name)
    if value is None:
        raise ParseError(f"missing {pretty_name(name)}")
    return parse_name_addr(decode(value))


def _error(msg: Message, detail: str, status: int = 400, reason: str = "Bad Request") -> ParseError:
    """A ParseError carrying the headers that allow an answer to be built."""
    is_request = isinstance(msg, Request)
    answerable = [(n, v) for n, v, _r in msg._fields if n in _ANSWERABLE]
    return ParseError(
        detail,
        status,
        reason,
        is_request=is_request,
        method=msg.method if isinstance(msg, Request) else None,
        headers=answerable,
    )
