"""Dialog layer (RFC 3261 §12, §13.2.2.4): driven with parsed messages, no transactions below.

The call is RFC 3665 §3.2 (session through two proxies): Alice at client.atlanta, Bob at
client.biloxi, proxies ss1.atlanta and ss2.biloxi both record-routing.
"""

from __future__ import annotations

import itertools

import pytest

from trunkline.sip.dialog import (
    _TABLE,
    Dialog,
    DialogError,
    DialogId,
    DialogState,
    Role,
    _Input,
    _transition,
)
from trunkline.sip.dialog_layer import DialogLayer
from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.uri import SipURI

CALL_ID = "3848276298220188511@atlanta.example.com"
ALICE_TAG = "9fxced76sl"
BOB_TAG = "314159"
ALICE_CONTACT = "sip:alice@client.atlanta.example.com;transport=tcp"
BOB_CONTACT = "sip:bob@client.biloxi.example.com;transport=tcp"
RR_BOTH = "<sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>"
SS1 = "<sip:ss1.atlanta.example.com;lr>"
SS2 = "<sip:ss2.biloxi.example.com;lr>"


def wire(*lines: str, body: str = "") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def request(*lines: str) -> Request:
    msg = parse_message(wire(*lines))
    assert isinstance(msg, Request)
    return msg


def response(*lines: str) -> Response:
    msg = parse_message(wire(*lines))
    assert isinstance(msg, Response)
    return msg


# ---- RFC 3665 §3.2 messages -------------------------------------------------------------------

# F1/F3 as Alice sends it (the second attempt, with credentials, hence CSeq 2).
ALICE_INVITE = (
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9",
    "Max-Forwards: 70",
    f"From: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}",
    "To: Bob <sip:bob@biloxi.example.com>",
    f"Call-ID: {CALL_ID}",
    "CSeq: 2 INVITE",
    f"Contact: <{ALICE_CONTACT}>",
    'Proxy-Authorization: Digest username="alice", realm="atlanta.example.com", '
    'nonce="wf84f1ceczx41ae6cbe5aea9c8e88d359", opaque="", uri="sip:bob@biloxi.example.com", '
    'response="42ce3cef44b22f50c6a6071bc8"',
    "Content-Length: 0",
)

# F4 as Bob receives it.
BOB_INVITE = (
    "INVITE sip:bob@client.biloxi.example.com SIP/2.0",
    "Via: SIP/2.0/TCP ss2.biloxi.example.com:5060;branch=z9hG4bK721e4.1",
    "Via: SIP/2.0/TCP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111",
    "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101",
    "Max-Forwards: 68",
    f"Record-Route: {SS2}",
    f"Record-Route: {SS1}",
    f"From: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}",
    "To: Bob <sip:bob@biloxi.example.com>",
    f"Call-ID: {CALL_ID}",
    "CSeq: 2 INVITE",
    f"Contact: <{ALICE_CONTACT}>",
    "Content-Length: 0",
)


def alice_answer(
    status: int,
    *,
    tag: str | None = BOB_TAG,
    record_route: str | None = RR_BOTH,
    contact: str | None = BOB_CONTACT,
    cseq: str = "2 INVITE",
) -> Response:
    """A response to Alice's INVITE as it reaches her (F9 180, F11 200...)."""
    lines = [
        f"SIP/2.0 {status} Whatever",
        "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101",
    ]
    if record_route is not None:
        lines.append(f"Record-Route: {record_route}")
    lines += [
        f"From: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}",
        "To: Bob <sip:bob@biloxi.example.com>" + (f";tag={tag}" if tag else ""),
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq}",
    ]
    if contact is not None:
        lines.append(f"Contact: <{contact}>")
    lines.append("Content-Length: 0")
    return response(*lines)


