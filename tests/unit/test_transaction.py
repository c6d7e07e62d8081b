"""Transaction layer paths of RFC 3261 Figures 5-8 and RFC 6026, driven by messages and a clock.

No sockets, no sleeps: the harness steps ``now`` from one deadline to the next and records what
the layer queued for the wire at each step.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.transaction import (
    ClientTransaction,
    Event,
    RequestReceived,
    ResponseReceived,
    ServerTimeout,
    ServerTransaction,
    State,
    TimerConfig,
    TransactionCounts,
    TransactionError,
    TransactionLayer,
    TransactionTerminated,
    build_ack,
)
from trunkline.sip.transaction_fsm import (
    ALIVE,
    CLIENT_INPUTS,
    INITIAL,
    SERVER_INPUTS,
    TABLES,
    Input,
    Kind,
    step,
)

UDP = Endpoint("udp", "192.0.2.10", 5060)
TCP = Endpoint("tcp", "192.0.2.10", 5060, conn=7)
PEER_UDP = Endpoint("udp", "127.0.0.1", 40000)  # where requests come from (behind NAT)
PEER_TCP = Endpoint("tcp", "127.0.0.1", 40001, conn=9)


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bKabc",
    via_host: str = "192.0.2.20:5060",
    transport: str = "UDP",
    via_params: str = "",
    uri: str = "sip:bob@example.com",
    to_tag: str | None = None,
    from_tag: str = "ftag",
    call_id: str = "call-1@example.net",
    cseq: int = 1,
    cseq_method: str | None = None,
    routes: Sequence[str] = (),
    timestamp: str | None = None,
) -> Request:
    via = f"SIP/2.0/{transport} {via_host}" + (f";branch={branch}" if branch else "") + via_params
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        *(f"Route: {r}" for r in routes),
        f"From: Alice <sip:alice@example.net>;tag={from_tag}",
        "To: Bob <sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {cseq_method or method}",
        *([f"Timestamp: {timestamp}"] if timestamp else []),
        "Content-Length: 0",
        "",
        "",
    ]
    msg = parse_message("\r\n".join(lines).encode())
    assert isinstance(msg, Request)
    return msg


def answer(req: Request, status: int, to_tag: str | None = "totag") -> Response:
    """The peer's response to a request we sent, as it would arrive off the wire."""
    msg = parse_message(bytes(req.create_response(status, to_tag=to_tag)))
    assert isinstance(msg, Response)
    return msg


def wire(data: bytes) -> Request | Response:
    return parse_message(data)


class Harness:
    """A layer, a clock, and everything that came out of it."""

    def __init__(self, timers: TimerConfig | None = None, **options: object) -> None:
        self.layer = TransactionLayer(timers or TimerConfig(), **options)  # type: ignore[arg-type]
        self.now = 0.0
        self.sent: list[tuple[float, bytes, Endpoint]] = []

    def flush(self) -> list[tuple[float, bytes, Endpoint]]:
        new = [(self.now, data, dest) for data, dest in self.layer.datagrams_to_send()]
        self.sent.extend(new)
        return new

    def advance(self, until: float) -> list[tuple[float, bytes, Endpoint]]:
        """Step the clock to ``until``, firing every timer exactly at its deadline."""
        out = self.flush()
        while (deadline := self.layer.get_timer()) is not None and deadline <= until:
            self.now = deadline
            self.layer.handle_timer(deadline)
            out += self.flush()
        self.now = until
        return out

    def receive(self, msg: Request | Response, source: Endpoint = UDP) -> list[Event]:
        self.layer.receive(msg, source, self.now)
        return self.events()

    def events(self) -> list[Event]:
        out = []
        while (event := self.layer.next_event()) is not None:
            out.append(event)
        return out

    def send_request(self, req: Request, dest: Endpoint = UDP) -> ClientTransaction:
        txn = self.layer.send_request(req, dest, self.now)
        self.flush()
        return txn

    def respond(self, txn: ServerTransaction, status: int, to_tag: str = "srv") -> Response:
        resp = txn.request.create_response(status, to_tag=to_tag)
        self.layer.send_response(txn, resp, self.now)
        return resp

    def serve(self, req: Request, source: Endpoint = PEER_UDP) -> ServerTransaction:
        events = self.receive(req, source)
        assert len(events) == 1 and isinstance(events[0], RequestReceived)
        txn = events[0].transaction
        assert txn is not None
        return txn


def times(sent: list[tuple[float, bytes, Endpoint]]) -> list[float]:
    return [t for t, _data, _dest in sent]


def gaps(ts: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(ts)]


# ---- the tables ---------------------------------------------------------------------------------


def test_tables_cover_every_peer_and_timer_input() -> None:
    """A peer or a timer can never hit a missing key; only the TU can (TransactionError)."""
    for kind, table in TABLES.items():
        states = {state for state, _ in table} - {State.TERMINATED}
        client = kind in (Kind.CLIENT_INVITE, Kind.CLIENT_NON_INVITE)
        inputs = CLIENT_INPUTS if client else SERVER_INPUTS
        if kind is Kind.SERVER_INVITE:
            inputs = (*inputs, Input.ACK)
        for state in states:
            for event in inputs:
                assert (state, event) in table, (kind, state, event)
            for timer in ALIVE.get((kind, state), frozenset()):
                assert (state, timer) in table, (kind, state, timer)
        assert INITIAL[kind][1] in states


