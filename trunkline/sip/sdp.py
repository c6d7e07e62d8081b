"""SDP session descriptions (RFC 8866, which obsoletes RFC 4566): parse, inspect, edit, serialize.

``parse_sdp(body)`` turns an ``application/sdp`` body into a `SessionDescription`;
``bytes(sdp)`` (or ``sdp.encode()``) turns it back into CRLF-terminated lines.

The model is plain mutable data meant to be edited in place: a B2BUA or a media relay rewrites
``sdp.connection``, ``media.connection`` and ``media.port`` and serializes again. Lines the model
does not interpret (unknown attributes, unknown ``x=`` letters, ICE candidates, DTLS fingerprints,
crypto keys) are kept verbatim and written back in their original position, so an untouched,
well-formed CRLF body survives ``parse_sdp`` -> ``encode`` byte for byte. The only normalization is
on the lines the model parses into fields (``o=``, ``c=``, ``m=``, ``b=``, ``t=``): runs of blanks
become one space and leading zeros of numbers disappear; blank lines are dropped.

Parsing is liberal where that is safe (bare LF line ends, RFC 8866 §5; lines out of the RFC order;
unknown letters) and strict where a misreading would send media to the wrong place (duplicate
session-level ``c=``, malformed ``c=``/``m=``/``o=``). Every problem raises `SdpError` (488).
Attribute helpers (``rtpmaps()``, ``ptime``, ``rtcp``...) never raise: a malformed attribute reads
as absent. Addresses stay text: an IPv6 address in ``o=``/``c=`` carries no brackets (RFC 5118
§4.6) and an FQDN is legal.

This module's job is the editable model with its parser and serializer. The immutable field values
it is made of (`Origin`, `Connection`, `Timing`, `Attribute`, `RtpMap`, `Direction`...) live in
`trunkline.sip.sdp_types` and are re-exported here: import every SDP name from this module.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, replace

from trunkline.sip.errors import SdpError
from trunkline.sip.sdp_types import (
    _BLANKS,
    _DIRECTIONS,
    _FORBIDDEN,
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Bandwidth,
    Connection,
    Crypto,
    Direction,
    Origin,
    Rtcp,
    RtpMap,
    Timing,
    _fields,
    _line,
    _parse_crypto,
    _parse_rtcp,
    _parse_rtpmap,
    _payload_type,
)

__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "Attribute",
    "Bandwidth",
    "Connection",
    "Crypto",
    "Direction",
    "Line",
    "MediaDescription",
    "Origin",
    "Rtcp",
    "RtpMap",
    "SessionDescription",
    "Timing",
    "parse_sdp",
]

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PTIME = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")

# RFC 8866 §5: the order of lines in each section; ``r=`` travels with the ``t=`` before it.
_SESSION_ORDER = "vosiuepcbtzka"
_MEDIA_ORDER = "micbka"
# Letters that may appear at most once per section (RFC 8866 §5 grammar).
_SESSION_ONCE = frozenset("osiuczk")
_MEDIA_ONCE = frozenset("ik")


def _number(text: str, what: str, maximum: int | None = None) -> int:
    """A decimal field; bounded in length so int() can never be slow or raise."""
    if not (text.isascii() and text.isdigit() and len(text) <= 20):  # as _DIGITS, no regex
        raise SdpError(f"{what} is not a number: {text!r}")
    value = int(text)
    if maximum is not None and value > maximum:
        raise SdpError(f"{what} out of range: {text!r}")
    return value


@dataclass(slots=True, frozen=True)
class Line:
    """A line the model has no field for (an unknown letter), kept verbatim and in place."""

    letter: str
    value: str


class _Attributes:
    """Attribute helpers shared by the session and the media level."""

    __slots__ = ()
    attributes: list[Attribute]

    def get_attribute(self, name: str) -> Attribute | None:
        """The first attribute called ``name`` (case-sensitive), or None."""
        return next((a for a in self.attributes if a.name == name), None)

    def get_attributes(self, name: str) -> list[Attribute]:
        """Every attribute called ``name``, in order."""
        return [a for a in self.attributes if a.name == name]

    def has_attribute(self, name: str) -> bool:
        """True when an attribute called ``name`` is present (flag or valued)."""
        return any(a.name == name for a in self.attributes)

    def set_attribute(self, name: str, value: str | None = None) -> None:
        """Make ``a=name[:value]`` the only attribute called ``name``, where the first one was
        (so an edit does not move lines), or at the end when there was none."""
        self._replace(frozenset((name,)), Attribute(name, value))

    def remove_attributes(self, name: str) -> int:
        """Drop every attribute called ``name``; returns how many went."""
        before = len(self.attributes)
        self.attributes[:] = [a for a in self.attributes if a.name != name]
        return before - len(self.attributes)

    @property
    def direction(self) -> Direction | None:
        """The direction attribute written at this level, or None (see ``effective_direction``)."""
        for attribute in self.attributes:
            if attribute.value is None and attribute.name in _DIRECTIONS:
                return Direction(attribute.name)
        return None

    @direction.setter
    def direction(self, direction: Direction | None) -> None:
        # One direction attribute at most (RFC 3264 §5.1), kept where the old one was.
        self._replace(_DIRECTIONS, None if direction is None else Attribute(str(direction)))

    def _replace(self, names: frozenset[str], new: Attribute | None) -> None:
        kept: list[Attribute] = []
        for attribute in self.attributes:
            if attribute.name not in names:
                kept.append(attribute)
            elif new is not None:
                kept.append(new)
                new = None
        if new is not None:
            kept.append(new)
        self.attributes[:] = kept


@dataclass(slots=True)
class MediaDescription(_Attributes):
    """One media section, from ``m=`` to the next (RFC 8866 §5.14).

    ``port`` 0 marks a rejected or disabled stream (RFC 3264 §6, §8.2). ``fmts`` are the format
    tokens as written (RTP payload type numbers for RTP profiles). ``connection`` is this
    section's ``c=``, None when the session-level one applies; ``extra_connections`` holds
    further ``c=`` lines (layered multicast, RFC 8866 §5.7), almost always empty.
    """

    media: str
    port: int
    proto: str
    fmts: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    bandwidths: list[Bandwidth] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    information: str | None = None
    key: str | None = None
    extra_connections: list[Connection] = field(default_factory=list)
    other_lines: list[Line] = field(default_factory=list)
    _layout: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    @property
    def is_rejected(self) -> bool:
        """True for port 0: a stream refused or removed (RFC 3264 §6, §8.2)."""
        return self.port == 0

    @property
    def is_rtp(self) -> bool:
        """True for RTP profiles (``RTP/AVP``, ``RTP/SAVPF``, ``UDP/TLS/RTP/SAVPF``...)."""
        return "RTP/" in self.proto

    def rtpmaps(self) -> dict[int, RtpMap]:
        """The payload types of ``fmts`` with their codec, in ``fmts`` order.

        An ``a=rtpmap`` wins; without one, an RFC 3551 static payload type uses its default
        (RFC 8866 §6.6). Formats with neither, and non-RTP media, are left out.
        """
        if not self.is_rtp:
            return {}
        explicit: dict[int, RtpMap] = {}
        for attribute in self.get_attributes("rtpmap"):
            rtpmap = _parse_rtpmap(attribute.value or "")
            if rtpmap is not None:
                explicit.setdefault(rtpmap.payload_type, rtpmap)
        result: dict[int, RtpMap] = {}
        for fmt in self.fmts:
            pt = _payload_type(fmt)
            found = None if pt is None else explicit.get(pt, STATIC_PAYLOAD_TYPES.get(pt))
            if found is not None:
                result[found.payload_type] = found
        return result

    def fmtp(self, payload_type: int | str) -> str | None:
        """The ``a=fmtp`` parameters of one payload type (RFC 8866 §6.15), e.g. ``0-16``."""
        wanted = str(payload_type)
        for attribute in self.get_attributes("fmtp"):
            pt, *params = _BLANKS.split((attribute.value or "").strip(" \t"), maxsplit=1)
            if pt == wanted:
                return params[0] if params else ""
        return None

    @property
    def ptime(self) -> float | None:
        """``a=ptime`` in milliseconds (RFC 8866 §6.4), None when absent or malformed."""
        attribute = self.get_attribute("ptime")
        text = (attribute.value or "").strip() if attribute else ""
        return float(text) if _PTIME.fullmatch(text) else None

    @ptime.setter
    def ptime(self, ptime: float | None) -> None:
        if ptime is None:
            self.remove_attributes("ptime")
        else:
            self.set_attribute("ptime", str(int(ptime)) if ptime == int(ptime) else str(ptime))

    @property
    def rtcp(self) -> Rtcp | None:
        """``a=rtcp`` (RFC 3605), None when absent or malformed."""
        attribute = self.get_attribute("rtcp")
        return _parse_rtcp(attribute.value or "") if attribute else None

    @rtcp.setter
    def rtcp(self, rtcp: Rtcp | None) -> None:
        if rtcp is None:
            self.remove_attributes("rtcp")
        else:
            self.set_attribute("rtcp", rtcp.value)

    def cryptos(self) -> list[Crypto]:
        """The well-formed ``a=crypto`` lines (RFC 4568), in order of preference."""
        found = (_parse_crypto(a.value or "") for a in self.get_attributes("crypto"))
        return [crypto for crypto in found if crypto is not None]

    def _queues(self) -> dict[str, list[str]]:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        queues = {
            "m": [_line("m", " ".join([self.media, port, self.proto, *self.fmts]))],
            "i": [] if self.information is None else [_line("i", self.information)],
            "c": [_line("c", str(c)) for c in self._all_connections()],
            "b": [_line("b", str(b)) for b in self.bandwidths],
            "k": [] if self.key is None else [_line("k", self.key)],
            "a": [_line("a", str(a)) for a in self.attributes],
        }
        return _add_other_lines(queues, self.other_lines)

    def _all_connections(self) -> list[Connection]:
        first = [] if self.connection is None else [self.connection]
        return first + self.extra_connections


@dataclass(slots=True)
class SessionDescription(_Attributes):
    """A whole SDP body (RFC 8866 §5): session-level fields and the media sections in order.

    Build one by hand with ``SessionDescription(origin=..., connection=..., media=[...])``
    (``times`` defaults to ``t=0 0``) or get one from `parse_sdp`. ``other_lines`` keeps lines
    with letters the model does not know; ``emails``/``phones`` are ``e=``/``p=``.
    """

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    times: list[Timing] = field(default_factory=lambda: [Timing()])
    bandwidths: list[Bandwidth] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    information: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    time_zones: str | None = None
    key: str | None = None
    other_lines: list[Line] = field(default_factory=list)
    version: int = 0
    _layout: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def effective_direction(self, media: MediaDescription) -> Direction:
        """The direction of one stream: its own attribute, else the session-level one, else
        sendrecv (RFC 3264 §5.1, RFC 8866 §6.7)."""
        return media.direction or self.direction or Direction.SENDRECV

    def effective_connection(self, media: MediaDescription) -> Connection | None:
        """Where a stream's media goes: its own ``c=``, else the session-level one."""
        return media.connection or self.connection

    def bump_version(self) -> None:
        """Add one to the ``o=`` version, as RFC 3264 §8 requires of every changed offer or
        answer in a session (and forbids for an unchanged one)."""
        self.origin = replace(self.origin, sess_version=self.origin.sess_version + 1)

    def encode(self) -> bytes:
        """The body as bytes: CRLF after every line (RFC 8866 §5).

        Raises ValueError when a field holds CR, LF or NUL: that would inject lines.
        """
        lines = _arrange(self._layout, self._queues(), _SESSION_ORDER)
        for media in self.media:
            lines += _arrange(media._layout, media._queues(), _MEDIA_ORDER)
        lines.append("")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape")

    def __bytes__(self) -> bytes:
        return self.encode()

    def _queues(self) -> dict[str, list[str]]:
        def one(letter: str, value: str | None) -> list[str]:
            return [] if value is None else [_line(letter, value)]

        queues = {
            "v": [_line("v", str(self.version))],
            "o": [_line("o", str(self.origin))],
            "s": [_line("s", self.session_name)],
            "i": one("i", self.information),
            "u": one("u", self.uri),
            "e": [_line("e", e) for e in self.emails],
            "p": [_line("p", p) for p in self.phones],
            "c": one("c", None if self.connection is None else str(self.connection)),
            "b": [_line("b", str(b)) for b in self.bandwidths],
            "t": ["\r\n".join(t.lines()) for t in self.times],
            "z": one("z", self.time_zones),
            "k": one("k", self.key),
            "a": [_line("a", str(a)) for a in self.attributes],
        }
        return _add_other_lines(queues, self.other_lines)


