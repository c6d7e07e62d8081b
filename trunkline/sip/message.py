"""SIP requests and responses: lazy values, exact write-back, in-place edits (RFC 3261 §7).

A parsed message (:func:`trunkline.sip.parser.parse_message`) holds every
header line as received and the values the stack needs on every message (top Via, Call-ID,
CSeq, Max-Forwards, Content-Length) already read; everything else is parsed on first access.
Untouched header lines are written back byte for byte; editing a header re-serializes only that
header.
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
    LIST_HEADERS,
    decode,
    encode,
    normalize_name,
    pretty_name,
    split_list,
)
from trunkline.sip.hot_headers import (
    check_call_id,
    max_forwards_of,
    tag_of,
)
from trunkline.sip.reasons import reason_phrase
from trunkline.sip.scanner import COMPILED, scan_name_addrs
from trunkline.sip.uri import URI, SipURI, parse_uri

MAX_HEADERS = 256
MAX_CSEQ = (1 << 31) - 1
ANSWERABLE = ("via", "from", "to", "call-id", "cseq")
SUPPORTED_SCHEMES = frozenset({"sip", "sips", "tel"})
# The headers validate() reads as name-addr/addr-spec (RFC 3261 §20).
_ADDRESS_HEADERS = frozenset({"from", "to", "contact", "route", "record-route"})


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
            top = self._top_via  # parsed by parse_message already: not again
            lines = [value for name, value, _raw in self._fields if name == "via"]
            if top is not None and len(lines) == 1 and b"," not in lines[0]:
                self._vias = [top]  # one Via, the usual request from a UA
                return self._vias
            values = self.header_values("via")
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
        for name, value, _raw in self._fields:
            if name not in _ADDRESS_HEADERS:
                continue
            lists = name in LIST_HEADERS
            if COMPILED and scan_name_addrs(value, lists):
                continue  # plain, and so well-formed
            try:
                text = decode(value)
                for item in split_list(text) if lists else (text,):
                    check_name_addr(item, allow_wildcard=name == "contact")
            except ParseError as exc:
                raise ParseError(f"bad {pretty_name(name)}: {exc.detail}") from None

    def _keep_answerable(self, bare: Message) -> None:
        """Give ``bare`` this message's Via, From, To, Call-ID and CSeq lines (the values
        shared, the received spelling dropped) and its Call-ID and CSeq if already read."""
        bare._fields = [(n, value, None) for n, value, _raw in self._fields if n in ANSWERABLE]
        bare._call_id = self._call_id
        bare._cseq = self._cseq
        bare.content_length = 0


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
        req = new_request(self.method, self.uri_text, self._uri, self._start)
        req._fields = list(self._fields)
        req._body = self._body
        req.content_length = self.content_length
        req._call_id = self._call_id
        req._cseq = self._cseq  # CSeq is never edited in place
        req._max_forwards = self._max_forwards
        return req

    def skeleton(self) -> Request:
        """What a finished transaction keeps of its request while it lingers (up to 32 s over
        UDP): the method, the Request-URI text and the Via, From, To, Call-ID and CSeq lines,
        enough to match late messages and to answer (``create_response``); no other header, no
        body, no parsed value but Call-ID and CSeq. Read it or answer it; never forward it."""
        bare = new_request(self.method, self.uri_text, None, None)
        self._keep_answerable(bare)
        return bare

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
                raise parse_error(self, f"missing {pretty_name(name)}")
        try:
            super().validate()
        except ParseError as exc:
            raise parse_error(self, exc.detail, exc.status, exc.reason) from None
        if self.cseq.method != self.method:
            raise parse_error(self, "CSeq method does not match the request method")
        uri = self.uri
        if uri.scheme not in SUPPORTED_SCHEMES:
            raise parse_error(self, "unsupported URI scheme", 416, "Unsupported URI Scheme")
        if isinstance(uri, SipURI) and uri.headers:
            # RFC 3261 §19.1.1 Table 1: headers are not allowed in a Request-URI. RFC 4475
            # §3.1.2.11 calls rejecting with 400 reasonable; a proxy must never forward them.
            raise parse_error(self, "headers in the Request-URI")

    def create_response(
        self, status: int, reason: str | None = None, *, to_tag: str | None = None
    ) -> Response:
        """A response with Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6).

        ``to_tag`` is added to To when it has none (a UAS adds one to every non-100 answer).
        """
        resp = Response(status, reason)
        for field in self._fields:
            if field[0] in ANSWERABLE:
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

    def skeleton(self) -> Response:
        """The status and the Via, From, To, Call-ID and CSeq lines of this response: what a
        finished transaction keeps of it (see :meth:`Request.skeleton`)."""
        bare = Response(self.status, self.reason)
        self._keep_answerable(bare)
        return bare

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    @property
    def is_final(self) -> bool:
        return self.status >= 200


def new_request(method: str, uri_text: str, uri: URI | None, line: bytes | None) -> Request:
    """A parsed request: the URI object when already parsed, the received start line."""
    req = Request(method, uri_text)
    req._uri = uri
    req._start = line
    return req


def _required_addr(msg: Message, name: str) -> NameAddr:
    value = msg.header(name)
    if value is None:
        raise ParseError(f"missing {pretty_name(name)}")
    return parse_name_addr(decode(value))


def parse_error(
    msg: Message, detail: str, status: int = 400, reason: str = "Bad Request"
) -> ParseError:
    """A ParseError carrying the headers that allow an answer to be built."""
    is_request = isinstance(msg, Request)
    answerable = [(n, v) for n, v, _r in msg._fields if n in ANSWERABLE]
    return ParseError(
        detail,
        status,
        reason,
        is_request=is_request,
        method=msg.method if isinstance(msg, Request) else None,
        headers=answerable,
    )