def test_missing_transition_is_an_error() -> None:
    with pytest.raises(TransactionError):
        step(Kind.SERVER_INVITE, State.COMPLETED, Input.TU_1XX)


def test_timer_config() -> None:
    cfg = TimerConfig(t1=0.1, t2=1.0, t4=2.0)
    assert cfg.timeout == pytest.approx(6.4)
    with pytest.raises(ValueError):
        TimerConfig(t1=0)
    with pytest.raises(ValueError):
        TimerConfig(t1=2.0, t2=1.0)


# ---- client INVITE (Figure 5, RFC 6026 Figure 3) -------------------------------------------------


def test_client_invite_timer_a_then_b_reports_408() -> None:
    h = Harness()
    txn = h.send_request(request())
    assert txn.state is State.CALLING and txn.is_invite and txn.destination == UDP
    assert len(h.layer) == 1
    h.advance(31.9)
    sends = times(h.sent)
    assert sends[0] == 0.0
    assert gaps(sends) == [0.5, 1, 2, 4, 8, 16]  # the next (32 s) would come after Timer B
    assert all(data == h.sent[0][1] and dest == UDP for _t, data, dest in h.sent)
    assert h.layer.get_timer() == pytest.approx(32.0)  # Timer B = 64*T1
    assert h.events() == []
    assert h.advance(40.0) == []
    events = h.events()
    assert len(events) == 2
    timeout, done = events
    assert isinstance(timeout, ResponseReceived) and timeout.local
    assert timeout.response.status == 408 and timeout.transaction is txn
    assert timeout.response.call_id == txn.request.call_id
    assert isinstance(done, TransactionTerminated) and done.transaction is txn
    assert txn.state is State.TERMINATED and len(h.layer) == 0
    assert h.layer.get_timer() is None


def test_client_invite_timer_a_with_other_t1() -> None:
    h = Harness(TimerConfig(t1=0.1, t2=1.0))
    h.send_request(request())
    h.advance(6.35)
    assert gaps(times(h.sent)) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    h.advance(6.41)
    assert [type(e) for e in h.events()] == [ResponseReceived, TransactionTerminated]


def test_client_invite_provisional_stops_retransmissions_and_timer_b() -> None:
    h = Harness()
    req = request()
    txn = h.send_request(req)
    h.advance(0.7)  # one retransmission at 0.5
    [event] = h.receive(answer(req, 180))
    assert isinstance(event, ResponseReceived) and event.transaction is txn
    assert event.response.status == 180 and not event.local
    assert txn.state is State.PROCEEDING and txn.last_response is event.response
    assert h.layer.get_timer() is None
    assert h.advance(1000.0) == [] and h.events() == []  # Timer C is the TU's business
    assert txn.state is State.PROCEEDING


def test_client_invite_non_2xx_acked_by_transaction() -> None:
    h = Harness()
    routes = ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    req = request(routes=routes)
    txn = h.send_request(req)
    h.receive(answer(req, 100))
    h.advance(1.0)
    resp = answer(req, 486, to_tag="busy")
    [event] = h.receive(resp)
    assert isinstance(event, ResponseReceived) and event.response.status == 486
    assert txn.state is State.COMPLETED
    [(_t, data, dest)] = h.flush()
    assert dest == UDP  # same destination as the INVITE
    ack = wire(data)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.uri_text == req.uri_text
    assert [str(v) for v in ack.vias] == [str(req.top_via)]  # one Via, same branch
    assert ack.top_via.branch == "z9hG4bKabc"
    assert ack.to_tag == "busy" and ack.from_tag == "ftag"
    assert ack.call_id == req.call_id
    assert (ack.cseq.number, ack.cseq.method) == (1, "ACK")
    assert [str(r) for r in ack.routes] == routes
    assert ack.body == b""
    # A retransmitted final response is absorbed and answered with the same ACK (Timer D runs).
    assert h.receive(resp) == []
    [(_t, again, _d)] = h.flush()
    assert again == data
    assert h.receive(answer(req, 180)) == []
    assert h.layer.get_timer() == pytest.approx(33.0)  # Timer D: 32 s
    h.advance(32.9)
    assert txn.state is State.COMPLETED
    h.advance(33.0)
    assert [type(e) for e in h.events()] == [TransactionTerminated]
    assert len(h.layer) == 0
    # After Timer D, a late retransmission is stray.
    [stray] = h.receive(resp)
    assert isinstance(stray, ResponseReceived) and stray.transaction is None


def test_build_ack_without_routes() -> None:
    req = request()
    ack = build_ack(req, answer(req, 503))
    assert ack.routes == [] and ack.max_forwards == 70 and ack.header("content-length") == b"0"