# --- serialization ------------------------------------------------------------------------------


def _add_other_lines(queues: dict[str, list[str]], others: list[Line]) -> dict[str, list[str]]:
    for other in others:
        queues.setdefault(other.letter, []).append(_line(other.letter, other.value))
    return queues


def _arrange(layout: tuple[str, ...], queues: dict[str, list[str]], order: str) -> list[str]:
    """Lay out one section's lines.

    ``layout`` is the letter of each line as parsed. Walking it, each letter takes the next line
    of its kind, so a parsed section comes back in its own order even when that order is not the
    RFC's. Lines that were added since go after the last line of their kind, or where RFC 8866
    §5 puts them; a section built by hand (no layout) comes out in RFC order.
    """
    if not layout:
        return [line for lines in queues.values() for line in lines]
    pending = {letter: deque(lines) for letter, lines in queues.items() if lines}
    letters: list[str] = []
    lines: list[str] = []
    for letter in layout:
        queue = pending.get(letter)
        if queue:
            letters.append(letter)
            lines.append(queue.popleft())
    added = [(letter, queue) for letter, queue in pending.items() if queue]
    if not added:
        return lines  # the usual case: nothing added since parsing
    placed = list(zip(letters, lines, strict=True))
    for letter, queue in added:
        for line in queue:
            placed.insert(_slot(placed, letter, order), (letter, line))
    return [line for _, line in placed]