def bob_to_alice(method: str, cseq: int, *, contact: str | None = None) -> Request:
    """A request Bob sends in the dialog, as Alice receives it (like F15 BYE)."""
    lines = [
        f"{method} sip:alice@client.atlanta.example.com SIP/2.0",
        "Via: SIP/2.0/TCP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.2",
        "Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7",
        "Max-Forwards: 69",
        f"From: Bob <sip:bob@biloxi.example.com>;tag={BOB_TAG}",
        f"To: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}",
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq} {method}",
    ]
    if contact is not None:
        lines.append(f"Contact: <{contact}>")
    lines.append("Content-Length: 0")
    return request(*lines)


def alice_to_bob(method: str, cseq: int, *, contact: str | None = None) -> Request:
    """A request Alice sends in the dialog, as Bob receives it (like F12 ACK)."""
    lines = [
        f"{method} sip:bob@client.biloxi.example.com SIP/2.0",
        "Via: SIP/2.0/TCP ss2.biloxi.example.com:5060;branch=z9hG4bK721e4.2",
        "Max-Forwards: 68",
        f"From: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}",
        f"To: Bob <sip:bob@biloxi.example.com>;tag={BOB_TAG}",
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq} {method}",
    ]
    if contact is not None:
        lines.append(f"Contact: <{contact}>")
    lines.append("Content-Length: 0")
    return request(*lines)


def in_dialog_answer(sent: Request, status: int, *, contact: str | None = None) -> Response:
    """The answer to a request built by a Dialog (the peer echoes To/From/Call-ID/CSeq)."""
    sent.add_header("via", "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bKx")
    answer = sent.create_response(status)
    if contact is not None:
        answer.add_header("contact", f"<{contact}>")
    again = parse_message(bytes(answer))
    assert isinstance(again, Response)
    return again


def alice_dialog(
    status: int = 200,
    *,
    tag: str | None = BOB_TAG,
    record_route: str | None = RR_BOTH,
    contact: str | None = BOB_CONTACT,
) -> Dialog:
    answer = alice_answer(status, tag=tag, record_route=record_route, contact=contact)
    return Dialog.from_uac(request(*ALICE_INVITE), answer)


def bob_dialog(status: int = 200) -> Dialog:
    invite = request(*BOB_INVITE)
    answer = invite.create_response(status, to_tag=BOB_TAG)
    answer.add_header("contact", f"<{BOB_CONTACT}>")
    return Dialog.from_uas(invite, answer)


def routes(req: Request) -> list[str]:
    return req.header_values("route")


# ---- creation (§12.1) ---------------------------------------------------------------------------


def test_uac_dialog_from_180_is_early_with_reversed_route_set() -> None:
    dialog = alice_dialog(180)
    assert dialog.id == DialogId(CALL_ID, ALICE_TAG, BOB_TAG)
    assert dialog.role is Role.UAC
    assert dialog.state is DialogState.EARLY
    # §12.1.2: the response's Record-Route reversed.
    assert [str(r) for r in dialog.route_set] == [SS1, SS2]
    assert str(dialog.remote_target) == BOB_CONTACT
    assert str(dialog.local_target) == ALICE_CONTACT
    assert dialog.local_seq == 2
    assert dialog.remote_seq is None
    assert dialog.local_uri.tag == ALICE_TAG and dialog.remote_uri.tag == BOB_TAG
    assert dialog.secure is False


def test_uac_dialog_from_200_is_confirmed() -> None:
    dialog = alice_dialog(200)
    assert dialog.state is DialogState.CONFIRMED
    assert [str(r) for r in dialog.route_set] == [SS1, SS2]


def test_uas_dialog_keeps_record_route_order_and_counts_the_invite() -> None:
    dialog = bob_dialog(180)
    assert dialog.id == DialogId(CALL_ID, BOB_TAG, ALICE_TAG)
    assert dialog.role is Role.UAS
    assert dialog.state is DialogState.EARLY
    assert [str(r) for r in dialog.route_set] == [SS2, SS1]  # §12.1.1: in order
    assert str(dialog.remote_target) == ALICE_CONTACT
    assert str(dialog.local_target) == BOB_CONTACT
    assert dialog.remote_seq == 2
    assert dialog.local_seq is None
    assert dialog.local_uri.tag == BOB_TAG and dialog.remote_uri.tag == ALICE_TAG