def test_client_invite_2xx_accepted_state() -> None:
    h = Harness()
    req = request()
    txn = h.send_request(req)
    ok = answer(req, 200, to_tag="fork1")
    [event] = h.receive(ok)
    assert isinstance(event, ResponseReceived) and event.transaction is txn
    assert txn.state is State.ACCEPTED
    assert h.flush() == []  # the TU ACKs a 2xx, never the transaction
    h.advance(5.0)
    assert h.flush() == []  # no more INVITE retransmissions
    # RFC 6026: 2xx retransmissions and 2xx from other forks go up with the transaction.
    [again] = h.receive(ok)
    assert isinstance(again, ResponseReceived) and again.transaction is txn
    [fork] = h.receive(answer(req, 200, to_tag="fork2"))
    assert isinstance(fork, ResponseReceived) and fork.response.to_tag == "fork2"
    assert h.receive(answer(req, 180)) == [] and h.receive(answer(req, 404)) == []
    assert h.flush() == []
    h.advance(31.9)
    assert txn.state is State.ACCEPTED
    h.advance(32.0)  # Timer M = 64*T1 from the first 2xx
    assert [type(e) for e in h.events()] == [TransactionTerminated]
    [stray] = h.receive(ok)
    assert isinstance(stray, ResponseReceived) and stray.transaction is None


def test_client_invite_over_tcp() -> None:
    h = Harness()
    req = request(transport="TCP")
    txn = h.send_request(req, TCP)
    h.advance(31.9)
    assert len(h.sent) == 1  # no Timer A on a reliable transport
    assert h.layer.get_timer() == pytest.approx(32.0)  # Timer B still runs
    events = h.receive(answer(req, 603))
    [(_t, data, dest)] = h.flush()
    assert dest == TCP and isinstance(wire(data), Request)
    assert txn.state is State.TERMINATED  # Timer D = 0
    assert [type(e) for e in events] == [ResponseReceived, TransactionTerminated]
    assert len(h.layer) == 0 and h.layer.get_timer() is None


def test_client_invite_tcp_timer_b() -> None:
    h = Harness()
    txn = h.send_request(request(transport="TCP"), TCP)
    h.advance(32.0)
    timeout, _done = h.events()
    assert isinstance(timeout, ResponseReceived) and timeout.response.status == 408
    assert timeout.transaction is txn and timeout.local


# ---- client non-INVITE (Figure 6) ----------------------------------------------------------------


def test_client_non_invite_timer_e_capped_then_f() -> None:
    h = Harness()
    txn = h.send_request(request("OPTIONS"))
    assert txn.state is State.TRYING and not txn.is_invite
    h.advance(31.99)
    assert gaps(times(h.sent)) == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]  # doubling, capped at T2
    h.advance(32.0)
    timeout, done = h.events()
    assert isinstance(timeout, ResponseReceived) and timeout.local
    assert timeout.response.status == 408 and timeout.transaction is txn
    assert isinstance(done, TransactionTerminated)
    assert len(h.layer) == 0 and h.layer.get_timer() is None


def test_client_non_invite_proceeding_retransmits_every_t2() -> None:
    h = Harness()
    req = request("REGISTER")
    txn = h.send_request(req)
    h.advance(0.2)
    [event] = h.receive(answer(req, 100, to_tag=None))
    assert isinstance(event, ResponseReceived) and txn.state is State.PROCEEDING
    h.advance(20.0)
    # Timer E keeps the deadline set in Trying (0.5), then fires every T2.
    assert times(h.sent) == [0.0, 0.5, 4.5, 8.5, 12.5, 16.5]
    [final] = h.receive(answer(req, 200))
    assert isinstance(final, ResponseReceived) and txn.state is State.COMPLETED
    # Completed: response retransmissions absorbed, no more requests, Timer K = T4.
    assert h.receive(answer(req, 200)) == [] and h.receive(answer(req, 180)) == []
    assert h.advance(24.99) == []
    assert txn.state is State.COMPLETED
    h.advance(25.0)
    assert [type(e) for e in h.events()] == [TransactionTerminated]


def test_client_non_invite_final_in_trying() -> None:
    h = Harness()
    req = request("BYE", to_tag="t")
    txn = h.send_request(req)
    [event] = h.receive(answer(req, 481))
    assert isinstance(event, ResponseReceived) and txn.state is State.COMPLETED
    assert txn.last_response is not None and txn.last_response.status == 481
    assert h.layer.get_timer() == pytest.approx(5.0)


def test_client_non_invite_over_tcp() -> None:
    h = Harness()
    req = request("OPTIONS", transport="TCP")
    txn = h.send_request(req, TCP)
    h.advance(31.0)
    assert len(h.sent) == 1
    [_resp, done] = h.receive(answer(req, 200))
    assert isinstance(done, TransactionTerminated) and txn.state is State.TERMINATED  # K = 0
    assert len(h.layer) == 0


def test_client_matching_needs_branch_and_method() -> None:
    h = Harness()
    req = request("INVITE")
    txn = h.send_request(req)
    cancel = request("CANCEL")  # same branch, its own transaction (method CANCEL)
    ctxn = h.send_request(cancel)
    assert ctxn is not txn and h.layer.counts == TransactionCounts(2, 0)
    [c200] = h.receive(answer(cancel, 200))
    assert isinstance(c200, ResponseReceived) and c200.transaction is ctxn
    assert txn.state is State.CALLING
    [stray] = h.receive(answer(request(branch="z9hG4bKother"), 200))
    assert isinstance(stray, ResponseReceived) and stray.transaction is None
    [nobranch] = h.receive(answer(request(branch=None), 200))
    assert isinstance(nobranch, ResponseReceived) and nobranch.transaction is None


