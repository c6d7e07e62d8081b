"""RFC 3264 offer/answer helpers: codec intersection, directions, answers, hold detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkline.sip.offer_answer import (
    Codec,
    answer_direction,
    intersect_codecs,
    is_hold,
    negotiate_answer,
)
from trunkline.sip.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
    Timing,
    parse_sdp,
)


def crlf(text: str) -> bytes:
    return "".join(f"{line}\r\n" for line in text.strip("\n").split("\n")).encode()


BOB = Origin("bob", "2890844730", 2890844730, "IN", "IP4", "host.example.com")
ALICE = Origin("alice", "2890844526", 2890844527, "IN", "IP4", "host.anywhere.com")
PCMU = Codec.parse("PCMU/8000")
PCMA = Codec.parse("PCMA/8000")
G729 = Codec.parse("G729/8000")
OPUS = Codec.parse("opus/48000/2")
DTMF = Codec.parse("telephone-event/8000")
H261 = Codec.parse("H261/90000", media="video")
MPV = Codec.parse("MPV/90000", media="video")
VP8 = Codec.parse("VP8/90000", media="video")

# RFC 3264 §10.1, Alice's first offer.
RFC3264_OFFER = crlf("""
v=0
o=alice 2890844526 2890844526 IN IP4 host.anywhere.com
s=
c=IN IP4 host.anywhere.com
t=0 0
m=audio 49170 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 51372 RTP/AVP 31
a=rtpmap:31 H261/90000
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
""")

# RFC 3264 §10.1, Bob's later offer: new audio port, an extra receive-only event stream.
RFC3264_REOFFER = crlf("""
v=0
o=bob 2890844730 2890844731 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 65422 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
m=audio 51434 RTP/AVP 110
a=rtpmap:110 telephone-events/8000
a=recvonly
""")

TRUNK_OFFER = crlf("""
v=0
o=carrier 5 5 IN IP4 203.0.113.5
s=-
c=IN IP4 203.0.113.5
t=3338481189 3370017201
m=audio 30000 RTP/AVP 18 0 8 96 100 13
a=rtpmap:96 OPUS/48000/2
a=rtpmap:100 Telephone-Event/8000
a=fmtp:100 0-16
a=fmtp:18 annexb=yes
a=ptime:20
""")


def offer_with(*media_lines: str, session: str = "") -> SessionDescription:
    head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n" + session
    return parse_sdp(crlf(head + "\n".join(media_lines)))


# --- codecs -------------------------------------------------------------------------------------


def test_codec_parse() -> None:
    assert Codec.parse("opus/48000/2") == Codec("opus", 48000, 2, "audio", None)
    assert Codec.parse("H264/90000", "video", "packetization-mode=1") == Codec(
        "H264", 90000, None, "video", "packetization-mode=1"
    )
    for bad in ("PCMU", "PCMU/x", "PCMU/8000/2/1", "PCMU/8000/", "/"):
        with pytest.raises(ValueError, match="codec spec"):
            Codec.parse(bad)


def test_codec_matches_name_case_clock_and_channels() -> None:
    assert PCMU.matches(RtpMap(0, "pcmu", 8000))
    assert PCMU.matches(RtpMap(0, "PCMU", 8000, 1))  # one channel is the default
    assert not PCMU.matches(RtpMap(0, "PCMU", 16000))
    assert not PCMU.matches(RtpMap(0, "PCMU", 8000, 2))
    assert OPUS.matches(RtpMap(111, "OPUS", 48000, 2))
    assert not Codec.parse("opus/48000").matches(RtpMap(111, "opus", 48000, 2))


def test_intersection_keeps_offer_order_and_payload_numbers() -> None:
    media = parse_sdp(TRUNK_OFFER).media[0]
    found = intersect_codecs(media, [DTMF, PCMA, OPUS, PCMU])
    assert found == [
        (RtpMap(0, "PCMU", 8000), PCMU),
        (RtpMap(8, "PCMA", 8000), PCMA),
        (RtpMap(96, "OPUS", 48000, 2), OPUS),
        (RtpMap(100, "Telephone-Event", 8000), DTMF),
    ]


def test_intersection_of_static_types_without_rtpmap() -> None:
    media = offer_with("m=audio 4000 RTP/AVP 0 18 3").media[0]
    assert intersect_codecs(media, [G729, Codec.parse("gsm/8000")]) == [
        (RtpMap(18, "G729", 8000), G729),
        (RtpMap(3, "GSM", 8000), Codec.parse("gsm/8000")),
    ]


def test_intersection_needs_matching_media_type() -> None:
    media = offer_with("m=audio 4000 RTP/AVP 0").media[0]
    assert intersect_codecs(media, [Codec("PCMU", 8000, media="video")]) == []
    video = offer_with("m=VIDEO 4000 RTP/AVP 31").media[0]
    assert intersect_codecs(video, [H261]) == [(RtpMap(31, "H261", 90000), H261)]


def test_auxiliary_formats_alone_do_not_make_a_stream() -> None:
    media = offer_with(
        "m=audio 4000 RTP/AVP 9 101 13",
        "a=rtpmap:101 telephone-event/8000",
    ).media[0]
    assert intersect_codecs(media, [DTMF, Codec.parse("CN/8000")]) == []
    both = intersect_codecs(media, [DTMF, Codec.parse("G722/8000")])
    assert [rtpmap.payload_type for rtpmap, _ in both] == [9, 101]


def test_intersection_of_rejected_or_non_rtp_streams_is_empty() -> None:
    rejected = offer_with("m=audio 0 RTP/AVP 0").media[0]
    fax = offer_with("m=image 4000 udptl t38").media[0]
    assert intersect_codecs(rejected, [PCMU]) == []
    assert intersect_codecs(fax, [Codec("t38", 0, media="image")]) == []


# --- directions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "local", "expected"),
    [
        # RFC 3264 §6.1: what the offerer does decides what the answerer may do.
        (Direction.SENDONLY, Direction.SENDRECV, Direction.RECVONLY),
        (Direction.RECVONLY, Direction.SENDRECV, Direction.SENDONLY),
        (Direction.INACTIVE, Direction.SENDRECV, Direction.INACTIVE),
        (Direction.SENDRECV, Direction.SENDRECV, Direction.SENDRECV),
        (Direction.SENDRECV, Direction.SENDONLY, Direction.SENDONLY),
        (Direction.SENDRECV, Direction.RECVONLY, Direction.RECVONLY),
        (Direction.SENDRECV, Direction.INACTIVE, Direction.INACTIVE),
        (Direction.SENDONLY, Direction.SENDONLY, Direction.INACTIVE),
        (Direction.RECVONLY, Direction.RECVONLY, Direction.INACTIVE),
        (Direction.RECVONLY, Direction.SENDONLY, Direction.SENDONLY),
    ],
)
def test_answer_direction_table(offered: Direction, local: Direction, expected: Direction) -> None:
    assert answer_direction(offered, local) is expected


@given(st.sampled_from(Direction), st.sampled_from(Direction))
def test_answer_direction_never_sends_to_a_peer_that_does_not_receive(
    offered: Direction, local: Direction
) -> None:
    answer = answer_direction(offered, local)
    assert not answer.sends or (offered.receives and local.sends)
    assert not answer.receives or (offered.sends and local.receives)


# --- negotiate_answer ---------------------------------------------------------------------------


def test_rfc3264_basic_exchange_answer() -> None:
    # Bob refuses the H.261 stream because he has no H.261 (RFC 3264 §10.1).
    answer = negotiate_answer(
        parse_sdp(RFC3264_OFFER),
        [PCMU, MPV],
        "host.example.com",
        [49920, 51000, 53000],
        origin=BOB,
    )
    answer.session_name = ""
    assert answer.encode() == crlf("""
