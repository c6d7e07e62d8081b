"""Message API: header access and edits, exact write-back, responses, start lines."""

from __future__ import annotations

import pytest

from trunkline.sip.error_answer import error_response
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.uri import parse_uri

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    b"v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1, SIP/2.0/TCP p2.example.com\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b'm: <sip:alice@pc33.atlanta.example.com>, "Al, B" <sip:al@b.example.com>;q=0.5\r\n'
    b"Route: <sip:p1.example.com;lr>\r\n"
    b"Route: <sip:p2.example.com;lr>\r\n"
    b"X-Folded: one\r\n two\r\n\tthree\r\n"
    b"c: application/sdp\r\n"
    b"l: 5\r\n\r\n"
    b"v=0\r\n"
)


def req(data: bytes = INVITE) -> Request:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def test_header_access_compact_forms_and_case() -> None:
    msg = req()
    assert msg.header("CALL-ID") == msg.header("i") == b"a84b4c76e66710@pc33.atlanta.example.com"
    assert msg.header_str("content-type") == "application/sdp"
    assert msg.header("x-folded") == b"one two three"  # unfolded, one SP per fold
    assert msg.header("absent") is None and not msg.has_header("absent")
    assert msg.header_values("Via") == [
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
        "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1",
        "SIP/2.0/TCP p2.example.com",
    ]
    assert msg.header_values("contact")[1] == '"Al, B" <sip:al@b.example.com>;q=0.5'
    assert msg.header_values("x-folded") == ["one two three"]  # not a list header: not split
    assert msg.header_names()[:3] == ["via", "via", "max-forwards"]
    assert dict(msg)["cseq"] == b"314159 INVITE"


def test_structured_access() -> None:
    msg = req()
    assert [v.branch for v in msg.vias] == ["z9hG4bK776asdhds", "z9hG4bK1", None]
    assert msg.top_via.host == "pc33.atlanta.example.com"
    assert msg.from_.tag == msg.from_tag == "1928301774" and msg.to_tag is None
    assert msg.to.display == "Bob"
    assert [c.display for c in msg.contacts] == [None, "Al, B"]
    assert [str(r.uri) for r in msg.routes] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert msg.record_routes == []
    assert (msg.cseq.number, msg.cseq.method, msg.max_forwards) == (314159, "INVITE", 70)
    assert msg.content_type == "application/sdp" and msg.body == b"v=0\r\n"
    assert msg.content_length == 5
    msg.validate()


def test_untouched_message_is_written_back_byte_for_byte() -> None:
    assert bytes(req()) == INVITE


def test_an_edit_re_serializes_only_that_header() -> None:
    msg = req()
    msg.max_forwards = msg.max_forwards - 1 if msg.max_forwards else 0
    out = bytes(msg)
    assert b"Max-Forwards: 69\r\n" in out
    assert out.replace(b"Max-Forwards: 69", b"Max-Forwards: 70") == INVITE
    assert parse_message(out).max_forwards == 69


def test_add_header_first_and_pop_first_value() -> None:
    msg = req()
    msg.add_header("Via", "SIP/2.0/UDP sbc.example.net;branch=z9hG4bKsbc", first=True)
    assert msg.top_via.host == "sbc.example.net" and len(msg.vias) == 4
    assert bytes(msg).index(b"sbc.example.net") < bytes(msg).index(b"pc33")
    assert msg.pop_first_value("via") == "SIP/2.0/UDP sbc.example.net;branch=z9hG4bKsbc"
    assert bytes(msg) == INVITE  # the removed line leaves the others as they were
    assert (
        msg.pop_first_value("v") == "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
    )
    assert msg.pop_first_value("via") == "SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1"
    assert msg.top_via.host == "p2.example.com" and len(msg.vias) == 1
    assert msg.pop_first_value("route") == "<sip:p1.example.com;lr>"
    assert msg.pop_first_value("absent") is None
    msg.add_header("X-New", b"raw")
    assert bytes(msg).endswith(b"X-New: raw\r\n\r\nv=0\r\n")