def test_send_request_checks() -> None:
    h = Harness(branch_factory=lambda: "z9hG4bKfixed")
    req = request("OPTIONS", branch=None)
    txn = h.send_request(req)
    assert txn.key == ("z9hG4bKfixed", "OPTIONS")
    assert wire(h.sent[0][1]).top_via.branch == "z9hG4bKfixed"
    with pytest.raises(TransactionError):
        h.send_request(request("OPTIONS", branch="z9hG4bKfixed"))
    with pytest.raises(TransactionError):
        h.send_request(request("ACK"))
    assert TransactionLayer().new_branch().startswith("z9hG4bK")
    assert TransactionLayer().new_branch() != TransactionLayer().new_branch()


def test_send_stateless() -> None:
    h = Harness()
    ack = request("ACK", to_tag="x", branch="z9hG4bKack2xx")
    h.layer.send_stateless(ack, UDP)
    assert h.layer.datagrams_to_send() == [(bytes(ack), UDP)]
    assert len(h.layer) == 0 and h.layer.get_timer() is None


# ---- server INVITE (Figure 7, RFC 6026 Figure 5) -------------------------------------------------


def test_server_invite_records_source_and_routes_responses_via_received() -> None:
    h = Harness()
    req = request(via_host="192.0.2.20:5062")
    txn = h.serve(req, PEER_UDP)
    assert txn.source == PEER_UDP and txn.state is State.PROCEEDING
    assert req.top_via.received == "127.0.0.1"  # stamped before anything else
    assert txn.destination == Endpoint("udp", "127.0.0.1", 5062)
    h.respond(txn, 180)
    [(_t, data, dest)] = h.flush()
    assert dest == Endpoint("udp", "127.0.0.1", 5062)
    assert wire(data).top_via.received == "127.0.0.1"


def test_server_invite_rport_answers_to_source_port() -> None:
    h = Harness()
    txn = h.serve(request(via_host="192.0.2.20", via_params=";rport"), PEER_UDP)
    assert txn.destination == PEER_UDP
    assert txn.request.top_via.rport == 40000


def test_server_invite_100_trying_after_200ms() -> None:
    h = Harness()
    req = request(timestamp="54")
    txn = h.serve(req)
    assert h.flush() == []
    assert h.layer.get_timer() == pytest.approx(0.2)
    [(t, data, dest)] = h.advance(1.0)
    trying = wire(data)
    assert t == pytest.approx(0.2) and dest == txn.destination
    assert isinstance(trying, Response) and trying.status == 100
    assert trying.to_tag is None and trying.header("timestamp") == b"54"
    assert txn.last_response is not None and txn.last_response.status == 100
    assert h.events() == []


def test_server_invite_no_trying_when_tu_answers_in_time() -> None:
    h = Harness()
    txn = h.serve(request())
    h.advance(0.1)
    h.respond(txn, 180)
    assert h.layer.get_timer() is None
    sent = h.advance(1.0)
    assert [wire(d).status for _t, d, _e in h.sent] == [180]  # type: ignore[union-attr]
    assert sent == [(0.1, h.sent[0][1], txn.destination)]


def test_server_invite_trying_immediately_and_configurable_delay() -> None:
    h = Harness(send_trying_immediately=True)
    h.serve(request())
    [(_t, data, _d)] = h.flush()
    assert wire(data).status == 100  # type: ignore[union-attr]
    assert h.layer.get_timer() is None
    h2 = Harness(TimerConfig(trying_delay=0.05))
    h2.serve(request())
    assert h2.layer.get_timer() == pytest.approx(0.05)
    h3 = Harness(TimerConfig(trying_delay=0))
    h3.serve(request())
    assert len(h3.flush()) == 1


def test_server_invite_retransmission_absorbed_and_provisional_resent() -> None:
    h = Harness()
    req = request()
    txn = h.serve(req)
    # A retransmission before anything was sent: 100 Trying at once (the client is waiting).
    assert h.receive(request()) == []
    [(_t, trying, _d)] = h.flush()
    assert wire(trying).status == 100  # type: ignore[union-attr]
    assert h.layer.get_timer() is None  # trying timer cancelled
    h.respond(txn, 183)
    [(_t, ringing, _d)] = h.flush()
    assert h.receive(request()) == []
    [(_t, again, dest)] = h.flush()
    assert again == ringing and dest == txn.destination
    assert len(h.layer) == 1


def test_server_invite_non_2xx_timer_g_then_h() -> None:
    h = Harness()
    txn = h.serve(request())
    h.respond(txn, 486)
    assert txn.state is State.COMPLETED
    h.advance(31.99)
    sends = times(h.sent)
    assert gaps(sends) == [0.5, 1, 2, 4, 4, 4, 4, 4, 4, 4]  # Timer G: doubling capped at T2
    assert len({d for _t, d, _e in h.sent}) == 1
    assert h.events() == []
    h.advance(32.0)  # Timer H
    timeout, done = h.events()
    assert isinstance(timeout, ServerTimeout) and timeout.transaction is txn
    assert isinstance(done, TransactionTerminated) and done.transaction is txn
    assert len(h.layer) == 0 and h.layer.get_timer() is None


