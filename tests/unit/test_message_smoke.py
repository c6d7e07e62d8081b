"""First checks of the message layer; the full suites live beside this file."""

from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_parse_and_round_trip() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.top_via.branch == "z9hG4bK776asdhds"
    assert msg.from_tag == "1928301774"
    assert msg.to_tag is None
    assert msg.cseq.number == 314159
    assert bytes(msg) == INVITE


def test_response_copies_dialog_headers() -> None:
    req = parse_message(INVITE)
    assert isinstance(req, Request)
    resp = req.create_response(180, to_tag="abc")
    again = parse_message(bytes(resp))
    assert isinstance(again, Response)
    assert again.status == 180
    assert again.to_tag == "abc"
    assert again.call_id == req.call_id
