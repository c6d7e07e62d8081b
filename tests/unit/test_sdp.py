"""SDP model (RFC 8866): parsing, serialization, round trips, attribute helpers, edits."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from trunkline.sip.errors import ParseError, SdpError
from trunkline.sip.sdp import (
    STATIC_PAYLOAD_TYPES,
    Attribute,
    Bandwidth,
    Connection,
    Crypto,
    Direction,
    Line,
    MediaDescription,
    Origin,
    Rtcp,
    RtpMap,
    SessionDescription,
    Timing,
    _number,
    parse_sdp,
)
from trunkline.sip.sdp_types import _BLANKS, _DIGITS, _fields


def crlf(text: str) -> bytes:
    """Test bodies are written one line per source line; the wire wants CRLF."""
    return "".join(f"{line}\r\n" for line in text.strip("\n").split("\n")).encode()


# RFC 3264 §10.1, Alice's first offer: audio plus two video streams.
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

# RFC 3264 §10.1, Bob's answer: the first video stream refused with port 0.
RFC3264_ANSWER = crlf("""
v=0
o=bob 2890844730 2890844730 IN IP4 host.example.com
s=
c=IN IP4 host.example.com
t=0 0
m=audio 49920 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 0 RTP/AVP 31
m=video 53000 RTP/AVP 32
a=rtpmap:32 MPV/90000
""")

# A browser offer: BUNDLE, trickle ICE (port 9, c=0.0.0.0), DTLS-SRTP, rtcp-mux, SSRCs.
WEBRTC_OFFER = crlf("""
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS 5c1d2f
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1467250027 1 udp 2122260223 192.0.2.196 46243 typ host generation 0
a=candidate:842163049 1 udp 1677729535 198.51.100.7 46243 typ srflx raddr 192.0.2.196 rport 46243
a=ice-ufrag:h/mp
a=ice-pwd:1Mq4kVmYkqTQS/Fw4mmVY0pb
a=ice-options:trickle
a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=sendrecv
a=msid:5c1d2f 0a1b2c
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3735928559 cname:r7MvJqWbT3nKdQ1x
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:h/mp
a=ice-pwd:1Mq4kVmYkqTQS/Fw4mmVY0pb
a=ice-options:trickle
a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A
a=setup:actpass
a=mid:1
a=recvonly
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
""")

# SDES-SRTP offer from a SIP trunk (RFC 4568 §9.1 style crypto lines), with a=rtcp and ptime.
SRTP_OFFER = crlf("""
v=0
o=trunk 1000 1001 IN IP4 203.0.113.5
s=SBC call
c=IN IP4 203.0.113.5
b=AS:84
t=0 0
m=audio 30000 RTP/SAVP 8 0 101
b=TIAS:64000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20 KDR=1
a=rtcp:30001 IN IP4 203.0.113.6
a=ptime:20
a=maxptime:40
""")

# RFC 5118 §4.6 (file ipv6-in-sdp), the body as in the RFC archive: bare LF, no brackets.
RFC5118_IPV6_IN_SDP = b"""v=0
o=assistant 971731711378798081 0 IN IP6 2001:db8::20
s=Live video feed for today's meeting
c=IN IP6 2001:db8::20
t=3338481189 3370017201
m=audio 6000 RTP/AVP 2
a=rtpmap:2 G726-32/8000
m=video 6024 RTP/AVP 107
a=rtpmap:107 H263-1998/90000
"""

# RFC 5118 §4.8 (file mult-ip-in-sdp): a c= per media line, one IPv4 and one IPv6.
RFC5118_MULT_IP_IN_SDP = b"""v=0
o=bob 280744730 28977631 IN IP4 host.example.com
s=
t=0 0
m=audio 22334 RTP/AVP 0
c=IN IP4 192.0.2.1
m=video 6024 RTP/AVP 107
c=IN IP6 2001:db8::1
a=rtpmap:107 H263-1998/90000
"""

# RFC 5118 §4.9 (file ipv4-mapped-ipv6): IPv4-mapped IPv6 addresses in o= and c=.
RFC5118_IPV4_MAPPED = b"""v=0
o=assistant 971731711378798081 0 IN IP6 ::ffff:192.0.2.2
s=Call me soon, please!
c=IN IP6 ::ffff:192.0.2.2
t=3338481189 3370017201
m=audio 6000 RTP/AVP 2
a=rtpmap:2 G726-32/8000
m=video 6024 RTP/AVP 107
a=rtpmap:107 H263-1998/90000
"""

CRLF_BODIES = [RFC3264_OFFER, RFC3264_ANSWER, WEBRTC_OFFER, SRTP_OFFER]
LF_BODIES = [RFC5118_IPV6_IN_SDP, RFC5118_MULT_IP_IN_SDP, RFC5118_IPV4_MAPPED]


# --- parsing real bodies ------------------------------------------------------------------------


def test_rfc3264_offer_fields() -> None:
    sdp = parse_sdp(RFC3264_OFFER)
    assert sdp.version == 0
    assert sdp.origin == Origin("alice", "2890844526", 2890844526, "IN", "IP4", "host.anywhere.com")
    assert sdp.session_name == ""
    assert sdp.connection == Connection("IN", "IP4", "host.anywhere.com")
    assert sdp.times == [Timing(0, 0)]
    assert [(m.media, m.port, m.proto, m.fmts) for m in sdp.media] == [
        ("audio", 49170, "RTP/AVP", ["0"]),
        ("video", 51372, "RTP/AVP", ["31"]),
        ("video", 53000, "RTP/AVP", ["32"]),
    ]
    assert sdp.media[2].attributes == [Attribute("rtpmap", "32 MPV/90000")]


def test_rfc3264_answer_rejected_stream() -> None:
    sdp = parse_sdp(RFC3264_ANSWER)
    assert [m.is_rejected for m in sdp.media] == [False, True, False]
    assert sdp.media[1].attributes == []
    assert sdp.media[1].fmts == ["31"]


@pytest.mark.parametrize("body", CRLF_BODIES)
def test_crlf_bodies_round_trip_byte_for_byte(body: bytes) -> None:
    assert parse_sdp(body).encode() == body
    assert bytes(parse_sdp(body)) == body


@pytest.mark.parametrize("body", LF_BODIES)
def test_lf_bodies_parse_and_serialize_with_crlf(body: bytes) -> None:
    sdp = parse_sdp(body)
    assert sdp.encode() == body.replace(b"\n", b"\r\n")
    assert parse_sdp(body.replace(b"\n", b"\r\n")) == sdp


def test_rfc5118_ipv6_in_sdp() -> None:
    sdp = parse_sdp(RFC5118_IPV6_IN_SDP)
    assert sdp.origin.addrtype == "IP6"
    assert sdp.origin.address == "2001:db8::20"
    assert sdp.origin.sess_id == "971731711378798081"
    assert sdp.connection == Connection("IN", "IP6", "2001:db8::20")
    assert sdp.times == [Timing(3338481189, 3370017201)]
    assert sdp.session_name == "Live video feed for today's meeting"
    # An explicit rtpmap for payload type 2 is what counts (RFC 3551 left 2 unassigned).
    assert sdp.media[0].rtpmaps() == {2: RtpMap(2, "G726-32", 8000)}
    assert sdp.media[1].rtpmaps() == {107: RtpMap(107, "H263-1998", 90000)}
    assert all(sdp.effective_connection(m) == sdp.connection for m in sdp.media)


def test_rfc5118_multiple_addresses_per_media() -> None:
    sdp = parse_sdp(RFC5118_MULT_IP_IN_SDP)
    assert sdp.connection is None
    audio, video = sdp.media
    assert sdp.effective_connection(audio) == Connection("IN", "IP4", "192.0.2.1")
    assert sdp.effective_connection(video) == Connection("IN", "IP6", "2001:db8::1")
    assert audio.rtpmaps() == {0: RtpMap(0, "PCMU", 8000)}  # static, no a=rtpmap


def test_rfc5118_ipv4_mapped_ipv6() -> None:
    sdp = parse_sdp(RFC5118_IPV4_MAPPED)
    assert sdp.origin.address == "::ffff:192.0.2.2"
    assert sdp.connection == Connection("IN", "IP6", "::ffff:192.0.2.2")


def test_webrtc_offer_passes_ice_and_dtls_through() -> None:
    sdp = parse_sdp(WEBRTC_OFFER)
    audio, video = sdp.media
    assert audio.port == 9 and audio.proto == "UDP/TLS/RTP/SAVPF" and audio.is_rtp
    assert sdp.get_attribute("group") == Attribute("group", "BUNDLE 0 1")
    assert sdp.get_attribute("msid-semantic") == Attribute("msid-semantic", " WMS 5c1d2f")
    assert len(audio.get_attributes("candidate")) == 2
    assert audio.get_attribute("ice-ufrag") == Attribute("ice-ufrag", "h/mp")
    assert audio.get_attribute("setup") == Attribute("setup", "actpass")
    assert audio.has_attribute("rtcp-mux")
    assert audio.rtcp == Rtcp(9, "IN", "IP4", "0.0.0.0")
    assert list(audio.rtpmaps()) == [111, 63, 9, 0, 8, 13, 110, 126]
    assert audio.rtpmaps()[111] == RtpMap(111, "opus", 48000, 2)
    assert audio.fmtp(111) == "minptime=10;useinbandfec=1"
    assert audio.fmtp("63") == "111/111"
    assert audio.fmtp(0) is None
    assert audio.direction is Direction.SENDRECV
    assert video.direction is Direction.RECVONLY
    assert video.fmtp(97) == "apt=96"
    # The edit a relay makes: its own address and port, everything else untouched.
    audio.port = 40000
    audio.connection = Connection.for_address("198.51.100.1")
    out = sdp.encode()
    assert (
        b"m=audio 40000 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 198.51.100.1\r\n"
        in out
    )
    assert out.replace(b"40000", b"9").replace(b"198.51.100.1", b"0.0.0.0", 1) == WEBRTC_OFFER


def test_srtp_offer_crypto_rtcp_ptime_bandwidth() -> None:
    sdp = parse_sdp(SRTP_OFFER)
    audio = sdp.media[0]
    assert sdp.bandwidths == [Bandwidth("AS", 84)]
    assert audio.bandwidths == [Bandwidth("TIAS", 64000)]
    assert audio.cryptos() == [
        Crypto(
            1,
            "AES_CM_128_HMAC_SHA1_80",
            ("inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",),
        ),
        Crypto(
            2,
            "AES_CM_128_HMAC_SHA1_32",
            ("inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20",),
            ("KDR=1",),
        ),
    ]
    assert audio.rtcp == Rtcp(30001, "IN", "IP4", "203.0.113.6")
    assert audio.ptime == 20.0
    assert audio.rtpmaps() == {
        8: RtpMap(8, "PCMA", 8000),
        0: RtpMap(0, "PCMU", 8000),
        101: RtpMap(101, "telephone-event", 8000),
    }
    assert audio.fmtp(101) == "0-16"


def test_crypto_keys_with_several_key_params_split_on_semicolons() -> None:
    media = MediaDescription("audio", 1, "RTP/SAVP", ["0"])
    media.attributes.append(Attribute("crypto", "7 F8_128_HMAC_SHA1_80 inline:AAA;inline:BBB"))
    media.attributes.append(Attribute("crypto", "x AES_CM_128_HMAC_SHA1_80 inline:AAA"))
    media.attributes.append(Attribute("crypto", "3 AES_CM_128_HMAC_SHA1_80"))
    assert media.cryptos() == [Crypto(7, "F8_128_HMAC_SHA1_80", ("inline:AAA", "inline:BBB"))]


# --- payload types ------------------------------------------------------------------------------


def test_static_payload_types_follow_rfc3551() -> None:
    assert STATIC_PAYLOAD_TYPES[0] == RtpMap(0, "PCMU", 8000)
    assert STATIC_PAYLOAD_TYPES[3] == RtpMap(3, "GSM", 8000)
    assert STATIC_PAYLOAD_TYPES[4] == RtpMap(4, "G723", 8000)
    assert STATIC_PAYLOAD_TYPES[8] == RtpMap(8, "PCMA", 8000)
    assert STATIC_PAYLOAD_TYPES[9] == RtpMap(9, "G722", 8000)
    assert STATIC_PAYLOAD_TYPES[10] == RtpMap(10, "L16", 44100, 2)
    assert STATIC_PAYLOAD_TYPES[18] == RtpMap(18, "G729", 8000)
    assert STATIC_PAYLOAD_TYPES[34] == RtpMap(34, "H263", 90000)
    assert 2 not in STATIC_PAYLOAD_TYPES and 96 not in STATIC_PAYLOAD_TYPES
    with pytest.raises(TypeError):
        STATIC_PAYLOAD_TYPES[96] = RtpMap(96, "x", 1)  # type: ignore[index]


def test_rtpmaps_defaults_overrides_and_skips() -> None:
    media = MediaDescription("audio", 5004, "RTP/AVP", ["18", "0", "96", "97", "300", "x"])
    media.attributes += [
        Attribute("rtpmap", "0 pcmu/8000"),  # explicit beats the static default
        Attribute("rtpmap", "97 speex"),  # malformed: no clock rate, so 97 is unknown
        Attribute("rtpmap", "98 opus/48000/2"),  # not in fmts
        Attribute("fmtp", "18 annexb=no"),
    ]
    assert media.rtpmaps() == {18: RtpMap(18, "G729", 8000), 0: RtpMap(0, "pcmu", 8000)}
    assert media.fmtp(18) == "annexb=no"


def test_rtpmaps_ignore_formats_that_are_not_payload_types() -> None:
    # Unicode digits pass str.isdigit() but not int(); 128+ is not an RTP payload type.
    media = MediaDescription("audio", 5004, "RTP/AVP", ["\u00b2", "\u0663", "128", "0x1", "8"])
    media.attributes.append(Attribute("rtpmap", "\u0663 foo/8000"))
    assert media.rtpmaps() == {8: RtpMap(8, "PCMA", 8000)}


def test_rtpmaps_empty_for_non_rtp_media() -> None:
    t38 = parse_sdp(
        crlf("""
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=image 4000 udptl t38
a=T38FaxVersion:0
""")
    )
    assert not t38.media[0].is_rtp
    assert t38.media[0].rtpmaps() == {}


def test_rtpmap_value_renders_channels_only_when_given() -> None:
    assert RtpMap(0, "PCMU", 8000).value == "0 PCMU/8000"
    assert RtpMap(111, "opus", 48000, 2).value == "111 opus/48000/2"


# --- directions ---------------------------------------------------------------------------------


def test_direction_flags_and_reversal() -> None:
    assert [d.sends for d in Direction] == [True, True, False, False]
    assert [d.receives for d in Direction] == [True, False, True, False]
    assert Direction.SENDONLY.reversed() is Direction.RECVONLY
    assert Direction.RECVONLY.reversed() is Direction.SENDONLY
    assert Direction.SENDRECV.reversed() is Direction.SENDRECV
    assert Direction.INACTIVE.reversed() is Direction.INACTIVE
    for d in Direction:
        assert Direction.from_flags(send=d.sends, receive=d.receives) is d


def test_effective_direction_falls_back_to_session_then_sendrecv() -> None:
    sdp = parse_sdp(
        crlf("""
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
a=sendonly
m=audio 4000 RTP/AVP 0
m=audio 4002 RTP/AVP 0
a=inactive
""")
    )
    first, second = sdp.media
    assert sdp.direction is Direction.SENDONLY
    assert first.direction is None
    assert sdp.effective_direction(first) is Direction.SENDONLY
    assert sdp.effective_direction(second) is Direction.INACTIVE
    sdp.direction = None
    assert sdp.effective_direction(first) is Direction.SENDRECV
    assert b"a=sendonly" not in sdp.encode()


def test_direction_setter_replaces_in_place() -> None:
    media = MediaDescription("audio", 4000, "RTP/AVP", ["0"])
    media.attributes = [Attribute("rtpmap", "0 PCMU/8000"), Attribute("sendrecv"), Attribute("x")]
    media.direction = Direction.SENDONLY
    assert media.attributes == [
        Attribute("rtpmap", "0 PCMU/8000"),
        Attribute("sendonly"),
        Attribute("x"),
    ]
    assert type(media.attributes[1].name) is str
    media.direction = None
    assert media.attributes == [Attribute("rtpmap", "0 PCMU/8000"), Attribute("x")]
    media.direction = Direction.INACTIVE
    assert media.attributes[-1] == Attribute("inactive")


def test_direction_needs_a_flag_attribute() -> None:
    media = MediaDescription("audio", 4000, "RTP/AVP", ["0"])
    media.attributes = [Attribute("sendonly", "yes")]
    assert media.direction is None


# --- attribute helpers --------------------------------------------------------------------------


def test_attribute_helpers() -> None:
    media = MediaDescription("audio", 4000, "RTP/AVP", ["0"])
    media.attributes = [Attribute("a", "1"), Attribute("b"), Attribute("a", "2")]
    assert media.get_attribute("a") == Attribute("a", "1")
    assert media.get_attribute("A") is None  # names are case-sensitive
    assert media.get_attributes("a") == [Attribute("a", "1"), Attribute("a", "2")]
    assert media.has_attribute("b") and not media.has_attribute("c")
    media.set_attribute("a", "3")
    assert media.attributes == [Attribute("a", "3"), Attribute("b")]
    media.set_attribute("c")
    assert media.attributes[-1] == Attribute("c")
    assert media.remove_attributes("b") == 1
    assert media.remove_attributes("b") == 0
    assert str(Attribute("c")) == "c" and str(Attribute("c", "")) == "c:"


def test_ptime_getter_and_setter() -> None:
    media = MediaDescription("audio", 4000, "RTP/AVP", ["0"])
    assert media.ptime is None
    media.ptime = 30
    assert media.attributes == [Attribute("ptime", "30")]
    assert media.ptime == 30.0
    media.ptime = 22.5
    assert media.attributes == [Attribute("ptime", "22.5")]
    media.attributes = [Attribute("ptime", "abc")]
    assert media.ptime is None
    media.ptime = None
    assert media.attributes == []


def test_rtcp_getter_and_setter() -> None:
    media = MediaDescription("audio", 4000, "RTP/AVP", ["0"])
    assert media.rtcp is None
    media.rtcp = Rtcp(4001)
    assert media.attributes == [Attribute("rtcp", "4001")]
    assert media.rtcp == Rtcp(4001)
    media.rtcp = Rtcp(5001, "IN", "IP6", "2001:db8::5")
    assert media.attributes == [Attribute("rtcp", "5001 IN IP6 2001:db8::5")]
    media.rtcp = Rtcp(5003, address="2001:db8::6")
    assert media.attributes == [Attribute("rtcp", "5003 IN IP6 2001:db8::6")]
    media.rtcp = Rtcp(5005, address="192.0.2.6")
    assert media.rtcp == Rtcp(5005, "IN", "IP4", "192.0.2.6")
    for broken in ("", "70000", "5001 IN IP4", "x"):
        media.attributes = [Attribute("rtcp", broken)]
        assert media.rtcp is None
    media.rtcp = None
    assert media.attributes == []


# --- connections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("IN IP4 224.2.36.42/127", Connection("IN", "IP4", "224.2.36.42", ttl=127)),
        ("IN IP4 224.2.1.1/127/3", Connection("IN", "IP4", "224.2.1.1", 127, 3)),
        ("IN IP6 ff15::101/3", Connection("IN", "IP6", "ff15::101", count=3)),
        ("IN IP6 2001:db8::1", Connection("IN", "IP6", "2001:db8::1")),
        ("IN IP4 media.example.com", Connection("IN", "IP4", "media.example.com")),
        ("ATM NSAP 47.0005.80.ffe100/x", Connection("ATM", "NSAP", "47.0005.80.ffe100/x")),
    ],
)
def test_connection_lines(line: str, expected: Connection) -> None:
    body = crlf(f"v=0\no=- 1 1 IN IP4 h\ns=-\nc={line}\nt=0 0")
    sdp = parse_sdp(body)
    assert sdp.connection == expected
    assert sdp.encode() == body


@pytest.mark.parametrize(
    "line",
    ["IN IP4", "IN IP4 a b", "IN IP4 224.2.1.1/x", "IN IP6 ff15::1/3/4", "IN IP4 /3", ""],
)
def test_bad_connection_lines(line: str) -> None:
    with pytest.raises(SdpError, match="line 4"):
        parse_sdp(crlf(f"v=0\no=- 1 1 IN IP4 h\ns=-\nc={line}\nt=0 0"))


def test_connection_for_address() -> None:
    assert Connection.for_address("192.0.2.1") == Connection("IN", "IP4", "192.0.2.1")
    assert Connection.for_address("2001:db8::1") == Connection("IN", "IP6", "2001:db8::1")
    # RFC 5118 §4.6: no brackets in SDP even when the caller has a SIP-style reference.
    assert Connection.for_address("[2001:db8::1]") == Connection("IN", "IP6", "2001:db8::1")


def test_extra_media_connections_are_kept() -> None:
    body = crlf("""
