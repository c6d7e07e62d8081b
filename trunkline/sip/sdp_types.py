"""The small SDP value types (RFC 8866, RFC 3264, RFC 3605, RFC 4568) and their text forms.

One job: the immutable field values a `trunkline.sip.sdp.SessionDescription` is made of (``o=``,
``c=``, ``b=``, ``t=``, ``a=`` and the ``a=rtpmap``/``a=rtcp``/``a=crypto`` views, the
direction attributes, the RFC 3551 static payload types), each with the ``str`` form written
back on the wire. The lenient attribute readers here never raise: a malformed value reads as
absent. Import these names from `trunkline.sip.sdp`, which re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "Attribute",
    "Bandwidth",
    "Connection",
    "Crypto",
    "Direction",
    "Origin",
    "Rtcp",
    "RtpMap",
    "Timing",
]

_BLANKS = re.compile(r"[ \t]+")
_DIGITS = re.compile(r"[0-9]{1,20}")
_FORBIDDEN = re.compile(r"[\x00\r\n]")
_RTPMAP = re.compile(r"([0-9]{1,3})[ \t]+([^/ \t]+)/([0-9]{1,10})(?:/([0-9]{1,3}))?[ \t]*")


def _fields(value: str) -> list[str]:
    """Split a structured line on blanks; RFC 8866 asks for single spaces, peers send more."""
    if "\t" not in value and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value.split(" ") if value else []  # the usual single spaces: no regex
    return [part for part in _BLANKS.split(value) if part]


def _line(letter: str, value: str) -> str:
    """One ``x=value`` line; refuses values that would smuggle in another line."""
    if "\r" in value or "\n" in value or "\x00" in value:  # cheaper than the regex here
        raise ValueError(f"SDP {letter}= value contains CR, LF or NUL: {value!r}")
    return f"{letter}={value}"


class Direction(StrEnum):
    """Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1), from the describer's side."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """True when the side that wrote this SDP will send media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """True when the side that wrote this SDP wants to receive media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def from_flags(cls, *, send: bool, receive: bool) -> Direction:
        """The direction that sends and/or receives as asked."""
        if send:
            return cls.SENDRECV if receive else cls.SENDONLY
        return cls.RECVONLY if receive else cls.INACTIVE

    def reversed(self) -> Direction:
        """The same flow seen from the other end (sendonly <-> recvonly)."""
        return Direction.from_flags(send=self.receives, receive=self.sends)


_DIRECTIONS = frozenset(d.value for d in Direction)