def test_uas_dialog_needs_a_contact_in_the_request() -> None:
    lines = tuple(line for line in BOB_INVITE if not line.startswith("Contact"))
    invite = request(*lines)
    with pytest.raises(DialogError) as info:
        Dialog.from_uas(invite, invite.create_response(200, to_tag=BOB_TAG))
    assert info.value.status == 400


def test_uac_falls_back_to_request_uri_without_contact() -> None:
    dialog = alice_dialog(200, contact=None)
    assert str(dialog.remote_target) == "sip:bob@biloxi.example.com"


def test_responses_that_create_no_dialog_are_refused() -> None:
    invite = request(*ALICE_INVITE)
    with pytest.raises(ValueError):
        Dialog.from_uac(invite, alice_answer(180, tag=None))
    with pytest.raises(ValueError):
        Dialog.from_uac(invite, alice_answer(100))
    with pytest.raises(ValueError):
        Dialog.from_uac(invite, alice_answer(486))


def test_rfc2543_2xx_without_to_tag_makes_a_dialog_with_an_empty_tag() -> None:
    dialog = alice_dialog(200, tag=None)
    assert dialog.id.remote_tag == ""
    bye = dialog.create_request("BYE")
    assert bye.to_tag is None


def test_early_dialog_confirmed_by_2xx_recomputes_route_set() -> None:
    dialog = alice_dialog(180, record_route=SS1, contact="sip:bob@early.example.com")
    assert [str(r) for r in dialog.route_set] == [SS1]
    dialog.receive_response(alice_answer(200))
    assert dialog.state is DialogState.CONFIRMED
    assert [str(r) for r in dialog.route_set] == [SS1, SS2]  # §13.2.2.4
    assert str(dialog.remote_target) == BOB_CONTACT


def test_second_1xx_refreshes_early_target_but_repeated_2xx_changes_nothing() -> None:
    dialog = alice_dialog(180)
    dialog.receive_response(alice_answer(183, contact="sip:bob@gw.biloxi.example.com"))
    assert str(dialog.remote_target) == "sip:bob@gw.biloxi.example.com"
    dialog.receive_response(alice_answer(200))
    dialog.receive_response(alice_answer(200, record_route=SS1, contact="sip:x@y.example.com"))
    assert [str(r) for r in dialog.route_set] == [SS1, SS2]
    assert str(dialog.remote_target) == BOB_CONTACT


# ---- requests we send (§12.2.1.1) ---------------------------------------------------------------


def test_uac_bye_loose_routing() -> None:
    dialog = alice_dialog()
    bye = dialog.create_request("BYE")
    assert bye.method == "BYE"
    assert bye.uri_text == BOB_CONTACT  # R-URI = remote target
    assert routes(bye) == [SS1, SS2]  # Route = route set
    assert str(bye.to) == f"Bob <sip:bob@biloxi.example.com>;tag={BOB_TAG}"
    assert str(bye.from_) == f"Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}"
    assert bye.call_id == CALL_ID
    assert str(bye.cseq) == "3 BYE"
    assert bye.max_forwards == 70
    assert not bye.has_header("via")  # the transaction adds it
    assert not bye.has_header("contact")  # BYE is no target refresh
    assert bye.header("content-length") == b"0"
    assert str(dialog.next_hop()) == "sip:ss1.atlanta.example.com;lr"
    assert dialog.strict_routing is False


def test_uas_bye_uses_route_set_in_order_and_starts_cseq_at_1() -> None:
    dialog = bob_dialog()
    bye = dialog.create_request("BYE")  # F15
    assert bye.uri_text == ALICE_CONTACT
    assert routes(bye) == [SS2, SS1]
    assert str(bye.cseq) == "1 BYE"
    assert bye.to_tag == ALICE_TAG and bye.from_tag == BOB_TAG
    assert str(dialog.next_hop()) == "sip:ss2.biloxi.example.com;lr"