v=0
o=- 1 1 IN IP4 h
s=-
t=0 0
m=video 51372/2 RTP/AVP 99
c=IN IP4 224.2.1.1/127/2
c=IN IP4 224.2.1.3/127/2
a=rtpmap:99 h263-1998/90000
""")
    sdp = parse_sdp(body)
    video = sdp.media[0]
    assert video.port == 51372 and video.port_count == 2
    assert video.connection == Connection("IN", "IP4", "224.2.1.1", 127, 2)
    assert video.extra_connections == [Connection("IN", "IP4", "224.2.1.3", 127, 2)]
    assert sdp.encode() == body


# --- edits re-serialize -------------------------------------------------------------------------


def test_relay_rewrites_addresses_and_ports() -> None:
    sdp = parse_sdp(RFC3264_OFFER)
    sdp.connection = Connection.for_address("2001:db8::99")
    for media, port in zip(sdp.media, (10000, 10002, 10004), strict=True):
        media.port = port
    sdp.media[1].connection = Connection.for_address("198.51.100.9")
    sdp.bump_version()
    assert sdp.encode() == crlf("""
v=0
o=alice 2890844526 2890844527 IN IP4 host.anywhere.com
s=
c=IN IP6 2001:db8::99
t=0 0
m=audio 10000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
m=video 10002 RTP/AVP 31
c=IN IP4 198.51.100.9
a=rtpmap:31 H261/90000
m=video 10004 RTP/AVP 32
a=rtpmap:32 MPV/90000
""")


def test_added_lines_go_where_rfc8866_puts_them() -> None:
    sdp = parse_sdp(RFC5118_MULT_IP_IN_SDP)
    sdp.connection = Connection.for_address("192.0.2.50")
    sdp.bandwidths.append(Bandwidth("AS", 128))
    sdp.attributes.append(Attribute("tool", "trunkline"))
    sdp.information = "info"
    audio, video = sdp.media
    audio.connection = None
    audio.bandwidths.append(Bandwidth("AS", 64))
    audio.attributes.append(Attribute("ptime", "20"))
    video.attributes.insert(0, Attribute("sendonly"))
    video.information = "camera"
    assert sdp.encode() == crlf("""