def _slot(placed: list[tuple[str, str]], letter: str, order: str) -> int:
    rank = _rank(letter, order)
    fallback = 0
    for index in range(len(placed) - 1, -1, -1):
        other = placed[index][0]
        if other == letter:
            return index + 1
        if not fallback and _rank(other, order) <= rank:
            fallback = index + 1
    return fallback


def _rank(letter: str, order: str) -> int:
    index = order.find(letter)
    return len(order) if index < 0 else index


# --- parsing ------------------------------------------------------------------------------------


def parse_sdp(data: bytes) -> SessionDescription:
    """Parse an SDP body. Raises `SdpError` (488) and nothing else, whatever the bytes.

    Lines may end in CRLF or a bare LF (RFC 8866 §5); text is UTF-8, and bytes that are not are
    carried through unchanged (surrogate escapes), since ``a=charset`` may name another charset.
    """
    text = bytes(data).decode("utf-8", "surrogateescape")
    # CR only before LF and no NUL anywhere: then no line holds one, and feed() need not look.
    clean = "\x00" not in text and text.count("\r") == text.count("\r\n")
    parser = _Parser(clean)
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line:
            continue  # a trailing (or stray) blank line carries nothing
        try:
            parser.feed(line)
        except SdpError as exc:
            raise SdpError(f"SDP line {number}: {exc.detail}") from None
    return parser.finish()