@dataclass(slots=True, frozen=True)
class Origin:
    """``o=`` (RFC 8866 §5.2). ``sess_version`` must grow with each change (RFC 3264 §8)."""

    username: str
    sess_id: str
    sess_version: int
    nettype: str
    addrtype: str
    address: str

    def __str__(self) -> str:
        return (
            f"{self.username} {self.sess_id} {self.sess_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(slots=True, frozen=True)
class Connection:
    """``c=`` (RFC 8866 §5.7). ``address`` is text: IPv4, IPv6 without brackets (RFC 5118 §4.6)
    or an FQDN. ``ttl`` is for IP4 multicast only; ``count`` is the number of consecutive
    multicast addresses (``/<n>``), which for IP4 needs a ``ttl`` before it."""

    nettype: str
    addrtype: str
    address: str
    ttl: int | None = None
    count: int | None = None

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """``IN IP6`` for an address with a colon, ``IN IP4`` otherwise; drops ``[]``."""
        address = address.removeprefix("[").removesuffix("]")
        return cls("IN", "IP6" if ":" in address else "IP4", address)

    def __str__(self) -> str:
        text = f"{self.nettype} {self.addrtype} {self.address}"
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            text += f"/{self.count}"
        return text


@dataclass(slots=True, frozen=True)
class Bandwidth:
    """``b=<bwtype>:<bandwidth>`` (RFC 8866 §5.8), e.g. ``AS`` in kbit/s, ``TIAS`` in bit/s."""

    bwtype: str
    bandwidth: int

    def __str__(self) -> str:
        return f"{self.bwtype}:{self.bandwidth}"


@dataclass(slots=True, frozen=True)
class Timing:
    """``t=<start> <stop>`` (RFC 8866 §5.9) with its ``r=`` lines kept as text (§5.10)."""

    start: int = 0
    stop: int = 0
    repeats: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The ``t=`` line followed by its ``r=`` lines."""
        return [_line("t", f"{self.start} {self.stop}")] + [_line("r", r) for r in self.repeats]


@dataclass(slots=True, frozen=True)
class Attribute:
    """``a=<name>`` (a flag, ``value`` None) or ``a=<name>:<value>`` (RFC 8866 §5.13)."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(slots=True, frozen=True)
class RtpMap:
    """``a=rtpmap`` (RFC 8866 §6.6). ``channels`` None means not given (one, for audio)."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    @property
    def value(self) -> str:
        """The attribute value: ``<pt> <encoding>/<clock rate>[/<channels>]``."""
        text = f"{self.payload_type} {self.encoding}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"


@dataclass(slots=True, frozen=True)
class Rtcp:
    """``a=rtcp`` (RFC 3605): where the peer wants RTCP when it is not RTP port + 1."""

    port: int
    nettype: str | None = None
    addrtype: str | None = None
    address: str | None = None

    @property
    def value(self) -> str:
        """The attribute value: ``<port> [<nettype> <addrtype> <address>]``."""
        if self.address is None:
            return str(self.port)
        addrtype = self.addrtype or ("IP6" if ":" in self.address else "IP4")
        return f"{self.port} {self.nettype or 'IN'} {addrtype} {self.address}"


@dataclass(slots=True, frozen=True)
class Crypto:
    """A read-only view of ``a=crypto`` (RFC 4568 §9.1); the attribute itself stays verbatim.

    ``key_params`` are the ``;``-separated ``<method>:<info>`` items, e.g.
    ``inline:<base64 key||salt>|2^20|1:32``; ``session_params`` the trailing items.
    """

    tag: int
    suite: str
    key_params: tuple[str, ...]
    session_params: tuple[str, ...] = ()


def _payload_type(fmt: str) -> int | None:
    """An RTP payload type from an ``m=`` format, or None when it is not one (RFC 3550 §5.1)."""
    if len(fmt) > 3 or not _DIGITS.fullmatch(fmt):
        return None
    value = int(fmt)
    return value if value <= 127 else None


def _parse_rtpmap(value: str) -> RtpMap | None:
    match = _RTPMAP.fullmatch(value.strip())
    if match is None:
        return None
    pt, encoding, clock_rate, channels = match.groups()
    return RtpMap(int(pt), encoding, int(clock_rate), int(channels) if channels else None)


# RFC 3551 §6 tables 4 and 5: payload types that name a codec without any a=rtpmap. G722 has an
# 8000 Hz RTP clock although it samples at 16 kHz (RFC 3551 §4.5.2).
_STATIC = (
    "0 PCMU/8000,3 GSM/8000,4 G723/8000,5 DVI4/8000,6 DVI4/16000,7 LPC/8000,8 PCMA/8000,"
    "9 G722/8000,10 L16/44100/2,11 L16/44100,12 QCELP/8000,13 CN/8000,14 MPA/90000,"
    "15 G728/8000,16 DVI4/11025,17 DVI4/22050,18 G729/8000,25 CelB/90000,26 JPEG/90000,"
    "28 nv/90000,31 H261/90000,32 MPV/90000,33 MP2T/90000,34 H263/90000"
)
STATIC_PAYLOAD_TYPES: Mapping[int, RtpMap] = MappingProxyType(
    {m.payload_type: m for m in map(_parse_rtpmap, _STATIC.split(",")) if m is not None}
)


def _parse_rtcp(value: str) -> Rtcp | None:
    parts = _fields(value)
    if len(parts) not in (1, 4) or not _DIGITS.fullmatch(parts[0]) or int(parts[0]) > 65535:
        return None
    if len(parts) == 1:
        return Rtcp(int(parts[0]))
    return Rtcp(int(parts[0]), parts[1], parts[2], parts[3])


def _parse_crypto(value: str) -> Crypto | None:
    parts = _fields(value)
    if len(parts) < 3 or len(parts[0]) > 9 or not _DIGITS.fullmatch(parts[0]):
        return None  # RFC 4568 §9.1: tag = 1*9DIGIT
    return Crypto(int(parts[0]), parts[1], tuple(parts[2].split(";")), tuple(parts[3:]))