def test_set_and_remove_header() -> None:
    msg = req()
    msg.set_header("route", "<sip:only.example.com;lr>")
    assert msg.header_values("Route") == ["<sip:only.example.com;lr>"]
    assert msg.remove_header("route") == 1 and msg.routes == []
    assert msg.remove_header("route") == 0
    msg.set_header("Subject", "hi")
    assert b"\r\nSubject: hi\r\n" in bytes(msg)
    msg.set_header("call-id", "new@x")
    assert msg.call_id == "new@x"  # cached value invalidated
    msg.set_header("cseq", "2 INVITE")
    assert msg.cseq.number == 2


def test_update_top_via_and_update_address() -> None:
    msg = req()
    msg.top_via.set_param("received", "192.0.2.9")
    msg.update_top_via()
    out = bytes(msg)
    assert (
        b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.9\r\n"
        in out
    )
    assert parse_message(out).top_via.received == "192.0.2.9"
    msg.to.tag = "as83kd9bs"
    msg.update_address("to")
    again = parse_message(bytes(msg))
    assert again.to_tag == "as83kd9bs" and again.to.display == "Bob"
    assert bytes(msg).count(b"\r\n") == INVITE.count(b"\r\n")


def test_body_setter_updates_content_length() -> None:
    msg = req()
    msg.body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"
    again = parse_message(bytes(msg))
    assert again.body == msg.body and again.content_length == len(msg.body)
    assert msg.header_values("content-length") == [str(len(msg.body))]
    msg.set_body(b"", None)
    assert msg.content_type is None and parse_message(bytes(msg)).body == b""


def test_create_response() -> None:
    msg = req()
    resp = msg.create_response(180, to_tag="abc")
    again = parse_message(bytes(resp))
    assert isinstance(again, Response)
    assert (again.status, again.reason, again.to_tag) == (180, "Ringing", "abc")
    assert [str(v) for v in again.vias] == [str(v) for v in msg.vias]
    assert (again.call_id, again.cseq, again.from_tag) == (msg.call_id, msg.cseq, msg.from_tag)
    assert not again.has_header("contact") and again.content_length == 0
    assert msg.create_response(100, to_tag="abc").to_tag is None  # 100 gets no tag
    msg.to.tag = "kept"
    msg.update_address("to")
    assert msg.create_response(200, "Fine", to_tag="other").to_tag == "kept"
    assert bytes(msg.create_response(200, "Fine")).startswith(b"SIP/2.0 200 Fine\r\n")
    assert again.is_provisional and not again.is_final


def test_building_a_request() -> None:
    msg = Request("OPTIONS", parse_uri("sip:carol@chicago.com"))
    for name, value in [
        ("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKnew"),
        ("From", "<sip:a@b>;tag=1"),
        ("To", "<sip:carol@chicago.com>"),
        ("Call-ID", "x@y"),
        ("CSeq", "1 OPTIONS"),
        ("Max-Forwards", "70"),
    ]:
        msg.add_header(name, value)
    out = bytes(msg)
    assert out.startswith(b"OPTIONS sip:carol@chicago.com SIP/2.0\r\nVia: ")
    assert b"\r\nCall-ID: x@y\r\nCSeq: 1 OPTIONS\r\n" in out
    assert out.endswith(b"Content-Length: 0\r\n\r\n")  # added for streams
    again = parse_message(out)
    assert isinstance(again, Request)
    again.validate()
    msg.uri = parse_uri("sip:dave@chicago.com")
    assert bytes(msg).startswith(b"OPTIONS sip:dave@chicago.com SIP/2.0\r\n")


def test_parsed_request_has_every_slot_set() -> None:
    msg = req()  # built by the parser's private fast path
    for cls in type(msg).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            getattr(msg, slot)  # AttributeError if the fast path forgot one


def test_leading_crlf_lf_only_and_no_blank_line() -> None:
    assert bytes(req(b"\r\n\r\n" + INVITE)) == INVITE
    lf = INVITE.replace(b"\r\n", b"\n").replace(b"l: 5", b"l: 4")
    msg = req(lf)
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert msg.header("x-folded") == b"one two three"
    assert b"\r\nCSeq: 314159 INVITE\r\n" in bytes(msg)  # written back with CRLF
    head = INVITE.split(b"\r\n\r\n")[0].replace(b"\r\nl: 5", b"")
    for data in (head, head + b"\r\n", b"\n\n" + head.replace(b"\r\n", b"\n")):
        assert req(data).body == b""