def _parse_origin(value: str) -> Origin:
    parts = _fields(value)
    if len(parts) != 6:
        raise SdpError(f"o= needs 6 fields: {value!r}")
    user, sess_id, version, nettype, addrtype, address = parts
    return Origin(user, sess_id, _number(version, "o= version"), nettype, addrtype, address)


def _parse_connection(value: str) -> Connection:
    parts = _fields(value)
    if len(parts) != 3:
        raise SdpError(f"c= needs 3 fields: {value!r}")
    nettype, addrtype, address = parts
    family = addrtype.upper()
    if family not in ("IP4", "IP6") or "/" not in address:
        return Connection(nettype, addrtype, address)
    # Multicast suffixes (RFC 8866 §5.7): IP4 is addr/ttl[/count], IP6 is addr[/count].
    base, *suffixes = address.split("/")
    numbers = [_number(s, "c= multicast suffix") for s in suffixes]
    if not base or len(numbers) > (2 if family == "IP4" else 1):
        raise SdpError(f"bad c= address: {address!r}")
    if family == "IP6":
        return Connection(nettype, addrtype, base, count=numbers[0])
    return Connection(nettype, addrtype, base, numbers[0], numbers[1] if len(numbers) > 1 else None)


def _parse_bandwidth(value: str) -> Bandwidth:
    bwtype, colon, amount = value.partition(":")
    if not colon or not bwtype:
        raise SdpError(f"bad b= line: {value!r}")
    return Bandwidth(bwtype, _number(amount, "b= bandwidth"))


def _parse_timing(value: str) -> Timing:
    parts = _fields(value)
    if len(parts) != 2:
        raise SdpError(f"t= needs 2 fields: {value!r}")
    return Timing(_number(parts[0], "t= start"), _number(parts[1], "t= stop"))


def _parse_media(value: str) -> MediaDescription:
    parts = _fields(value)
    if len(parts) < 3:
        raise SdpError(f"m= needs media, port and proto: {value!r}")
    media, port_text, proto, *fmts = parts
    port, slash, count = port_text.partition("/")
    port_count = _number(count, "m= port count") if slash else None
    return MediaDescription(media, _number(port, "m= port", 65535), proto, fmts, port_count)


def _parse_attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    return Attribute(name, rest if colon else None)