def test_server_invite_ack_absorbed_then_timer_i() -> None:
    h = Harness()
    req = request()
    txn = h.serve(req)
    resp = h.respond(txn, 404, to_tag="nf")
    h.advance(0.6)  # one Timer G retransmission
    ack = request("ACK", to_tag="nf", cseq_method="ACK")
    assert h.receive(ack) == []  # absorbed: the TU never sees the ACK for a non-2xx
    assert txn.state is State.CONFIRMED
    assert txn.last_response is not None and txn.last_response.status == resp.status
    h.flush()
    # INVITE and ACK retransmissions are absorbed in Confirmed; no more Timer G.
    assert h.receive(request()) == [] and h.receive(ack) == []
    assert h.advance(5.59) == []
    assert txn.state is State.CONFIRMED
    h.advance(5.6)  # Timer I = T4 after the ACK
    assert [type(e) for e in h.events()] == [TransactionTerminated]
    # An ACK after the transaction ended goes to the TU without a transaction.
    [late] = h.receive(ack)
    assert isinstance(late, RequestReceived) and late.transaction is None


def test_server_invite_completed_resends_final_on_retransmission() -> None:
    h = Harness()
    txn = h.serve(request())
    h.respond(txn, 500)
    [(_t, final, _d)] = h.flush()
    assert h.receive(request()) == []
    [(_t, again, _d)] = h.flush()
    assert again == final


# ---- lingering: what a finished transaction keeps for its 32 s --------------------------------


def _is_skeleton(msg: Request | Response | None) -> bool:
    """Via, From, To, Call-ID and CSeq only, no body: what a lingering transaction keeps."""
    assert msg is not None
    return set(msg.header_names()) <= {"via", "from", "to", "call-id", "cseq"} and not msg.body


def request_with_body(**changes: object) -> Request:
    req = request(**changes)  # type: ignore[arg-type]
    req.set_body(b"v=0\r\n" * 40, "application/sdp")
    req.add_header("User-Agent", "x" * 200)
    return req


def test_a_lingering_client_keeps_a_skeleton_and_no_request_bytes_and_still_acks() -> None:
    h = Harness()
    txn = h.send_request(request_with_body())
    assert txn._wire.startswith(b"INVITE ") and not txn.lingering
    [event] = h.receive(answer(txn.request, 486))
    assert isinstance(event, ResponseReceived) and event.response.header("content-length")
    [(_t, ack, _d)] = h.flush()
    assert txn.state is State.COMPLETED and txn.lingering and txn._wire == b""
    assert _is_skeleton(txn.request) and _is_skeleton(txn.last_response)
    assert (txn.request.method, txn.request.call_id, txn.request.from_tag) == (
        "INVITE",
        "call-1@example.net",
        "ftag",
    )
    assert h.receive(answer(request(), 486)) == []  # a retransmission: the same ACK again
    [(_t, again, _d)] = h.flush()
    assert again == ack and again.startswith(b"ACK ")
    other = h.send_request(request("BYE", branch="z9hG4bKbye", to_tag="t"))
    h.receive(answer(other.request, 200))
    assert other.state is State.COMPLETED and other._wire == b""


def test_a_2xx_passed_up_in_accepted_is_whole_for_the_tu_and_a_skeleton_in_the_layer() -> None:
    h = Harness()
    txn = h.send_request(request())
    h.receive(answer(txn.request, 200))
    assert txn.state is State.ACCEPTED and _is_skeleton(txn.last_response)
    again = answer(request(), 200)
    again.set_body(b"v=0\r\n", "application/sdp")
    [event] = h.receive(again)
    assert isinstance(event, ResponseReceived) and event.response is again
    assert _is_skeleton(txn.last_response) and txn.last_response.to_tag == "totag"


def test_a_lingering_server_keeps_only_a_final_answer_it_may_resend() -> None:
    h = Harness()
    txn = h.serve(request_with_body())
    h.respond(txn, 486)
    [(_t, final, _d)] = h.flush()
    assert txn.state is State.COMPLETED and txn._wire == final
    assert _is_skeleton(txn.request) and _is_skeleton(txn.last_response)
    assert h.receive(request()) == []
    [(_t, again, _d)] = h.flush()
    assert again == final
    assert h.receive(request("ACK", to_tag="srv")) == []
    assert txn.state is State.CONFIRMED and txn._wire == b""
    accepted = h.serve(request(branch="z9hG4bKok", call_id="ok"))
    h.respond(accepted, 200)
    [(_t, ok, _d)] = h.flush()
    assert ok.startswith(b"SIP/2.0 200")
    assert accepted.state is State.ACCEPTED and accepted._wire == b""
    assert h.receive(request(branch="z9hG4bKok", call_id="ok")) == []  # absorbed (RFC 6026)
    assert h.flush() == []


def test_a_tu_can_still_answer_from_a_lingering_request() -> None:
    """A UA core resending its 2xx (RFC 6026 Accepted) may build it from txn.request."""
    h = Harness()
    txn = h.serve(request_with_body())
    h.respond(txn, 200)
    [(_t, first, _d)] = h.flush()
    assert txn.lingering
    h.respond(txn, 200)
    [(_t, again, _d)] = h.flush()
    resent = wire(again)
    assert isinstance(resent, Response) and resent.status == 200
    assert (resent.call_id, resent.cseq.number, resent.top_via.branch) == (
        "call-1@example.net",
        1,
        "z9hG4bKabc",
    )
    assert resent.to_tag == "srv" and wire(first).to_tag == "srv"


