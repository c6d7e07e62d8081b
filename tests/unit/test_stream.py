"""Framing SIP messages out of a TCP/TLS byte stream."""

from __future__ import annotations

import pytest

from trunkline.sip.errors import FramingError, ParseError
from trunkline.sip.message import Request, Response
from trunkline.sip.stream import KeepAlive, StreamParser

BODY = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"


def message(body: bytes = BODY, length: bytes | None = None, extra: bytes = b"") -> bytes:
    return (
        b"INVITE sip:bob@example.com SIP/2.0\r\n"
        b"Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
        b"Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
        + extra
        + b"Content-Length: "
        + (str(len(body)).encode() if length is None else length)
        + b"\r\n\r\n"
        + body
    )


def test_byte_by_byte() -> None:
    parser = StreamParser()
    data = message() * 2
    events = [e for i in range(len(data)) for e in parser.feed(data[i : i + 1])]
    assert len(events) == 2
    assert all(isinstance(e, Request) and e.body == BODY for e in events)
    assert parser.buffered == 0


def test_two_messages_in_one_read_and_a_partial_third() -> None:
    parser = StreamParser()
    third = message(b"abc")
    events = parser.feed(message() + message(b"") + third[:50])
    assert [e.body for e in events if isinstance(e, Request)] == [BODY, b""]
    assert parser.buffered == 50
    (last,) = parser.feed(third[50:])
    assert isinstance(last, Request) and last.body == b"abc"


def test_keepalive_ping_and_pong() -> None:
    parser = StreamParser()
    assert parser.feed(b"\r\n\r\n") == [KeepAlive(ping=True)]
    assert parser.feed(b"\r\n") == []  # maybe the first half of a ping: wait
    events = parser.feed(b"\r\n" + message())
    assert events[0] == KeepAlive(ping=True) and isinstance(events[1], Request)
    events = parser.feed(b"\r\n" + message())  # a single CRLF before a message: a pong
    assert events[0] == KeepAlive(ping=False) and isinstance(events[1], Request)


def test_message_without_content_length_has_empty_body() -> None:
    data = message().replace(b"Content-Length: " + str(len(BODY)).encode() + b"\r\n", b"")
    events = StreamParser().feed(data)
    assert isinstance(events[0], Request) and events[0].body == b""


def test_folded_and_compact_content_length() -> None:
    (msg,) = StreamParser().feed(message(length=b"\r\n  3", body=b"abc"))
    assert isinstance(msg, Request) and msg.body == b"abc"
    data = message(body=b"abcd").replace(b"Content-Length: 4", b"l : 4")
    (msg,) = StreamParser().feed(data)
    assert isinstance(msg, Request) and msg.body == b"abcd"


@pytest.mark.parametrize(
    "data",
    [
        message(length=b"-5"),  # RFC 4475 §3.1.2.3
        message(length=b"abc"),
        message(length=b"99999999999"),
        message(extra=b"l: 3\r\n"),  # RFC 4475 §3.3.9: conflicting values
    ],
)
def test_framing_errors_are_fatal(data: bytes) -> None:
    parser = StreamParser()
    with pytest.raises(FramingError) as info:
        parser.feed(data)
    assert isinstance(info.value, ParseError)
    with pytest.raises(FramingError):
        parser.feed(message())  # the stream is dead: close the connection


def test_size_limits() -> None:
    parser = StreamParser(max_header=200, max_body=10)
    with pytest.raises(FramingError) as info:
        parser.feed(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: " + b"x" * 300)
    assert info.value.status == 513
    parser = StreamParser(max_header=1000, max_body=10)
    with pytest.raises(FramingError) as info:
        parser.feed(message(b"y" * 11))
    assert info.value.status == 413
    parser = StreamParser(max_header=200)
    with pytest.raises(FramingError):
        parser.feed(message(extra=b"Subject: " + b"x" * 300 + b"\r\n"))  # complete but too big


def test_bad_message_with_good_framing_is_reported_and_parsing_continues() -> None:
    parser = StreamParser()
    bad = message(extra=b"CSeq: 2 INVITE\r\n")  # two CSeq: a 400, framing intact
    events = parser.feed(bad + message())
    assert isinstance(events[0], ParseError) and not isinstance(events[0], FramingError)
    assert events[0].status == 400 and events[0].is_request
    assert isinstance(events[1], Request)


def test_responses_are_framed_too() -> None:
    resp = (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 2\r\n\r\nok"
    )
    (msg,) = StreamParser().feed(resp)
    assert isinstance(msg, Response) and msg.body == b"ok"