def test_strict_routing() -> None:
    # The UAC-side route set is [strict, ss1]: the strict router is nearest to Alice.
    dialog = alice_dialog(record_route=f"{SS1}, <sip:strict.atlanta.example.com>")
    assert dialog.strict_routing is True
    info = dialog.create_request("INFO")
    assert info.uri_text == "sip:strict.atlanta.example.com"
    assert routes(info) == [SS1, f"<{BOB_CONTACT}>"]  # rest of the set, then the target
    assert str(dialog.next_hop()) == "sip:strict.atlanta.example.com"


def test_strict_route_loses_what_a_request_uri_may_not_carry() -> None:
    dialog = alice_dialog(record_route="<sip:strict.example.com;maddr=192.0.2.9;method=INVITE?X=1>")
    bye = dialog.create_request("BYE")
    assert bye.uri_text == "sip:strict.example.com;maddr=192.0.2.9"
    assert routes(bye) == [f"<{BOB_CONTACT}>"]


def test_no_route_set() -> None:
    dialog = alice_dialog(record_route=None)
    bye = dialog.create_request("BYE")
    assert bye.uri_text == BOB_CONTACT
    assert not bye.has_header("route")
    assert str(dialog.next_hop()) == BOB_CONTACT


def test_cseq_increments_and_ack_cancel_reuse_the_invite_number() -> None:
    dialog = alice_dialog(180)
    cancel = dialog.create_request("CANCEL")
    assert str(cancel.cseq) == "2 CANCEL"
    assert dialog.local_seq == 2
    dialog.receive_response(alice_answer(200))
    ack = dialog.create_request("ACK")
    assert str(ack.cseq) == "2 ACK"
    assert str(dialog.create_request("INFO").cseq) == "3 INFO"
    reinvite = dialog.create_request("INVITE")
    assert str(reinvite.cseq) == "4 INVITE"
    assert str(dialog.create_request("ACK").cseq) == "4 ACK"
    assert str(dialog.create_request("CANCEL").cseq) == "4 CANCEL"
    assert str(dialog.create_request("BYE").cseq) == "5 BYE"
    assert dialog.local_seq == 5


def test_cancel_copies_the_initial_invite() -> None:
    dialog = alice_dialog(180)
    cancel = dialog.create_cancel()
    assert cancel.uri_text == "sip:bob@biloxi.example.com"
    assert cancel.to_tag is None  # the INVITE's To, not the dialog's
    assert cancel.from_tag == ALICE_TAG
    assert not cancel.has_header("route")


def test_ack_for_2xx_carries_route_credentials_and_body() -> None:
    dialog = alice_dialog(200)
    sdp = b"v=0\r\n"
    ack = dialog.create_ack(alice_answer(200), body=sdp, content_type="application/sdp")
    assert ack.method == "ACK" and ack.uri_text == BOB_CONTACT
    assert routes(ack) == [SS1, SS2]
    assert str(ack.cseq) == "2 ACK"
    credentials = ack.header_str("proxy-authorization")
    assert credentials is not None and credentials.startswith('Digest username="alice"')
    assert ack.body == sdp and ack.content_type == "application/sdp"
    assert dialog.last_ack is ack
    assert dialog.local_seq == 2  # an ACK takes no number of its own


def test_target_refresh_requests_carry_our_contact() -> None:
    dialog = alice_dialog()
    reinvite = dialog.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.header_values("contact") == [f"<{ALICE_CONTACT}>"]
    assert reinvite.content_length == 5
    moved = SipURI("client2.atlanta.example.com", "alice")
    update = dialog.create_request("UPDATE", contact=moved)
    assert update.header_values("contact") == ["<sip:alice@client2.atlanta.example.com>"]
    assert dialog.local_target is moved
    with pytest.raises(ValueError):
        dialog.create_request("INFO", body=b"x")  # a body needs a Content-Type


