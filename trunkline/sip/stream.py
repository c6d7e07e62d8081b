"""Incremental framing of SIP messages on a byte stream (TCP, TLS; RFC 3261 §18.3, RFC 5626 §3.5.1).

Feed bytes as they arrive; get back messages, per-message parse errors (the framing survived,
so answer 400 and go on), and keep-alive pings. A framing error (a bad or conflicting
Content-Length, an oversized header section or body) is unrecoverable: ``feed`` raises
:class:`FramingError` and the connection must be closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trunkline.sip.errors import FramingError, ParseError
from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message

DEFAULT_MAX_HEADER = 16 * 1024
DEFAULT_MAX_BODY = 1024 * 1024

# LWS after the colon may be folded onto the next line (RFC 3261 §7.3.1, §25.1 HCOLON/LWS).
_CL_RE = re.compile(
    rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(?:\r\n[ \t]+)?([^\r\n]*?)[ \t]*(?=\r\n)", re.I
)


@dataclass(slots=True, frozen=True)
class KeepAlive:
    """A CRLF keep-alive: ``ping`` (CRLFCRLF, answer with a CRLF pong) or a pong (single CRLF)."""

    ping: bool


StreamEvent = Request | Response | ParseError | KeepAlive


class StreamParser:
    """Frames messages out of a byte stream; bounded memory, remembered scan offset."""

    __slots__ = ("_buf", "_dead", "_need", "_scan", "max_body", "max_header")

    def __init__(
        self, *, max_header: int = DEFAULT_MAX_HEADER, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self._buf = bytearray()
        self._scan = 0  # where the search for CRLFCRLF resumes
        self._need = -1  # total length of the message being read, once its header is known
        self._dead = False
        self.max_header = max_header
        self.max_body = max_body

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Add bytes; return every complete event. Raises FramingError when framing is lost."""
        if self._dead:
            raise FramingError("stream already failed")
        self._buf += data
        events: list[StreamEvent] = []
        try:
            while self._step(events):
                pass
        except FramingError:
            self._dead = True
            raise
        return events

    def _step(self, events: list[StreamEvent]) -> bool:
        buf = self._buf
        if self._need < 0:
            if not self._skip_keepalives(events):
                return False
            end = buf.find(b"\r\n\r\n", self._scan)
            if end < 0:
                if len(buf) > self.max_header:
                    raise FramingError("header section too large", 513, "Message Too Large")
                self._scan = max(0, len(buf) - 3)
                return False
            if end > self.max_header:
                raise FramingError("header section too large", 513, "Message Too Large")
            self._need = end + 4 + self._content_length(bytes(buf[: end + 2]))
        if len(buf) < self._need:
            return False
        frame = bytes(buf[: self._need])
        del buf[: self._need]
        self._need = -1
        self._scan = 0
        try:
            events.append(parse_message(frame))
        except ParseError as exc:
            events.append(exc)
        return True

    def _skip_keepalives(self, events: list[StreamEvent]) -> bool:
        """Consume leading CRLFs (RFC 5626 §3.5.1); False when nothing else is buffered yet."""
        buf = self._buf
        while buf[:1] == b"\r" or buf[:1] == b"\n":
            if buf[:4] == b"\r\n\r\n":
                del buf[:4]
                events.append(KeepAlive(ping=True))
            elif len(buf) < 4 and b"\r\n\r\n".startswith(buf):
                return False  # maybe the first half of a ping: wait for more
            elif buf[:2] == b"\r\n":
                del buf[:2]
                events.append(KeepAlive(ping=False))
            else:
                del buf[:1]  # a stray CR or LF between messages
        return bool(buf)

    def _content_length(self, head: bytes) -> int:
        values = {m.group(1) for m in _CL_RE.finditer(head)}
        if not values:
            return 0  # RFC 3261 §18.3 requires it on streams; absent is read as an empty body
        if len(values) > 1:
            raise FramingError("conflicting Content-Length values")  # RFC 4475 §3.3.9
        value = values.pop()
        if not value.isdigit() or len(value) > 10:
            raise FramingError("bad Content-Length")  # RFC 4475 §3.1.2.3
        length = int(value)
        if length > self.max_body:
            raise FramingError("body too large", 413, "Request Entity Too Large")
        return length
