"""Multipart bodies (RFC 2046 §5.1, RFC 5621) and media types."""

from __future__ import annotations

import pytest

from trunkline.sip.errors import ParseError
from trunkline.sip.multipart import BodyPart, build_multipart, parse_media_type, parse_multipart

CTYPE = 'multipart/mixed;boundary="unique-boundary-1"'
BINARY = b"\x00\x01\r\n--not-a-boundary\r\x7f\n"


def test_media_type() -> None:
    media = parse_media_type('Multipart/Mixed ; boundary="b 1"; charset=UTF-8')
    assert media.essence == "multipart/mixed"
    assert media.param("boundary") == "b 1" and media.param("CHARSET") == "UTF-8"
    assert media.param("absent") is None
    with pytest.raises(ParseError):
        parse_media_type("text")


def test_round_trip_with_binary_part() -> None:
    parts = [
        BodyPart([("content-type", "application/sdp")], b"v=0\r\n"),
        BodyPart([("content-type", "application/octet-stream")], BINARY),
    ]
    body = build_multipart(parts, "unique-boundary-1")
    parsed = parse_multipart(CTYPE, b"preamble\r\n" + body + b"epilogue")
    assert [(p.header("Content-Type"), p.body) for p in parsed] == [
        ("application/sdp", b"v=0\r\n"),
        ("application/octet-stream", BINARY),
    ]
    assert parsed[0].content_type.essence == "application/sdp"


def test_part_without_headers_is_text_plain() -> None:
    body = b"--b\r\n\r\nhello\r\n--b\r\nContent-Type: text/html\r\n folded\r\n\r\n<p>\r\n--b--"
    first, second = parse_multipart("multipart/alternative; boundary=b", body)
    assert first.headers == [] and first.body == b"hello"
    assert first.content_type.essence == "text/plain"
    assert second.header("content-type") == "text/html folded"


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("application/sdp", b"--b\r\n\r\nx\r\n--b--"),  # not multipart
        ("multipart/mixed", b"--b\r\n\r\nx\r\n--b--"),  # no boundary
        ("multipart/mixed;boundary=" + "b" * 71, b""),  # boundary too long
        ("multipart/mixed;boundary=b", b"no delimiter"),
        ("multipart/mixed;boundary=b", b"--b"),  # unterminated delimiter line
        ("multipart/mixed;boundary=b", b"--b\r\n\r\nx"),  # no closing boundary
        ("multipart/mixed;boundary=b", b"--b\r\nContent-Type: x\r\nno blank line\r\n--b--"),
        ("multipart/mixed;boundary=b", b"--b\r\nno colon\r\n\r\nx\r\n--b--"),
        ("multipart/mixed;boundary=b", b"--b\r\n\r\nx\r\n" * 70 + b"--b--"),  # too many parts
    ],
)
def test_bad_multipart(ctype: str, body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_multipart(ctype, body)