v=0
o=bob 280744730 28977631 IN IP4 host.example.com
s=
i=info
c=IN IP4 192.0.2.50
b=AS:128
t=0 0
a=tool:trunkline
m=audio 22334 RTP/AVP 0
b=AS:64
a=ptime:20
m=video 6024 RTP/AVP 107
i=camera
c=IN IP6 2001:db8::1
a=sendonly
a=rtpmap:107 H263-1998/90000
""")


def test_out_of_order_lines_come_back_in_their_own_order() -> None:
    # a= before c= and t=, b= after a= in media: not RFC 8866 order, but a peer sent it.
    body = crlf("""
v=0
o=- 7 7 IN IP4 192.0.2.1
s=-
a=recvonly
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
c=IN IP4 192.0.2.2
b=AS:64
""")
    sdp = parse_sdp(body)
    assert sdp.encode() == body
    sdp.media[0].attributes.append(Attribute("ptime", "20"))
    sdp.attributes.append(Attribute("tool", "x"))
    assert sdp.encode() == body.replace(b"recvonly\r\n", b"recvonly\r\na=tool:x\r\n").replace(
        b"PCMU/8000\r\n", b"PCMU/8000\r\na=ptime:20\r\n"
    )


def test_removed_lines_disappear() -> None:
    sdp = parse_sdp(SRTP_OFFER)
    sdp.bandwidths.clear()
    sdp.media[0].bandwidths.clear()
    sdp.media[0].remove_attributes("crypto")
    sdp.media[0].rtcp = None
    out = sdp.encode()
    assert b"b=" not in out and b"crypto" not in out and b"a=rtcp" not in out
    assert out.endswith(b"a=ptime:20\r\na=maxptime:40\r\n")
    assert parse_sdp(out) == sdp


def test_media_can_be_added_and_removed() -> None:
    sdp = parse_sdp(RFC3264_ANSWER)
    del sdp.media[1]
    sdp.media.append(MediaDescription("audio", 53122, "RTP/AVP", ["110"]))
    sdp.media[-1].attributes.append(Attribute("rtpmap", "110 telephone-events/8000"))
    sdp.media[-1].direction = Direction.SENDONLY
    assert sdp.encode().endswith(
        b"m=video 53000 RTP/AVP 32\r\na=rtpmap:32 MPV/90000\r\n"
        b"m=audio 53122 RTP/AVP 110\r\na=rtpmap:110 telephone-events/8000\r\na=sendonly\r\n"
    )


def test_bump_version_increments_only_the_version() -> None:
    sdp = parse_sdp(RFC3264_ANSWER)
    before = sdp.origin
    sdp.bump_version()
    sdp.bump_version()
    assert sdp.origin.sess_version == before.sess_version + 2
    assert (sdp.origin.username, sdp.origin.sess_id, sdp.origin.address) == (
        before.username,
        before.sess_id,
        before.address,
    )
    assert b"o=bob 2890844730 2890844732 IN IP4" in sdp.encode()


def test_built_by_hand_comes_out_in_rfc_order() -> None:
    sdp = SessionDescription(
        origin=Origin("trunkline", "42", 1, "IN", "IP4", "192.0.2.10"),
        connection=Connection.for_address("192.0.2.10"),
        attributes=[Attribute("sendrecv")],
        media=[
            MediaDescription(
                "audio",
                20000,
                "RTP/AVP",
                ["0", "101"],
                attributes=[
                    Attribute("rtpmap", "101 telephone-event/8000"),
                    Attribute("fmtp", "101 0-15"),
                ],
            )
        ],
        other_lines=[Line("x", "extension")],
        emails=["ops@example.com"],
        phones=["+1 555 0100"],
        uri="https://example.com",
        time_zones="2882844526 -1h",
        key="prompt",
    )
    sdp.times[0] = Timing(1, 2, ("604800 3600 0 90000",))
    assert sdp.encode() == crlf("""