def test_sip_version_is_case_insensitive() -> None:  # RFC 3261 §7.1
    msg = req(INVITE.replace(b"SIP/2.0\r\n", b"sip/2.0\r\n", 1))
    assert msg.method == "INVITE"
    resp = parse_message(b"sip/2.0 200 OK" + bytes(req().create_response(200))[14:])
    assert isinstance(resp, Response) and resp.status == 200
    with pytest.raises(ParseError) as info:
        req(INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1))
    assert info.value.status == 505


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        (b"i: a84b4c76e66710@pc33.atlanta.example.com\r\n", b"", "missing Call-ID"),
        (b"To: Bob <sip:bob@biloxi.example.com>\r\n", b"", "missing To"),
        (b"CSeq: 314159 INVITE\r\n", b"", "missing CSeq"),
        (b"Max-Forwards: 70\r\n", b"Max-Forwards: 256\r\n", "bad Max-Forwards"),
        (b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nMax-Forwards: 70\r\n", "more than one"),
        (b"X-Folded: one\r\n", b"X-Folded: one\nInjected: yes\r\n", "bare LF"),
        (b"X-Folded: one\r\n", b"X Folded: one\r\n", "invalid header name"),
        (b"X-Folded: one\r\n", b"X-Folded one\r\n", "without a name and colon"),
        (b"l: 5\r\n", b"l: 6\r\n", "larger than the message"),
        (b"l: 5\r\n", b"l: 5\r\nContent-Length: 3\r\n", "more than one Content-Length"),
    ],
)
def test_rejected_requests_carry_an_answer(old: bytes, new: bytes, detail: str) -> None:
    with pytest.raises(ParseError) as info:
        req(INVITE.replace(old, new, 1))
    err = info.value
    assert (err.status, err.is_request, err.method) == (400, True, "INVITE")
    assert detail in err.detail
    answer = parse_message(error_response(err, "t") or b"")
    assert isinstance(answer, Response) and answer.status == 400
    assert answer.top_via.branch == "z9hG4bK776asdhds"


def test_equal_content_length_duplicates_are_tolerated() -> None:
    msg = req(INVITE.replace(b"l: 5\r\n", b"l: 5\r\nContent-Length: 5\r\n"))
    assert msg.body == b"v=0\r\n"


def test_no_answer_to_ack_or_without_via() -> None:
    ack = INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"314159 INVITE", b"314159 ACK")
    with pytest.raises(ParseError) as info:
        req(ack.replace(b"l: 5", b"l: 9"))
    assert error_response(info.value) is None
    with pytest.raises(ParseError) as info:
        parse_message(b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n")
    assert error_response(info.value) is None


def test_request_validate() -> None:
    msg = req(INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"))
    with pytest.raises(ParseError, match="CSeq method"):
        msg.validate()
    msg = req(
        INVITE.replace(b"sip:bob@biloxi.example.com SIP", b"sip:bob@biloxi.example.com?x=y SIP")
    )
    with pytest.raises(ParseError, match="headers in the Request-URI"):
        msg.validate()
    msg = req(
        INVITE.replace(b"INVITE sip:bob@biloxi.example.com", b"INVITE im:bob@biloxi.example.com")
    )
    with pytest.raises(ParseError) as info:
        msg.validate()
    assert info.value.status == 416
    msg = req(INVITE.replace(b"Route: <sip:p2.example.com;lr>", b"Route: sip:p2 ;lr, ,"))
    with pytest.raises(ParseError, match="bad Route"):
        msg.validate()


def test_status_lines() -> None:
    base = bytes(req().create_response(200))
    for line, status, reason in [
        (b"SIP/2.0 200 OK", 200, "OK"),
        (b"SIP/2.0 100 ", 100, ""),
        (b"SIP/2.0 699 Odd but fine", 699, "Odd but fine"),
    ]:
        resp = parse_message(line + base[base.index(b"\r\n") :])
        assert isinstance(resp, Response) and (resp.status, resp.reason) == (status, reason)
    for line in (b"SIP/2.0 700 No", b"SIP/2.0 20 No", b"SIP/2.0 2000 No", b"SIP/2.0 200 \x01"):
        with pytest.raises(ParseError) as info:
            parse_message(line + base[base.index(b"\r\n") :])
        assert info.value.is_request is False