def test_a_lingering_invite_still_matches_cancel_and_the_2543_ack() -> None:
    h = Harness()
    invite = h.serve(request_with_body(uri="sip:bob@EXAMPLE.com"))
    h.respond(invite, 200)
    assert invite.state is State.ACCEPTED and _is_skeleton(invite.request)
    [event] = h.receive(request("CANCEL", uri="sip:bob@example.com"), PEER_UDP)
    assert isinstance(event, RequestReceived) and event.cancelled is invite  # URI compared
    old = h.serve(request(branch=None, call_id="old-style"))
    h.respond(old, 404)
    assert old.state is State.COMPLETED and _is_skeleton(old.last_response)
    assert h.receive(request("ACK", branch=None, call_id="old-style", to_tag="srv")) == []
    assert old.state is State.CONFIRMED


def test_server_invite_over_tcp() -> None:
    h = Harness()
    txn = h.serve(request(transport="TCP"), PEER_TCP)
    assert txn.destination == PEER_TCP  # the connection it came on
    h.respond(txn, 486, to_tag="x")
    h.advance(31.0)
    assert len(h.sent) == 1  # no Timer G
    h.receive(request("ACK", transport="TCP", to_tag="x", cseq_method="ACK"), PEER_TCP)
    assert txn.state is State.TERMINATED  # Timer I = 0
    assert len(h.layer) == 0


def test_server_invite_tcp_timer_h() -> None:
    h = Harness()
    txn = h.serve(request(transport="TCP"), PEER_TCP)
    h.respond(txn, 486)
    h.advance(32.0)
    timeout, _done = h.events()
    assert isinstance(timeout, ServerTimeout) and timeout.transaction is txn


def test_server_invite_2xx_accepted_ack_for_2xx() -> None:
    h = Harness()
    req = request()
    txn = h.serve(req)
    ok = h.respond(txn, 200, to_tag="uas")
    assert txn.state is State.ACCEPTED
    [(_t, first, _d)] = h.flush()
    # INVITE retransmissions are absorbed; the UA core re-sends the 2xx itself.
    assert h.receive(request()) == [] and h.flush() == []
    h.advance(2.0)
    assert h.flush() == []  # no Timer G for a 2xx
    h.layer.send_response(txn, ok, h.now)
    [(_t, again, _d)] = h.flush()
    assert again == first
    # The ACK for a 2xx is a new transaction (new branch): it goes up without a transaction.
    ack = request("ACK", branch="z9hG4bKack", to_tag="uas", cseq_method="ACK")
    [event] = h.receive(ack)
    assert isinstance(event, RequestReceived) and event.transaction is None
    assert txn.acked
    h.advance(31.99)
    assert txn.state is State.ACCEPTED
    h.advance(32.0)  # Timer L: acknowledged, so no timeout
    assert [type(e) for e in h.events()] == [TransactionTerminated]


def test_server_invite_timer_l_without_ack_reports_timeout() -> None:
    h = Harness()
    txn = h.serve(request(transport="TCP"), PEER_TCP)
    h.respond(txn, 200)
    h.advance(32.0)
    timeout, done = h.events()
    assert isinstance(timeout, ServerTimeout) and timeout.transaction is txn
    assert isinstance(done, TransactionTerminated)


def test_server_invite_same_branch_ack_in_accepted_goes_up_with_transaction() -> None:
    h = Harness()
    txn = h.serve(request())
    h.respond(txn, 200, to_tag="uas")
    [event] = h.receive(request("ACK", to_tag="uas", cseq_method="ACK"))
    assert isinstance(event, RequestReceived) and event.transaction is txn and txn.acked


def test_server_send_response_state_checks() -> None:
    h = Harness()
    txn = h.serve(request())
    h.respond(txn, 486)
    with pytest.raises(TransactionError):
        h.respond(txn, 180)
    with pytest.raises(TransactionError):
        h.respond(txn, 200)
    h.layer.terminate(txn)
    assert txn.state is State.TERMINATED
    assert [type(e) for e in h.events()] == [TransactionTerminated]
    h.flush()
    h.respond(txn, 500)  # too late: dropped
    assert h.flush() == [] and h.events() == []
    h.layer.terminate(txn)
    assert h.events() == []


# ---- server non-INVITE (Figure 8) ----------------------------------------------------------------


def test_server_non_invite_paths_udp() -> None:
    h = Harness()
    txn = h.serve(request("OPTIONS"))
    assert txn.state is State.TRYING and not txn.is_invite
    assert h.layer.get_timer() is None  # no 100 Trying for non-INVITE (§17.2.2)
    assert h.receive(request("OPTIONS")) == [] and h.flush() == []  # absorbed in Trying
    h.respond(txn, 100)
    assert txn.state is State.PROCEEDING
    [(_t, prov, _d)] = h.flush()
    assert h.receive(request("OPTIONS")) == []
    [(_t, again, _d)] = h.flush()
    assert again == prov
    h.respond(txn, 200)
    assert txn.state is State.COMPLETED
    [(_t, final, _d)] = h.flush()
    assert h.receive(request("OPTIONS")) == []
    [(_t, again, _d)] = h.flush()
    assert again == final
    with pytest.raises(TransactionError):
        h.respond(txn, 404)
    h.advance(31.99)
    assert txn.state is State.COMPLETED and h.flush() == []  # no response retransmissions
    h.advance(32.0)  # Timer J = 64*T1
    assert [type(e) for e in h.events()] == [TransactionTerminated]