v=0
o=trunkline 42 1 IN IP4 192.0.2.10
s=-
u=https://example.com
e=ops@example.com
p=+1 555 0100
c=IN IP4 192.0.2.10
t=1 2
r=604800 3600 0 90000
z=2882844526 -1h
k=prompt
a=sendrecv
x=extension
m=audio 20000 RTP/AVP 0 101
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
""")
    assert parse_sdp(sdp.encode()) == sdp


def test_serializing_refuses_line_injection() -> None:
    sdp = parse_sdp(RFC3264_OFFER)
    sdp.session_name = "x\r\nc=IN IP4 203.0.113.66"
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        sdp.encode()
    sdp.session_name = ""
    sdp.media[0].attributes.append(Attribute("x", "a\nb"))
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        sdp.encode()


# --- liberal parsing ----------------------------------------------------------------------------


def test_unknown_letters_and_attributes_survive_in_place() -> None:
    body = crlf("""
v=0
o=- 1 1 IN IP4 h
y=session extension
s=-
t=0 0
r=7d 1h 0 25h
a=unknown-flag
a=unknown:with:colons
m=audio 4000 RTP/AVP 0
q=media extension
a=x-custom: spaced  value
t=5 6
""")
    sdp = parse_sdp(body)
    assert sdp.other_lines == [Line("y", "session extension")]
    assert sdp.times == [Timing(0, 0, ("7d 1h 0 25h",))]
    assert sdp.attributes == [Attribute("unknown-flag"), Attribute("unknown", "with:colons")]
    # A session-only letter inside a media section is out of place; it is kept, not applied.
    assert sdp.media[0].other_lines == [Line("q", "media extension"), Line("t", "5 6")]
    assert sdp.media[0].attributes == [Attribute("x-custom", " spaced  value")]
    assert sdp.encode() == body


def test_blank_lines_missing_final_newline_and_extra_spaces_are_tolerated() -> None:
    body = (
        b"v=0\n\no=-  1 01  IN IP4 h\r\ns=-\r\nc=IN  IP4\t192.0.2.1\nt=0 0\n"
        b"m=audio  4000  RTP/AVP 0  8\r\na=sendonly"
    )
    sdp = parse_sdp(body)
    assert sdp.origin == Origin("-", "1", 1, "IN", "IP4", "h")
    assert sdp.connection == Connection("IN", "IP4", "192.0.2.1")
    assert sdp.media[0].fmts == ["0", "8"]
    assert sdp.media[0].direction is Direction.SENDONLY
    assert sdp.encode() == crlf("""