def test_created_request_round_trips_through_bytes() -> None:
    dialog = alice_dialog(record_route=f"{SS1}, <sip:strict.atlanta.example.com>")
    sent = dialog.create_request("INFO", body=b"Signal=5\r\n", content_type="application/dtmf")
    sent.add_header("via", "SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bKrt")
    data = bytes(sent)
    again = parse_message(data)
    assert isinstance(again, Request)
    assert again.method == sent.method == "INFO"
    assert str(again.uri) == str(sent.uri) == "sip:strict.atlanta.example.com"
    assert again.routes[0].uri == sent.routes[0].uri
    assert [str(r) for r in again.routes] == routes(sent)
    assert (again.to_tag, again.from_tag, again.call_id) == (BOB_TAG, ALICE_TAG, CALL_ID)
    assert again.cseq == sent.cseq
    assert again.max_forwards == 70
    assert again.body == b"Signal=5\r\n"
    assert again.content_type == "application/dtmf"
    again.validate()
    assert bytes(again) == data


# ---- requests we receive (§12.2.2) --------------------------------------------------------------


def test_remote_cseq_set_by_first_request_then_must_grow() -> None:
    dialog = alice_dialog()
    dialog.receive_request(bob_to_alice("INFO", 7))
    assert dialog.remote_seq == 7
    for number in (6, 7):  # lower is out of order (§12.2.2); equal is another request reusing it
        with pytest.raises(DialogError) as info:
            dialog.receive_request(bob_to_alice("INFO", number))
        assert (info.value.status, info.value.reason) == (500, "Server Internal Error")
    assert dialog.remote_seq == 7
    dialog.receive_request(bob_to_alice("INFO", 9))  # gaps are fine
    assert dialog.remote_seq == 9


def test_ack_and_cancel_are_exempt_from_the_cseq_check() -> None:
    dialog = bob_dialog()
    dialog.receive_request(alice_to_bob("ACK", 2))
    dialog.receive_request(alice_to_bob("CANCEL", 2))
    assert dialog.remote_seq == 2
    with pytest.raises(DialogError):
        dialog.receive_request(alice_to_bob("INFO", 2))


def test_reinvite_received_refreshes_remote_target() -> None:
    dialog = alice_dialog()
    dialog.receive_request(bob_to_alice("INVITE", 2, contact="sip:bob@new.biloxi.example.com"))
    assert str(dialog.remote_target) == "sip:bob@new.biloxi.example.com"
    dialog.receive_request(bob_to_alice("INFO", 3, contact="sip:bob@info.biloxi.example.com"))
    assert str(dialog.remote_target) == "sip:bob@new.biloxi.example.com"  # INFO refreshes nothing
    dialog.receive_request(bob_to_alice("UPDATE", 4))  # no Contact: target kept
    assert str(dialog.remote_target) == "sip:bob@new.biloxi.example.com"
    assert dialog.create_request("BYE").uri_text == "sip:bob@new.biloxi.example.com"


def test_2xx_to_reinvite_refreshes_remote_target_and_keeps_route_set() -> None:
    dialog = alice_dialog()
    dialog.create_ack(2)
    reinvite = dialog.create_request("INVITE")
    answer = in_dialog_answer(reinvite, 200, contact="sip:bob@moved.biloxi.example.com")
    answer.add_header("record-route", "<sip:other.example.com;lr>")
    assert dialog.receive_response(answer) is None  # new 2xx: build a new ACK
    assert str(dialog.remote_target) == "sip:bob@moved.biloxi.example.com"
    assert [str(r) for r in dialog.route_set] == [SS1, SS2]
    ack = dialog.create_ack(answer)
    assert str(ack.cseq) == "3 ACK" and ack.uri_text == "sip:bob@moved.biloxi.example.com"
    assert dialog.receive_response(answer) is ack  # repeated: send the same ACK again


def test_2xx_to_non_refresh_request_keeps_target() -> None:
    dialog = alice_dialog()
    info = dialog.create_request("INFO")
    dialog.receive_response(in_dialog_answer(info, 200, contact="sip:bob@elsewhere.example.com"))
    assert str(dialog.remote_target) == BOB_CONTACT