def test_server_non_invite_tcp_timer_j_zero() -> None:
    h = Harness()
    txn = h.serve(request("OPTIONS", transport="TCP"), PEER_TCP)
    h.respond(txn, 200)
    assert txn.state is State.TERMINATED and len(h.layer) == 0
    [(_t, _data, dest)] = h.flush()
    assert dest == PEER_TCP


# ---- CANCEL (§9.2) ------------------------------------------------------------------------------


def test_cancel_matches_invite_server_transaction() -> None:
    h = Harness()
    invite = h.serve(request())
    events = h.receive(request("CANCEL"), PEER_UDP)
    [event] = events
    assert isinstance(event, RequestReceived)
    assert event.transaction is not None and event.transaction is not invite
    assert event.transaction.request.method == "CANCEL"
    assert event.cancelled is invite
    # The TU answers both; the CANCEL's retransmission is absorbed by its own transaction.
    h.respond(event.transaction, 200)
    h.respond(invite, 487)
    assert h.receive(request("CANCEL")) == []
    assert h.layer.counts == TransactionCounts(0, 2)


@pytest.mark.parametrize(
    "changes",
    [
        {"branch": "z9hG4bKother"},
        {"via_host": "192.0.2.99:5060"},
        {"call_id": "another"},
        {"from_tag": "other"},
        {"cseq": 2},
        {"uri": "sip:carol@example.com"},
    ],
)
def test_cancel_that_matches_nothing(changes: dict[str, object]) -> None:
    h = Harness()
    h.serve(request())
    [event] = h.receive(request("CANCEL", **changes))  # type: ignore[arg-type]
    assert isinstance(event, RequestReceived) and event.cancelled is None
    assert event.transaction is not None


def test_cancel_uri_compared_as_uri() -> None:
    h = Harness()
    invite = h.serve(request(uri="sip:bob@EXAMPLE.com"))
    [event] = h.receive(request("CANCEL", uri="sip:bob@example.com"))
    assert isinstance(event, RequestReceived) and event.cancelled is invite


def test_cancel_rfc2543() -> None:
    h = Harness()
    invite = h.serve(request(branch=None))
    [event] = h.receive(request("CANCEL", branch=None))
    assert isinstance(event, RequestReceived) and event.cancelled is invite
    [other] = h.receive(request("CANCEL", branch=None, cseq=9))
    assert isinstance(other, RequestReceived) and other.cancelled is None


# ---- merged requests (§8.2.2.2) -----------------------------------------------------------------


def test_merged_request_answered_482() -> None:
    h = Harness(detect_merged=True)
    first = h.serve(request(branch="z9hG4bKpath1"))
    merged = request(branch="z9hG4bKpath2", via_host="198.51.100.7:5060")
    assert h.receive(merged, Endpoint("udp", "198.51.100.7", 5060)) == []  # not reported
    [(_t, data, dest)] = h.flush()
    loop = wire(data)
    assert isinstance(loop, Response) and loop.status == 482 and loop.to_tag
    assert loop.top_via.branch == "z9hG4bKpath2"
    assert dest == Endpoint("udp", "198.51.100.7", 5060)
    assert h.layer.counts == TransactionCounts(0, 2)
    # Its retransmission gets the 482 again; its ACK is absorbed.
    assert h.receive(merged, Endpoint("udp", "198.51.100.7", 5060)) == []
    [(_t, again, _d)] = h.flush()
    assert again == data
    ack = request("ACK", branch="z9hG4bKpath2", via_host="198.51.100.7:5060", to_tag=loop.to_tag)
    assert h.receive(ack, Endpoint("udp", "198.51.100.7", 5060)) == []
    assert first.state is State.PROCEEDING


def test_merged_detection_scope() -> None:
    h = Harness(detect_merged=True)
    h.serve(request("OPTIONS", branch="z9hG4bK1"))
    # A To tag, another CSeq or another method: not merged.
    h.serve(request("OPTIONS", branch="z9hG4bK2", to_tag="x"))
    h.serve(request("OPTIONS", branch="z9hG4bK3", cseq=2))
    h.serve(request("INFO", branch="z9hG4bK4"))
    assert h.flush() == []
    # Off by default: a proxy forwards both.
    h2 = Harness()
    h2.serve(request(branch="z9hG4bKpath1"))
    h2.serve(request(branch="z9hG4bKpath2"))
    assert h2.layer.counts == TransactionCounts(0, 2)


# ---- RFC 2543 matching (§17.2.3) ---------------------------------------------------------------


def inv2543(**changes: object) -> Request:
    """Like RFC 4475 §3.4.2 (inv2543.dat): no branch at all, no magic cookie."""
    fields: dict[str, object] = {"branch": None, "via_host": "192.0.2.15", "call_id": "inv2543"}
    fields.update(changes)
    return request(**fields)  # type: ignore[arg-type]


def test_rfc2543_invite_retransmission_and_ack() -> None:
    h = Harness()
    txn = h.serve(inv2543())
    assert txn.key[0] == "2543"
    assert h.receive(inv2543()) == []  # retransmission matched
    h.respond(txn, 486, to_tag="t2543")
    h.flush()
    assert h.receive(inv2543()) == []
    assert len(h.flush()) == 1  # final re-sent
    # An ACK with another To tag is not ours: it goes up.
    [other] = h.receive(inv2543(method="ACK", cseq_method="ACK", to_tag="nope"))
    assert isinstance(other, RequestReceived) and other.transaction is None
    assert txn.state is State.COMPLETED
    assert h.receive(inv2543(method="ACK", cseq_method="ACK", to_tag="t2543")) == []
    assert txn.state is State.CONFIRMED