v=0
o=- 1 1 IN IP4 h
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 4000 RTP/AVP 0 8
a=sendonly
""")


def test_missing_t_line_is_tolerated() -> None:
    body = crlf("v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 0 RTP/AVP")
    sdp = parse_sdp(body)
    assert sdp.times == []
    assert sdp.media[0].fmts == []
    assert sdp.encode() == body


def test_trailing_blanks_in_text_lines_are_kept() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=- \r\nt=0 0\r\na=tool:x \t\r\n"
    sdp = parse_sdp(body)
    assert sdp.session_name == "- "
    assert sdp.attributes == [Attribute("tool", "x \t")]
    assert sdp.encode() == body


def test_non_utf8_text_is_carried_through() -> None:
    body = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=Caf\xe9\r\nt=0 0\r\na=charset:ISO-8859-1\r\n"
    assert parse_sdp(body).encode() == body
    utf8 = "v=0\r\no=- 1 1 IN IP4 h\r\ns=Café ☎\r\nt=0 0\r\n".encode()
    assert parse_sdp(utf8).session_name == "Café ☎"
    assert parse_sdp(utf8).encode() == utf8


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"o=- 1 1 IN IP4 h\r\nv=0\r\n", "start with v="),
        (b"v=1\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "out of range"),
        (b"v=0\r\ns=-\r\nt=0 0\r\n", "no o= line"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n", "no s= line"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nv=0\r\n", "first line"),
        (b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", "6 fields"),
        (b"v=0\r\no=- 1 x IN IP4 h\r\ns=-\r\n", "version is not a number"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\no=- 1 1 IN IP4 h\r\ns=-\r\n", "more than one o="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n", "more than one c="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0\r\n", "t= needs 2"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nr=1 2 3\r\n", "r= without"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nb=AS\r\n", "bad b="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nb=AS:x\r\n", "bandwidth is not"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1\r\n", "m= needs"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 65536 RTP/AVP 0\r\n", "out of range"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1/x RTP/AVP 0\r\n", "port count"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nv=0\r\n", "media section"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=a 1 R 0\r\ni=x\r\ni=y\r\n", "more than one i="),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nhello\r\n", "not a <type>=<value>"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n1=x\r\n", "not a <type>=<value>"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n a=x\r\n", "not a <type>=<value>"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=a\rb\r\n", "CR or NUL"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\ns=a\x00b\r\n", "CR or NUL"),
        (b"v=0\r\no=- 1 " + b"9" * 5000 + b" IN IP4 h\r\ns=-\r\n", "not a number"),
    ],
)
def test_malformed_bodies_raise_sdp_error(body: bytes, detail: str) -> None:
    with pytest.raises(SdpError, match=detail) as info:
        parse_sdp(body)
    assert info.value.status == 488
    assert info.value.reason == "Not Acceptable Here"


def test_sdp_error_is_a_parse_error_with_line_number() -> None:
    with pytest.raises(ParseError) as info:
        parse_sdp(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4\r\n")
    assert isinstance(info.value, SdpError)
    assert "line 4" in info.value.detail
    assert repr(info.value).startswith("SdpError(488 Not Acceptable Here")
    custom = SdpError("x", 415, "Unsupported Media Type")
    assert (custom.status, custom.reason) == (415, "Unsupported Media Type")


# --- property tests -----------------------------------------------------------------------------

_SDP_LETTERS = "vosiuepcbtrzkamxy"
_TEXT_CHARS = st.characters(codec="utf-8", exclude_characters="\r\n\x00")
_SDPISH_CHARS = st.sampled_from([*"0123456789 /:.-=\tIPN4P6abcRTAV\r\n", "\x00", "é"])


def _tokens(exclude: str = "", min_size: int = 1) -> st.SearchStrategy[str]:
    chars = st.characters(
        codec="utf-8",
        exclude_characters=" \t\r\n\x00" + exclude,  # utf-8 already rules out surrogates
    )
    return st.text(chars, min_size=min_size, max_size=12)


_TEXT = st.text(_TEXT_CHARS, max_size=20)
_NUMBER = st.integers(min_value=0, max_value=10**19)


@st.composite
def _connections(draw: st.DrawFn) -> Connection:
    addrtype = draw(st.sampled_from(["IP4", "IP6", "X25"]))
    address = draw(_tokens("/"))
    ttl = count = None
    if addrtype == "IP4" and draw(st.booleans()):
        ttl = draw(st.integers(0, 255))
        count = draw(st.none() | st.integers(1, 9))
    elif addrtype == "IP6":
        count = draw(st.none() | st.integers(1, 9))
    return Connection(draw(_tokens()), addrtype, address, ttl, count)


_ATTRIBUTES = st.builds(Attribute, _tokens(":"), st.none() | _TEXT)
_BANDWIDTHS = st.builds(Bandwidth, _tokens(":"), _NUMBER)


@st.composite
def _media(draw: st.DrawFn) -> MediaDescription:
    connection = draw(st.none() | _connections())
    extra = draw(st.lists(_connections(), max_size=2)) if connection else []
    media_letters = st.sampled_from([c for c in "ostuyxzqer" if c not in "micbkav"])
    return MediaDescription(
        draw(_tokens()),
        draw(st.integers(0, 65535)),
        draw(_tokens()),
        draw(st.lists(_tokens(), max_size=5)),
        port_count=draw(st.none() | st.integers(1, 9)),
        connection=connection,
        bandwidths=draw(st.lists(_BANDWIDTHS, max_size=2)),
        attributes=draw(st.lists(_ATTRIBUTES, max_size=5)),
        information=draw(st.none() | _TEXT),
        key=draw(st.none() | _TEXT),
        extra_connections=extra,
        other_lines=draw(st.lists(st.builds(Line, media_letters, _TEXT), max_size=2)),
    )


@st.composite
def _sessions(draw: st.DrawFn) -> SessionDescription:
    origin = Origin(
        draw(_tokens()),
        draw(_tokens()),
        draw(_NUMBER),
        draw(_tokens()),
        draw(_tokens()),
        draw(_tokens()),
    )
    timing = st.builds(Timing, _NUMBER, _NUMBER, st.lists(_TEXT, max_size=2).map(tuple))
    return SessionDescription(
        origin=origin,
        session_name=draw(_TEXT),
        connection=draw(st.none() | _connections()),
        times=draw(st.lists(timing, max_size=2)),
        bandwidths=draw(st.lists(_BANDWIDTHS, max_size=2)),
        attributes=draw(st.lists(_ATTRIBUTES, max_size=4)),
        media=draw(st.lists(_media(), max_size=3)),
        information=draw(st.none() | _TEXT),
        uri=draw(st.none() | _TEXT),
        emails=draw(st.lists(_TEXT, max_size=2)),
        phones=draw(st.lists(_TEXT, max_size=2)),
        time_zones=draw(st.none() | _TEXT),
        key=draw(st.none() | _TEXT),
        other_lines=draw(st.lists(st.builds(Line, st.sampled_from("xywXY"), _TEXT), max_size=2)),
    )


@settings(max_examples=300)
@given(_sessions())
def test_generated_sessions_round_trip(sdp: SessionDescription) -> None:
    body = sdp.encode()
    parsed = parse_sdp(body)
    assert parsed == sdp
    assert parsed.encode() == body
    for media in parsed.media:  # the helpers read anything the parser accepted
        media.rtpmaps()
        media.cryptos()
        _ = (media.ptime, media.rtcp, media.direction, media.fmtp(0))


def _interleave_sections(body: bytes, seed: int) -> bytes:
    """Reorder lines inside each section: v=/m= stay first, r= stays after its t=, and lines
    that share a list in the model (same letter, or any unknown letter) keep their order."""
    rng = random.Random(seed)
    sections: list[list[list[bytes]]] = []
    for line in body.split(b"\r\n")[:-1]:
        if line.startswith((b"v=", b"m=")):
            sections.append([])
        if line.startswith(b"r=") and len(sections) == 1:
            sections[-1][-1].append(line)
        else:
            sections[-1].append([line])
    out: list[bytes] = []
    for units in sections:
        known = b"vosiuepcbtzka" if units[0][0].startswith(b"v=") else b"micbka"
        by_letter: dict[bytes, list[list[bytes]]] = {}
        for unit in units[1:]:
            letter = unit[0][:1]  # unknown letters share one list, other_lines
            by_letter.setdefault(letter if letter in known else b"?", []).append(unit)
        picks = [letter for letter, group in by_letter.items() for _ in group]
        rng.shuffle(picks)
        out += units[0]
        for letter in picks:
            out += by_letter[letter].pop(0)
    return b"".join(line + b"\r\n" for line in out)


@settings(max_examples=200)
@given(_sessions(), st.integers())
def test_any_line_order_survives_a_round_trip(sdp: SessionDescription, seed: int) -> None:
    shuffled = _interleave_sections(sdp.encode(), seed)
    parsed = parse_sdp(shuffled)
    assert parsed == sdp
    assert parsed.encode() == shuffled


def _check_parse_never_crashes(data: bytes) -> None:
    try:
        sdp = parse_sdp(data)
    except SdpError:
        return
    # Whatever parsed serializes, and serializing is a fixed point after one pass.
    body = sdp.encode()
    again = parse_sdp(body)
    assert again == sdp
    assert again.encode() == body
    for media in sdp.media:  # helpers never raise either
        media.rtpmaps()
        media.cryptos()
        _ = (media.ptime, media.rtcp, media.direction, media.fmtp(0))


_WORDS = st.sampled_from(
    [
        "IN",
        "IP4",
        "IP6",
        "0",
        "1",
        "20",
        "65536",
        "99999999999999999999",
        "192.0.2.1",
        "::1",
        "224.2.1.1/127/2",
        "ff15::1/3",
        "a/b",
        "RTP/AVP",
        "audio",
        "AS:64",
        "AS:",
        "rtpmap:0",
        "PCMU/8000",
        "96 opus/48000/2",
        "sendonly",
        "inactive",
        "crypto:1",
        "inline:QUJD|2^20",
        "rtcp:9",
        "ptime:20.5",
        "fmtp:101",
        "0-16",
        "",
        "é",
        "\udcff",
    ]
)
_VALUES = st.lists(_WORDS, max_size=7).flatmap(
    lambda words: st.sampled_from([" ", "  ", "\t", "/", ":"]).map(lambda sep: sep.join(words))
)
_PLAUSIBLE = st.sampled_from(
    [
        ("m", "audio 4000 RTP/AVP 0 8 101"),
        ("m", "video 0 RTP/SAVPF 96"),
        ("m", "image 4002/2 udptl t38"),
        ("c", "IN IP4 192.0.2.1"),
        ("c", "IN IP6 ff15::1/3"),
        ("c", "IN IP4 0.0.0.0"),
        ("b", "AS:64"),
        ("t", "0 0"),
        ("r", "7d 1h 0 25h"),
        ("i", "info"),
        ("k", "prompt"),
        ("a", "rtpmap:0 PCMU/8000"),
        ("a", "rtpmap:101 telephone-event/8000"),
        ("a", "fmtp:101 0-16"),
        ("a", "sendonly"),
        ("a", "ptime:20"),
        ("a", "rtcp:4001 IN IP4 192.0.2.2"),
        ("a", "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD|2^20|1:32"),
        ("a", "ice-ufrag:abcd"),
        ("x", "unknown"),
    ]
)
_RANDOM_LINE = st.tuples(
    st.sampled_from(_SDP_LETTERS), st.one_of(_VALUES, st.text(_SDPISH_CHARS, max_size=25))
)
_SDPISH_LINES = st.lists(st.one_of(_PLAUSIBLE, _PLAUSIBLE, _RANDOM_LINE), max_size=14)


@settings(max_examples=500)
@given(st.booleans(), _SDPISH_LINES, st.sampled_from(["\r\n", "\n"]))
@example(True, [("m", "audio 1 RTP/AVP 0"), ("c", "IN IP4 224.2.1.1/127/2")], "\n")
def test_sdp_shaped_text_raises_only_sdp_error(
    header: bool, lines: list[tuple[str, str]], eol: str
) -> None:
    start = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-"] if header else ["v=0"]
    text = "".join(line + eol for line in start)
    text += "".join(f"{letter}={value}{eol}" for letter, value in lines)
    _check_parse_never_crashes(text.encode("utf-8", "surrogateescape"))


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_sdp_error(data: bytes) -> None:
    _check_parse_never_crashes(data)


@settings(max_examples=300)
@given(
    st.sampled_from(CRLF_BODIES + LF_BODIES),
    st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=3)), min_size=1, max_size=4),
)
def test_mutated_real_bodies_raise_only_sdp_error(
    body: bytes, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(body)
    for position, chunk in edits:
        at = position % (len(data) + 1)
        data[at : at + len(chunk)] = chunk
    assume(bytes(data) != body)
    _check_parse_never_crashes(bytes(data))


# ---- the fast paths of the line readers -------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t1a\u00a0\x0b", max_size=12))
def test_fields_split_as_the_grammar_does(value: str) -> None:
    """Blanks are SP and HTAB only (RFC 8866 §9), however the line is spaced."""
    assert _fields(value) == [part for part in _BLANKS.split(value) if part]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0129\u00b2\u0663 -+", max_size=22))
def test_numbers_are_ascii_digits_only(text: str) -> None:
    expected = int(text) if _DIGITS.fullmatch(text) else None
    try:
        got: int | None = _number(text, "test")
    except SdpError:
        got = None
    assert got == expected