_PLACEHOLDER_ORIGIN = Origin("-", "0", 0, "IN", "IP4", "0.0.0.0")


class _Parser:
    """Line-at-a-time builder; remembers each section's line order for `_arrange`."""

    __slots__ = ("clean", "layout", "media", "sdp", "seen", "session_layout")

    def __init__(self, clean: bool = False) -> None:
        self.clean = clean  # the body holds no stray CR and no NUL (see parse_sdp)
        self.sdp = SessionDescription(_PLACEHOLDER_ORIGIN, "", times=[])
        self.media: MediaDescription | None = None
        self.layout: list[str] = []
        self.session_layout = self.layout
        self.seen: set[str] = set()

    def feed(self, line: str) -> None:
        letter, value = line[0], line[2:]
        if line[1:2] != "=" or letter not in _LETTERS:
            raise SdpError(f"not a <type>=<value> line: {line[:40]!r}")
        if not self.clean and _FORBIDDEN.search(value):
            raise SdpError("CR or NUL inside a line")
        if not self.session_layout and letter != "v":
            raise SdpError("an SDP body must start with v=")
        if letter == "m":
            self._start_media(value)
        elif self.media is None:
            self._session_line(letter, value)
        else:
            self._media_line(self.media, letter, value)

    def finish(self) -> SessionDescription:
        if not self.session_layout:
            raise SdpError("empty SDP body")
        if self.media is None:
            self._check_session()
        self._close_section()
        return self.sdp

    def _once(self, letter: str, allowed: frozenset[str]) -> None:
        if letter in allowed:
            if letter in self.seen:
                raise SdpError(f"more than one {letter}= line in a section")
            self.seen.add(letter)

    def _close_section(self) -> None:
        if self.media is None:
            self.sdp._layout = tuple(self.layout)
        else:
            self.media._layout = tuple(self.layout)

    def _start_media(self, value: str) -> None:
        media = _parse_media(value)
        if self.media is None:
            self._check_session()
        self._close_section()
        self.sdp.media.append(media)
        self.media, self.layout, self.seen = media, ["m"], set()

    def _check_session(self) -> None:
        # RFC 8866 §5: o= and s= are mandatory; a missing t= is tolerated (old endpoints).
        for letter in "os":
            if letter not in self.session_layout:
                raise SdpError(f"no {letter}= line in the session section")

    def _session_line(self, letter: str, value: str) -> None:
        sdp = self.sdp
        self._once(letter, _SESSION_ONCE)
        match letter:
            case "v":
                if self.layout:
                    raise SdpError("v= may only be the first line")
                _number(value, "v=", 0)  # RFC 8866 §5.1: version 0 is the only one
            case "o":
                sdp.origin = _parse_origin(value)
            case "s":
                sdp.session_name = value
            case "i":
                sdp.information = value
            case "u":
                sdp.uri = value
            case "e":
                sdp.emails.append(value)
            case "p":
                sdp.phones.append(value)
            case "c":
                sdp.connection = _parse_connection(value)
            case "b":
                sdp.bandwidths.append(_parse_bandwidth(value))
            case "t":
                sdp.times.append(_parse_timing(value))
            case "r":
                self._repeat(value)
                return  # written with its t= line, so not part of the layout
            case "z":
                sdp.time_zones = value
            case "k":
                sdp.key = value
            case "a":
                sdp.attributes.append(_parse_attribute(value))
            case _:
                sdp.other_lines.append(Line(letter, value))
        self.layout.append(letter)

    def _repeat(self, value: str) -> None:
        # RFC 8866 §5.10: r= lines belong to the t= line before them.
        if not self.sdp.times:
            raise SdpError("r= without a t= line")
        last = self.sdp.times[-1]
        self.sdp.times[-1] = Timing(last.start, last.stop, (*last.repeats, value))

    def _media_line(self, media: MediaDescription, letter: str, value: str) -> None:
        self._once(letter, _MEDIA_ONCE)
        match letter:
            case "v":
                raise SdpError("v= inside a media section")
            case "i":
                media.information = value
            case "k":
                media.key = value
            case "c":
                connection = _parse_connection(value)
                if media.connection is None and not media.extra_connections:
                    media.connection = connection
                else:
                    media.extra_connections.append(connection)
            case "b":
                media.bandwidths.append(_parse_bandwidth(value))
            case "a":
                media.attributes.append(_parse_attribute(value))
            case _:
                # A session-only letter here is out of place but harmless: keep it verbatim.
                media.other_lines.append(Line(letter, value))
        self.layout.append(letter)