def test_rfc2543_reinvite_ack_with_same_tag() -> None:
    h = Harness()
    txn = h.serve(inv2543(to_tag="dlg"))
    h.respond(txn, 488)
    assert h.receive(inv2543(method="ACK", cseq_method="ACK", to_tag="dlg")) == []
    assert txn.state is State.CONFIRMED


@pytest.mark.parametrize(
    "changes",
    [
        {"uri": "sip:other@example.com"},
        {"from_tag": "f2"},
        {"call_id": "c2"},
        {"cseq": 2},
        {"via_host": "192.0.2.16"},
        {"to_tag": "t"},
        {"branch": "1234"},  # a non-cookie branch is part of the top Via
    ],
)
def test_rfc2543_non_matching(changes: dict[str, object]) -> None:
    h = Harness()
    h.serve(inv2543())
    [event] = h.receive(inv2543(**changes))
    assert isinstance(event, RequestReceived) and event.transaction is not None


def test_rfc2543_non_cookie_branch_matches_itself() -> None:
    h = Harness()
    h.serve(inv2543(branch="1234"))
    assert h.receive(inv2543(branch="1234")) == []


def test_cookie_branch_sent_by_and_method_matter() -> None:
    h = Harness()
    h.serve(request())
    assert h.receive(request()) == []
    [a] = h.receive(request(via_host="192.0.2.21:5060"))
    [b] = h.receive(request("OPTIONS"))
    assert isinstance(a, RequestReceived) and a.transaction is not None
    assert isinstance(b, RequestReceived) and b.transaction is not None
    assert h.layer.counts == TransactionCounts(0, 3)


# ---- transport errors (§17.1.4, §17.2.4) -------------------------------------------------------


def test_transport_error_fails_client_with_503() -> None:
    h = Harness()
    other = Endpoint("udp", "192.0.2.77", 5060)
    invite = h.send_request(request(branch="z9hG4bK1"))
    options = h.send_request(request("OPTIONS", branch="z9hG4bK2"))
    elsewhere = h.send_request(request("OPTIONS", branch="z9hG4bK3"), other)
    h.layer.transport_error(UDP, 1.0)
    events = h.events()
    locals_ = [e for e in events if isinstance(e, ResponseReceived)]
    assert {e.transaction for e in locals_} == {invite, options}
    assert all(e.local and e.response.status == 503 for e in locals_)
    assert sum(isinstance(e, TransactionTerminated) for e in events) == 2
    assert elsewhere.state is State.TRYING and len(h.layer) == 1
    h.layer.transport_error(Endpoint("udp", "192.0.2.99", 1), 1.0)
    assert h.events() == []


def test_transport_error_after_final_does_not_report() -> None:
    h = Harness()
    req = request()
    txn = h.send_request(req)
    h.receive(answer(req, 200))
    h.layer.transport_error(UDP, 1.0)
    assert h.events() == [] and txn.state is State.ACCEPTED
    req2 = request(branch="z9hG4bK9")
    txn2 = h.send_request(req2)
    h.receive(answer(req2, 404))
    h.layer.transport_error(UDP, 1.0)
    assert [type(e) for e in h.events()] == [TransactionTerminated]
    assert txn2.state is State.TERMINATED


def test_transport_error_terminates_server_transactions() -> None:
    h = Harness()
    tcp = h.serve(request(transport="TCP"), PEER_TCP)
    udp = h.serve(request("OPTIONS", branch="z9hG4bKu"), PEER_UDP)
    # Another connection to the same address is not this one.
    h.layer.transport_error(PEER_TCP._replace(conn=99), 1.0)
    assert tcp.state is State.PROCEEDING
    h.layer.transport_error(PEER_TCP._replace(conn=0), 1.0)
    [done] = h.events()
    assert isinstance(done, TransactionTerminated) and done.transaction is tcp
    assert udp.state is State.TRYING
    h.respond(tcp, 200)  # the TU did not know yet: dropped
    assert h.flush() == []


# ---- the layer as a whole -----------------------------------------------------------------------


def test_timers_share_one_heap_and_stale_entries_are_skipped() -> None:
    h = Harness()
    reqs = [request(branch=f"z9hG4bK{i}") for i in range(3000)]
    for req in reqs:
        h.send_request(req)
    for req in reqs:
        h.receive(answer(req, 180))  # cancels Timers A and B of each: 6000 stale entries
    assert h.layer.get_timer() is None
    assert len(h.layer._heap) < 3000  # compacted along the way
    assert len(h.layer) == 3000


def test_counts_and_len() -> None:
    h = Harness()
    assert h.layer.counts == TransactionCounts(0, 0) and len(h.layer) == 0
    h.send_request(request("OPTIONS"))
    h.serve(request())
    assert h.layer.counts == TransactionCounts(1, 1) and len(h.layer) == 2


def test_find_server() -> None:
    h = Harness()
    txn = h.serve(request())
    assert h.layer.find_server(request()) is txn
    assert h.layer.find_server(request(branch="z9hG4bKx")) is None


def test_repr() -> None:
    h = Harness()
    txn = h.send_request(request("OPTIONS"))
    assert repr(txn) == "<ClientTransaction OPTIONS Trying z9hG4bKabc>"
