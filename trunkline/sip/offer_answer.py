"""The SDP offer/answer model (RFC 3264): answering an offer, directions, hold detection.

Pure functions over the `trunkline.sip.sdp` model. ``negotiate_answer`` builds a complete answer
for a simple media endpoint (a B2BUA leg or a relay): one answer m-line per offer m-line, codecs
intersected, directions mirrored. The pieces it is made of (``intersect_codecs``,
``answer_direction``) are public for callers that need to decide port allocation first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from trunkline.sip.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
    Timing,
)

__all__ = [
    "Codec",
    "answer_direction",
    "intersect_codecs",
    "is_hold",
    "negotiate_answer",
]

# Payload formats that only make sense next to a real codec (RFC 4733 DTMF, RFC 3389 comfort
# noise, RFC 2198 redundancy, RFC 4588 retransmission, RFC 5109/8627 FEC): a stream where
# nothing else matches is rejected rather than answered with, say, telephone-event alone.
_AUXILIARY = frozenset({"telephone-event", "cn", "red", "rtx", "ulpfec", "flexfec"})

# RFC 2543 put a stream on hold with c=0.0.0.0; RFC 3264 §8.4 still asks answerers to accept it.
# "::" is its IPv6 counterpart, which some IPv6 endpoints send. With ICE the same address means
# "no candidate gathered yet" (Trickle ICE, RFC 8838/RFC 8840), so it is not read as hold there.
_HOLD_ADDRESSES = frozenset({"0.0.0.0", "::"})


@dataclass(slots=True, frozen=True)
class Codec:
    """A codec the local side can handle, matched against an offer's payload types.

    ``encoding`` matches case-insensitively (RFC 4855 §3: media subtype names are
    case-insensitive); ``channels`` None means one. ``fmtp``, when set, replaces the offerer's
    ``a=fmtp`` for this codec in the answer; when None the offerer's parameters are echoed.
    """

    encoding: str
    clock_rate: int
    channels: int | None = None
    media: str = "audio"
    fmtp: str | None = None

    @classmethod
    def parse(cls, spec: str, media: str = "audio", fmtp: str | None = None) -> Codec:
        """A codec from rtpmap-style text: ``PCMU/8000``, ``opus/48000/2``."""
        parts = spec.split("/")
        if len(parts) not in (2, 3) or not all(p.isdigit() and p.isascii() for p in parts[1:]):
            raise ValueError(f"codec spec is not <name>/<clock>[/<channels>]: {spec!r}")
        channels = int(parts[2]) if len(parts) == 3 else None
        return cls(parts[0], int(parts[1]), channels, media, fmtp)

    def matches(self, rtpmap: RtpMap) -> bool:
        """Same encoding name, clock rate and channel count (RFC 3264 §6.1)."""
        return (
            self.encoding.lower() == rtpmap.encoding.lower()
            and self.clock_rate == rtpmap.clock_rate
            and (self.channels or 1) == (rtpmap.channels or 1)
        )


def intersect_codecs(
    offered: MediaDescription, supported: Sequence[Codec]
) -> list[tuple[RtpMap, Codec]]:
    """The offered payload types the local side supports, in the offerer's order.

    Each pair is the offerer's mapping (its payload type number, kept in the answer as RFC 3264
    §6.1 requires for the offerer's benefit) and the local `Codec` it matched. A static payload
    type without ``a=rtpmap`` matches by its RFC 3551 meaning. The list is empty when the stream
    is rejected in the offer (port 0), is not RTP, or when only auxiliary formats
    (telephone-event, CN, red, rtx, FEC) would match.
    """
    if offered.is_rejected or not offered.is_rtp:
        return []
    media = offered.media.lower()
    local = [codec for codec in supported if codec.media.lower() == media]
    found: list[tuple[RtpMap, Codec]] = []
    for rtpmap in offered.rtpmaps().values():
        codec = next((c for c in local if c.matches(rtpmap)), None)
        if codec is not None:
            found.append((rtpmap, codec))
    if all(rtpmap.encoding.lower() in _AUXILIARY for rtpmap, _ in found):
        return []
    return found


def answer_direction(offered: Direction, local: Direction) -> Direction:
    """The answer's direction for a stream (RFC 3264 §6.1).

    The answerer sends only if the offerer receives and the local side wants to send, and
    receives only if the offerer sends and the local side wants to receive: sendonly gets
    recvonly, recvonly gets sendonly, inactive gets inactive, sendrecv gets ``local``.
    """
    return Direction.from_flags(
        send=offered.receives and local.sends, receive=offered.sends and local.receives
    )


@dataclass(slots=True, frozen=True)
class _Policy:
    supported: Sequence[Codec]
    direction: Direction
    protocols: Collection[str]
    ptime: float | None


def negotiate_answer(
    offer: SessionDescription,
    supported: Sequence[Codec],
    local_address: str,
    local_ports: Sequence[int],
    *,
    origin: Origin,
    direction: Direction = Direction.SENDRECV,
    protocols: Collection[str] = ("RTP/AVP",),
    ptime: float | None = None,
) -> SessionDescription:
    """An answer to ``offer`` (RFC 3264 §6) from a local side at ``local_address``.

    The answer has one m-line per offered m-line, in the same order (§6). ``local_ports[i]`` is
    the port to answer m-line ``i`` with; 0 rejects it on purpose. An m-line is also rejected
    (port 0, offered formats echoed, no attributes) when the offer rejected it, when its
    transport is not in ``protocols`` (compared exactly, e.g. ``RTP/AVP``), or when
    `intersect_codecs` finds nothing. An accepted m-line lists the common codecs in the
    offerer's order with the offerer's payload types, an ``a=rtpmap`` for each, their
    ``a=fmtp``, ``a=ptime`` when given and an explicit direction from `answer_direction`
    (``direction`` being the local preference). ``c=`` is at session level; ``t=`` copies the
    offer's (§6). ``origin`` is the answerer's ``o=``: keep it per dialog and call
    ``bump_version`` when a later answer changes (§8). ICE, DTLS and SRTP keys are not
    answered here: a caller that terminates them adds its own attributes.

    Raises ValueError when ``local_ports`` does not have one entry per offered m-line.
    """
    if len(local_ports) != len(offer.media):
        raise ValueError(f"{len(offer.media)} m-lines offered, {len(local_ports)} ports given")
    policy = _Policy(supported, direction, protocols, ptime)
    answer = SessionDescription(
        origin=origin,
        connection=Connection.for_address(local_address),
        times=list(offer.times) or [Timing()],
    )
    for offered, port in zip(offer.media, local_ports, strict=True):
        answer.media.append(_answer_media(offer, offered, port, policy))
    return answer


def _answer_media(
    offer: SessionDescription, offered: MediaDescription, port: int, policy: _Policy
) -> MediaDescription:
    matched = intersect_codecs(offered, policy.supported)
    if port == 0 or not matched or offered.proto not in policy.protocols:
        # RFC 3264 §6: a refused stream keeps its place with port 0 and the offered formats.
        return MediaDescription(offered.media, 0, offered.proto, list(offered.fmts))
    answer = MediaDescription(offered.media, port, offered.proto, [])
    for rtpmap, codec in matched:
        answer.fmts.append(str(rtpmap.payload_type))
        answer.attributes.append(Attribute("rtpmap", rtpmap.value))
        fmtp = codec.fmtp if codec.fmtp is not None else offered.fmtp(rtpmap.payload_type)
        if fmtp is not None:
            answer.attributes.append(Attribute("fmtp", f"{rtpmap.payload_type} {fmtp}"))
    if policy.ptime is not None:
        answer.ptime = policy.ptime
    answer.direction = answer_direction(offer.effective_direction(offered), policy.direction)
    return answer


def is_hold(
    target: SessionDescription | MediaDescription, session: SessionDescription | None = None
) -> bool:
    """Whether an SDP puts its peer on hold: asks the peer to stop sending media.

    For a media section: True when the stream is not rejected (port 0 means removed, not held)
    and either its effective direction is sendonly or inactive (RFC 3264 §8.4), or its
    effective ``c=`` address is ``0.0.0.0`` (RFC 2543 style, §8.4) or ``::``, unless the stream
    uses ICE (``a=ice-ufrag`` at either level): there that address only means that no
    candidate is known yet. recvonly is not hold: it says the describer will not send, which
    is muting, not holding. Pass ``session`` so that session-level ``a=``/``c=`` lines apply;
    without it only the section's own lines count.

    For a whole SessionDescription: True when it has at least one non-rejected stream and all of
    them are on hold; False otherwise (so a re-INVITE that holds audio but keeps video is not).
    """
    if isinstance(target, SessionDescription):
        live = [m for m in target.media if not m.is_rejected]
        return bool(live) and all(is_hold(m, target) for m in live)
    if target.is_rejected:
        return False
    direction = target.direction or (session.direction if session else None)
    if direction in (Direction.SENDONLY, Direction.INACTIVE):
        return True
    connection = target.connection or (session.connection if session else None)
    if connection is None or connection.address not in _HOLD_ADDRESSES:
        return False
    return not any(level.has_attribute("ice-ufrag") for level in (target, session) if level)
