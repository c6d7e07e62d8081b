"""MIME media types and multipart bodies (RFC 2046 §5.1, RFC 5621 for SIP)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trunkline.sip.errors import ParseError
from trunkline.sip.headers import decode, encode, normalize_name, parse_params, pretty_name

_TYPE_RE = re.compile(
    r"\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*(;.*)?\Z", re.S
)


@dataclass(slots=True)
class MediaType:
    """``type/subtype;params`` from Content-Type; type and subtype lower-case."""

    type: str
    subtype: str
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def essence(self) -> str:
        return f"{self.type}/{self.subtype}"

    def param(self, name: str) -> str | None:
        value = self.params.get(name.lower())
        if value is not None and len(value) >= 2 and value[0] == '"' == value[-1]:
            return value[1:-1]
        return value


def parse_media_type(value: str) -> MediaType:
    m = _TYPE_RE.match(value)
    if m is None:
        raise ParseError(f"bad media type {value[:60]!r}")
    params = parse_params(m.group(3) or "")
    return MediaType(m.group(1).lower(), m.group(2).lower(), params)


@dataclass(slots=True)
class BodyPart:
    """One part: its headers (canonical lower-case names, in order) and its bytes."""

    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        key = normalize_name(name)
        return next((v for n, v in self.headers if n == key), None)

    @property
    def content_type(self) -> MediaType:
        value = self.header("content-type")
        return parse_media_type(value) if value else MediaType("text", "plain")


def parse_multipart(content_type: str, body: bytes) -> list[BodyPart]:
    """Split a multipart body into its parts (binary-safe: parts are framed by the boundary)."""
    media = parse_media_type(content_type)
    if media.type != "multipart":
        raise ParseError(f"not a multipart type: {media.essence}")
    boundary = media.param("boundary")
    if not boundary or len(boundary) > 70:
        raise ParseError("multipart without a valid boundary")
    delim = b"--" + encode(boundary)
    pos = body.find(delim)
    if pos < 0:
        raise ParseError("multipart boundary not found")
    parts: list[BodyPart] = []
    while True:
        pos += len(delim)
        if body[pos : pos + 2] == b"--":
            return parts  # close-delimiter
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise ParseError("unterminated multipart delimiter line")
        nxt = body.find(b"\r\n" + delim, eol)
        if nxt < 0:
            raise ParseError("multipart body without a closing boundary")
        parts.append(_parse_part(body[eol + 2 : nxt]))
        if len(parts) > 64:
            raise ParseError("too many body parts")
        pos = nxt + 2


def _parse_part(data: bytes) -> BodyPart:
    if data.startswith(b"\r\n"):
        return BodyPart([], data[2:])  # no headers: implicit text/plain
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ParseError("body part without a header/body separator")
    headers: list[tuple[str, str]] = []
    for line in data[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + decode(line.strip()))
            continue
        name_b, colon, value_b = line.partition(b":")
        if not colon or not name_b.strip():
            raise ParseError("bad body part header line")
        headers.append((normalize_name(decode(name_b)), decode(value_b.strip())))
    return BodyPart(headers, data[end + 4 :])


def build_multipart(parts: list[BodyPart], boundary: str) -> bytes:
    """Serialize parts; the caller sets ``Content-Type: multipart/...;boundary=<boundary>``."""
    delim = b"--" + encode(boundary)
    out = bytearray()
    for part in parts:
        out += delim + b"\r\n"
        for name, value in part.headers:
            out += pretty_name(name).encode() + b": " + encode(value) + b"\r\n"
        out += b"\r\n" + part.body + b"\r\n"
    out += delim + b"--\r\n"
    return bytes(out)