def test_bye_received_terminates() -> None:
    dialog = alice_dialog()
    dialog.receive_request(bob_to_alice("BYE", 1))
    assert dialog.state is DialogState.TERMINATED
    with pytest.raises(DialogError) as info:
        dialog.receive_request(bob_to_alice("INFO", 2))
    assert info.value.status == 481
    with pytest.raises(DialogError):
        dialog.create_request("INFO")


@pytest.mark.parametrize("status", [481, 408])
def test_481_and_408_terminate(status: int) -> None:
    dialog = alice_dialog()
    dialog.receive_response(in_dialog_answer(dialog.create_request("INFO"), status))
    assert dialog.state is DialogState.TERMINATED


def test_bye_answer_terminates_unless_challenged() -> None:
    dialog = alice_dialog()
    dialog.receive_response(in_dialog_answer(dialog.create_request("BYE"), 407))
    assert dialog.state is DialogState.CONFIRMED
    dialog.receive_response(in_dialog_answer(dialog.create_request("BYE"), 200))
    assert dialog.state is DialogState.TERMINATED


def test_other_failures_keep_the_dialog() -> None:
    dialog = alice_dialog()
    dialog.receive_response(in_dialog_answer(dialog.create_request("INVITE"), 488))
    assert dialog.state is DialogState.CONFIRMED


def test_callee_cannot_bye_an_early_dialog() -> None:
    with pytest.raises(ValueError):
        bob_dialog(180).create_request("BYE")


def test_sips_dialog_is_secure_over_tls_only() -> None:
    lines = list(ALICE_INVITE)
    lines[0] = "INVITE sips:bob@biloxi.example.com SIP/2.0"
    lines[1] = "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9"
    lines[7] = "Contact: <sips:alice@client.atlanta.example.com>"
    invite = request(*lines)
    answer = alice_answer(
        200,
        contact="sips:bob@client.biloxi.example.com",
        record_route="<sips:ss2.biloxi.example.com;lr>, <sips:ss1.atlanta.example.com;lr>",
    )
    dialog = Dialog.from_uac(invite, answer)
    assert dialog.secure is True
    bye = dialog.create_request("BYE")
    assert bye.uri_text == "sips:bob@client.biloxi.example.com"
    assert dialog.next_hop().scheme == "sips"
    assert Dialog.from_uac(invite, answer, tls=False).secure is False
    assert alice_dialog().secure is False


def test_uas_sips_dialog() -> None:
    lines = list(BOB_INVITE)
    lines[0] = "INVITE sips:bob@client.biloxi.example.com SIP/2.0"
    invite = request(*lines)
    answer = invite.create_response(200, to_tag=BOB_TAG)
    assert Dialog.from_uas(invite, answer).secure is True
    assert Dialog.from_uas(invite, answer, tls=False).secure is False


# ---- the state table ----------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "event"), list(itertools.product(DialogState, _Input)))
def test_every_state_input_pair_is_a_transition_or_an_error(
    state: DialogState, event: _Input
) -> None:
    if (state, event) in _TABLE:
        _effect, after = _transition(state, event)
        assert state is not DialogState.TERMINATED
        assert after is not DialogState.EARLY or state is DialogState.EARLY  # never back to early
    else:
        with pytest.raises(DialogError) as info:
            _transition(state, event)
        assert info.value.status == (481 if state is DialogState.TERMINATED else 500)


def test_terminated_dialog_takes_nothing() -> None:
    dialog = alice_dialog()
    dialog.end()
    with pytest.raises(DialogError) as info:
        dialog.receive_response(alice_answer(200))
    assert info.value.status == 481


def test_non_2xx_after_2xx_is_a_protocol_error() -> None:
    dialog = alice_dialog()
    with pytest.raises(DialogError) as info:
        dialog.receive_response(alice_answer(486))
    assert info.value.status == 500
    assert dialog.state is DialogState.CONFIRMED


def test_fork_done_ends_early_not_confirmed() -> None:
    early, confirmed = alice_dialog(180), alice_dialog(200)
    early.fork_done()
    confirmed.fork_done()
    assert early.state is DialogState.TERMINATED
    assert confirmed.state is DialogState.CONFIRMED