v=0
o=bob 2890844730 2890844730 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 49920 RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=sendrecv
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
a=sendrecv
""")


def test_rfc3264_reoffer_answer_mirrors_recvonly_and_keeps_rejection() -> None:
    answer = negotiate_answer(
        parse_sdp(RFC3264_REOFFER),
        [PCMU, H261, MPV, Codec.parse("telephone-events/8000")],
        "host.anywhere.com",
        [49170, 51372, 53000, 53122],
        origin=ALICE,
    )
    ports = [m.port for m in answer.media]
    assert ports == [49170, 0, 53000, 53122]  # a stream rejected in the offer stays rejected
    assert answer.media[3].fmts == ["110"]
    assert answer.media[3].attributes == [
        Attribute("rtpmap", "110 telephone-events/8000"),
        Attribute("sendonly"),
    ]
    assert answer.origin == ALICE


def test_trunk_offer_answer_codecs_fmtp_ptime() -> None:
    offer = parse_sdp(TRUNK_OFFER)
    g729b = Codec.parse("G729/8000", fmtp="annexb=no")
    answer = negotiate_answer(
        offer, [PCMA, DTMF, g729b], "2001:db8::7", [20000], origin=BOB, ptime=30
    )
    assert answer.connection == Connection("IN", "IP6", "2001:db8::7")
    assert answer.times == [Timing(3338481189, 3370017201)]  # RFC 3264 §6: t= as offered
    audio = answer.media[0]
    assert (audio.port, audio.proto, audio.fmts) == (20000, "RTP/AVP", ["18", "8", "100"])
    assert audio.attributes == [
        Attribute("rtpmap", "18 G729/8000"),
        Attribute("fmtp", "18 annexb=no"),  # the local fmtp wins over the offered one
        Attribute("rtpmap", "8 PCMA/8000"),
        Attribute("rtpmap", "100 Telephone-Event/8000"),
        Attribute("fmtp", "100 0-16"),  # echoed from the offer
        Attribute("ptime", "30"),
        Attribute("sendrecv"),
    ]
    assert parse_sdp(answer.encode()) == answer


def test_answer_follows_session_level_direction() -> None:
    offer = offer_with("m=audio 4000 RTP/AVP 0", session="a=sendonly\n")
    answer = negotiate_answer(offer, [PCMU], "192.0.2.9", [5000], origin=BOB)
    assert answer.media[0].direction is Direction.RECVONLY
    local_hold = negotiate_answer(
        offer_with("m=audio 4000 RTP/AVP 0"),
        [PCMU],
        "192.0.2.9",
        [5000],
        origin=BOB,
        direction=Direction.SENDONLY,
    )
    assert local_hold.media[0].direction is Direction.SENDONLY


def test_rejections_keep_order_and_formats() -> None:
    offer = offer_with(
        "m=audio 4000 RTP/SAVP 0",  # transport not allowed
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0",
        "m=audio 4002 RTP/AVP 0 8",  # refused locally with port 0
        "m=image 4004 udptl t38",  # not RTP
        "m=audio 4006 RTP/AVP 97",  # no codec in common
        "a=rtpmap:97 iLBC/8000",
        "m=audio 4008 RTP/AVP 8",  # accepted
    )
    answer = negotiate_answer(offer, [PCMU, PCMA], "192.0.2.9", [1, 0, 3, 4, 5], origin=BOB)
    assert [(m.media, m.port, m.proto, m.fmts) for m in answer.media] == [
        ("audio", 0, "RTP/SAVP", ["0"]),
        ("audio", 0, "RTP/AVP", ["0", "8"]),
        ("image", 0, "udptl", ["t38"]),
        ("audio", 0, "RTP/AVP", ["97"]),
        ("audio", 5, "RTP/AVP", ["8"]),
    ]
    assert all(m.attributes == [] for m in answer.media[:4])
    srtp = negotiate_answer(
        offer, [PCMU], "192.0.2.9", [1, 0, 0, 0, 0], origin=BOB, protocols={"RTP/SAVP"}
    )
    assert srtp.media[0].port == 1
    assert not srtp.media[0].has_attribute("crypto")  # keys are the caller's business


def test_webrtc_offer_answer() -> None:
    offer = parse_sdp(
        crlf("""
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=ice-ufrag:h/mp
a=sendrecv
a=rtpmap:111 opus/48000/2
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 0.0.0.0
a=ice-ufrag:h/mp
a=recvonly
a=rtpmap:96 VP8/90000
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
""")
    )
    answer = negotiate_answer(
        offer,
        [OPUS, PCMU, Codec.parse("telephone-event/48000"), VP8],
        "198.51.100.1",
        [40000, 40002],
        origin=BOB,
        protocols={"UDP/TLS/RTP/SAVPF"},
    )
    audio, video = answer.media
    assert audio.fmts == ["111", "0", "110"]
    assert video.fmts == ["96"]  # rtx not supported locally: dropped with its fmtp
    assert video.direction is Direction.SENDONLY
    assert not video.has_attribute("fmtp")
    assert answer.times == [Timing(0, 0)]


def test_offer_without_t_line_gets_t_zero() -> None:
    offer = parse_sdp(crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nm=audio 1 RTP/AVP 0"))
    answer = negotiate_answer(offer, [PCMU], "192.0.2.9", [2], origin=BOB)
    assert answer.times == [Timing(0, 0)]


def test_port_count_must_match_media_count() -> None:
    offer = offer_with("m=audio 1 RTP/AVP 0", "m=audio 3 RTP/AVP 0")
    with pytest.raises(ValueError, match="2 m-lines offered, 1 ports"):
        negotiate_answer(offer, [PCMU], "192.0.2.9", [5], origin=BOB)


_OFFERABLE = [
    ("0", None),
    ("8", None),
    ("18", None),
    ("9", None),
    ("96", "opus/48000/2"),
    ("97", "iLBC/8000"),
    ("101", "telephone-event/8000"),
    ("102", "telephone-event/48000"),
    ("13", None),
]


@st.composite
def _offers(draw: st.DrawFn) -> SessionDescription:
    offer = SessionDescription(origin=Origin("-", "1", 1, "IN", "IP4", "192.0.2.1"))
    offer.connection = Connection.for_address("192.0.2.1")
    offer.direction = draw(st.none() | st.sampled_from(Direction))
    for _ in range(draw(st.integers(0, 4))):
        chosen = draw(st.lists(st.sampled_from(_OFFERABLE), min_size=1, max_size=6, unique=True))
        proto = draw(st.sampled_from(["RTP/AVP", "RTP/SAVP", "udptl"]))
        media = MediaDescription("audio", draw(st.integers(0, 65535)), proto, [])
        for pt, mapping in chosen:
            media.fmts.append(pt)
            if mapping:
                media.attributes.append(Attribute("rtpmap", f"{pt} {mapping}"))
        media.direction = draw(st.none() | st.sampled_from(Direction))
        offer.media.append(media)
    return offer


_LOCAL = st.lists(
    st.sampled_from([PCMU, PCMA, G729, OPUS, DTMF, Codec.parse("iLBC/8000"), H261]),
    unique=True,
)


@settings(max_examples=300)
@given(_offers(), _LOCAL, st.sampled_from(Direction), st.data())
def test_answers_obey_rfc3264_section6(
    offer: SessionDescription, local: list[Codec], direction: Direction, data: st.DataObject
) -> None:
    offer = parse_sdp(offer.encode())
    ports = data.draw(
        st.lists(st.integers(0, 65535), min_size=len(offer.media), max_size=len(offer.media))
    )
    answer = negotiate_answer(offer, local, "192.0.2.9", ports, origin=BOB, direction=direction)
    assert len(answer.media) == len(offer.media)
    for offered, port, answered in zip(offer.media, ports, answer.media, strict=True):
        assert (answered.media, answered.proto) == (offered.media, offered.proto)
        if answered.is_rejected:
            assert answered.fmts == offered.fmts and answered.attributes == []
            continue
        assert not offered.is_rejected and answered.port == port
        positions = [offered.fmts.index(fmt) for fmt in answered.fmts]
        assert positions == sorted(positions) and positions  # a subset, in the offer's order
        names = {m.encoding.lower() for m in answered.rtpmaps().values()}
        assert names - {"telephone-event", "cn"}  # a real codec, not events alone
        assert all(any(c.matches(m) for c in local) for m in answered.rtpmaps().values())
        expected = answer_direction(offer.effective_direction(offered), direction)
        assert answered.direction is expected
    assert parse_sdp(answer.encode()) == answer


# --- hold ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "session", "held"),
    [
        (["a=sendonly"], "", True),  # RFC 3264 §8.4, the usual hold
        (["a=inactive"], "", True),  # hold while already held by the peer
        (["a=recvonly"], "", False),  # muting our own sending is not hold
        (["a=sendrecv"], "", False),
        ([], "", False),
        (["c=IN IP4 0.0.0.0"], "", True),  # RFC 2543 style
        (["c=IN IP6 ::"], "", True),
        (["c=IN IP4 0.0.0.0", "a=ice-ufrag:x"], "", False),  # trickle ICE, no candidate yet
        (["c=IN IP4 0.0.0.0"], "a=ice-ufrag:x\n", False),
        ([], "a=sendonly\n", True),  # session-level direction applies
        (["a=sendrecv"], "a=sendonly\n", False),  # media-level direction wins
    ],
)
def test_is_hold_media(lines: list[str], session: str, held: bool) -> None:
    sdp = offer_with("m=audio 4000 RTP/AVP 0", *lines, session=session)
    assert is_hold(sdp.media[0], sdp) is held
    assert is_hold(sdp) is held


def test_is_hold_session_level_connection_needs_the_session() -> None:
    sdp = parse_sdp(
        crlf("v=0\no=- 1 2 IN IP4 h\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 1 RTP/AVP 0")
    )
    assert is_hold(sdp.media[0], sdp)
    assert not is_hold(sdp.media[0])  # on its own the section says nothing about c=


def test_is_hold_ignores_rejected_streams() -> None:
    sdp = offer_with("m=audio 0 RTP/AVP 0", "a=sendonly", "m=video 5000 RTP/AVP 31", "a=inactive")
    assert not is_hold(sdp.media[0], sdp)
    assert is_hold(sdp)  # the only live stream is held
    sdp.media[1].direction = Direction.SENDRECV
    assert not is_hold(sdp)
    sdp.media[1].port = 0
    assert not is_hold(sdp)  # nothing live: not a hold, a session without media
    assert not is_hold(SessionDescription(origin=BOB))


def test_is_hold_needs_every_live_stream_held() -> None:
    sdp = offer_with("m=audio 4000 RTP/AVP 0", "a=sendonly", "m=video 4002 RTP/AVP 31")
    assert is_hold(sdp.media[0], sdp) and not is_hold(sdp.media[1], sdp)
    assert not is_hold(sdp)


def test_hold_and_resume_round() -> None:
    # After RFC 4317 §3.1: the holder re-offers sendonly with a new version, then resumes.
    answer = negotiate_answer(parse_sdp(RFC3264_OFFER), [PCMU], "192.0.2.9", [4, 0, 0], origin=BOB)
    assert not is_hold(answer)
    answer.media[0].direction = Direction.SENDONLY
    answer.bump_version()
    reoffer = parse_sdp(answer.encode())
    assert is_hold(reoffer) and reoffer.origin.sess_version == BOB.sess_version + 1
    reply = negotiate_answer(reoffer, [PCMU], "192.0.2.1", [6, 0, 0], origin=ALICE)
    assert reply.media[0].direction is Direction.RECVONLY and not is_hold(reply)
    reoffer.media[0].direction = Direction.SENDRECV
    reoffer.bump_version()
    assert not is_hold(parse_sdp(reoffer.encode()))