# ---- DialogLayer: UAC, forking (§13.2.2.4) ------------------------------------------------------


def test_layer_ignores_100_and_untagged_1xx() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    assert layer.receive_response(invite, alice_answer(100, tag=None)).dialog is None
    assert layer.receive_response(invite, alice_answer(180, tag=None)).dialog is None
    assert len(layer) == 0


def test_forked_invite_two_early_dialogs_then_one_2xx() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    desk = layer.receive_response(invite, alice_answer(180, tag="desk", contact="sip:b@desk"))
    cell = layer.receive_response(invite, alice_answer(180, tag="cell", contact="sip:b@cell"))
    assert desk.created and cell.created
    assert desk.dialog is not None and cell.dialog is not None
    assert desk.dialog is not cell.dialog
    assert desk.dialog.id == DialogId(CALL_ID, ALICE_TAG, "desk")
    dset = layer.dialog_set(invite)
    assert dset is not None and list(dset.dialogs) == ["desk", "cell"]
    assert dset.early == [desk.dialog, cell.dialog]

    again = layer.receive_response(invite, alice_answer(180, tag="desk", contact="sip:b@desk"))
    assert again.dialog is desk.dialog and not again.created

    ok = layer.receive_response(invite, alice_answer(200, tag="desk", contact="sip:b@desk"))
    assert ok.dialog is desk.dialog and not ok.created and not ok.forked
    assert desk.dialog.state is DialogState.CONFIRMED
    assert cell.dialog.state is DialogState.EARLY  # lives until the INVITE transaction ends

    ended = layer.invite_completed(invite)  # 64*T1 later (RFC 6026 Timer M)
    assert ended == [cell.dialog]
    assert cell.dialog.state is DialogState.TERMINATED
    assert list(layer) == [desk.dialog]
    assert layer.dialog_set(invite) is None


def test_forked_invite_two_2xx_both_confirmed_second_flagged() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    first = layer.receive_response(invite, alice_answer(200, tag="desk"))
    second = layer.receive_response(invite, alice_answer(200, tag="cell"))
    assert first.created and not first.forked
    assert second.created and second.forked
    assert first.dialog is not None and second.dialog is not None
    assert second.dialog.state is DialogState.CONFIRMED
    dset = layer.dialog_set(invite)
    assert dset is not None and dset.extra() == [second.dialog]
    # The UA ACKs the extra 2xx, then ends that dialog with a BYE.
    ack = second.dialog.create_ack(2)
    assert ack.to_tag == "cell" and str(ack.cseq) == "2 ACK"
    bye = second.dialog.create_request("BYE")
    assert bye.to_tag == "cell" and str(bye.cseq) == "3 BYE"
    result = layer.receive_response(bye, in_dialog_answer(bye, 200))
    assert result.ended == (second.dialog,)
    assert layer.match_response(alice_answer(200, tag="cell")) is None
    assert dset.extra() == []
    assert layer.invite_completed(invite) == []
    assert list(layer) == [first.dialog]


def test_non_2xx_final_ends_every_early_dialog() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    a = layer.receive_response(invite, alice_answer(180, tag="a")).dialog
    b = layer.receive_response(invite, alice_answer(183, tag="b")).dialog
    result = layer.receive_response(invite, alice_answer(486, tag="proxy"))
    assert result.ended == (a, b)
    assert a is not None and b is not None
    assert a.state is DialogState.TERMINATED and b.state is DialogState.TERMINATED
    assert len(layer) == 0
    assert layer.dialog_set(invite) is None


def test_repeated_2xx_gets_the_same_ack() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    first = layer.receive_response(invite, alice_answer(200))
    assert first.dialog is not None and first.resend_ack is None
    ack = first.dialog.create_ack(alice_answer(200))
    repeat = layer.receive_response(invite, alice_answer(200))
    assert repeat.dialog is first.dialog and repeat.resend_ack is ack
    assert not repeat.created and not repeat.forked


def test_layer_matches_in_dialog_requests_and_responses() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    dialog = layer.receive_response(invite, alice_answer(200)).dialog
    assert dialog is not None
    assert layer.get(DialogId(CALL_ID, ALICE_TAG, BOB_TAG)) is dialog
    assert layer.match_request(bob_to_alice("INFO", 1)) is dialog
    assert layer.match_request(alice_to_bob("INFO", 1)) is None  # tags the other way round
    assert layer.receive_request(request(*ALICE_INVITE)) is None  # out of dialog
    reinvite_from_bob = bob_to_alice("INVITE", 1, contact="sip:bob@re.example.com")
    assert layer.receive_request(reinvite_from_bob) is dialog
    assert str(dialog.remote_target) == "sip:bob@re.example.com"
    assert layer.receive_request(bob_to_alice("BYE", 2)) is dialog
    assert dialog.state is DialogState.TERMINATED
    assert len(layer) == 0
    with pytest.raises(DialogError) as info:
        layer.receive_request(bob_to_alice("INFO", 3))
    assert info.value.status == 481
    assert layer.receive_request(bob_to_alice("ACK", 3)) is None


def test_layer_481_response_drops_the_dialog() -> None:
    layer = DialogLayer()
    invite = request(*ALICE_INVITE)
    dialog = layer.receive_response(invite, alice_answer(200)).dialog
    assert dialog is not None
    info = dialog.create_request("INFO")
    result = layer.receive_response(info, in_dialog_answer(info, 481))
    assert result.dialog is dialog and result.ended == (dialog,)
    assert len(layer) == 0 and layer.dialog_set(invite) is None


# ---- DialogLayer: UAS -----------------------------------------------------------------------


def test_layer_uas_early_then_confirmed_then_ack_and_bye() -> None:
    layer = DialogLayer()
    invite = request(*BOB_INVITE)
    assert layer.send_response(invite, invite.create_response(100)) is None
    ringing = invite.create_response(180, to_tag=BOB_TAG)
    ringing.add_header("contact", f"<{BOB_CONTACT}>")
    dialog = layer.send_response(invite, ringing)
    assert dialog is not None and dialog.state is DialogState.EARLY
    assert layer.send_response(invite, invite.create_response(200, to_tag=BOB_TAG)) is dialog
    assert dialog.state is DialogState.CONFIRMED
    assert layer.receive_request(alice_to_bob("ACK", 2)) is dialog
    assert layer.receive_request(alice_to_bob("BYE", 3)) is dialog
    assert dialog.state is DialogState.TERMINATED
    assert len(layer) == 0


def test_layer_uas_failure_ends_the_early_dialog() -> None:
    layer = DialogLayer()
    invite = request(*BOB_INVITE)
    dialog = layer.send_response(invite, invite.create_response(180, to_tag=BOB_TAG))
    assert dialog is not None
    assert layer.send_response(invite, invite.create_response(487, to_tag=BOB_TAG)) is dialog
    assert dialog.state is DialogState.TERMINATED
    assert len(layer) == 0
    assert layer.send_response(invite, invite.create_response(486, to_tag="x")) is None


def test_layer_uas_untagged_answers() -> None:
    layer = DialogLayer()
    invite = request(*BOB_INVITE)
    assert layer.send_response(invite, invite.create_response(183)) is None
    with pytest.raises(ValueError):
        layer.send_response(invite, invite.create_response(200))


def test_uas_reinvite_response_cseq_space_is_not_confused_with_origin() -> None:
    # Bob's own re-INVITE gets local CSeq 1..; its 2xx must not look like the answer to
    # Alice's INVITE (CSeq 2) even when the numbers meet.
    dialog = bob_dialog()
    dialog.create_request("INFO")
    reinvite = dialog.create_request("INVITE")
    assert reinvite.cseq.number == 2
    dialog.receive_response(in_dialog_answer(reinvite, 200, contact="sip:alice@new.example.com"))
    assert str(dialog.remote_target) == "sip:alice@new.example.com"
    assert dialog.role is Role.UAS
