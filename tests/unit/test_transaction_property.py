"""Property test: any sequence of (message, time) inputs leaves the layer consistent.

Peers and timers never make the layer raise; the TU only gets TransactionError; and once the TU
has answered what waits for it and the timers have run out, every transaction is terminated,
each reported exactly once.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.transaction import (
    ClientTransaction,
    RequestReceived,
    ServerTransaction,
    State,
    TimerConfig,
    TransactionError,
    TransactionLayer,
    TransactionTerminated,
)

PEERS = {
    "udp": Endpoint("udp", "127.0.0.1", 40000),
    "tcp": Endpoint("tcp", "127.0.0.1", 40001, conn=5),
}
BRANCHES = ["z9hG4bKa", "z9hG4bKb", "z9hG4bKc", None, "legacy1"]
METHODS = ["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE"]


def make_request(
    method: str, branch: str | None, to_tag: str | None, cseq: int, transport: str, via: str
) -> Request:
    via_line = f"SIP/2.0/{transport.upper()} {via}" + (f";branch={branch}" if branch else "")
    data = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: {via_line}\r\n"
        "From: <sip:alice@example.net>;tag=f1\r\n"
        "To: <sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else "") + "\r\n"
        "Call-ID: prop-1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


incoming = st.tuples(
    st.just("request"),
    st.sampled_from(METHODS),
    st.sampled_from(BRANCHES),
    st.sampled_from([None, "srv", "other"]),
    st.integers(1, 2),
    st.sampled_from(sorted(PEERS)),
    st.sampled_from(["192.0.2.20:5060", "192.0.2.21"]),
)
response = st.tuples(st.just("response"), st.integers(0, 9), st.sampled_from([100, 180, 200, 486]))
outgoing = st.tuples(
    st.just("send"),
    st.sampled_from(["INVITE", "OPTIONS", "CANCEL"]),
    st.sampled_from(sorted(PEERS)),
)
tu_answer = st.tuples(st.just("answer"), st.integers(0, 9), st.sampled_from([100, 180, 200, 404]))
error = st.tuples(st.just("error"), st.sampled_from(sorted(PEERS)))
tick = st.tuples(st.just("tick"), st.sampled_from([0.0, 0.1, 0.25, 0.6, 2.0, 6.0, 33.0]))
kill = st.tuples(st.just("terminate"), st.integers(0, 9), st.booleans())
again = st.tuples(st.just("again"), st.integers(0, 9), st.booleans())
operation = st.one_of(incoming, again, response, outgoing, tu_answer, tick, error, kill)


class Run:
    def __init__(self, timers: TimerConfig, detect_merged: bool) -> None:
        self.layer = TransactionLayer(timers, detect_merged=detect_merged)
        self.now = 0.0
        self.clients: list[ClientTransaction] = []
        self.servers: list[ServerTransaction] = []
        self.terminated: Counter[object] = Counter()
        self.branch = 0
        self.received: list[tuple[object, ...]] = []

    def drain(self) -> None:
        self.layer.datagrams_to_send()
        while (event := self.layer.next_event()) is not None:
            if isinstance(event, TransactionTerminated):
                self.terminated[event.transaction] += 1
                assert event.transaction.state is State.TERMINATED
            elif isinstance(event, RequestReceived) and event.transaction is not None:
                self.servers.append(event.transaction)

    def advance(self, until: float) -> None:
        while (deadline := self.layer.get_timer()) is not None and deadline <= until:
            assert deadline >= self.now - 1e-9  # no timer is ever left in the past
            self.now = deadline
            self.layer.handle_timer(deadline)
            self.drain()
        self.now = max(self.now, until)

    def apply(self, op: tuple[object, ...]) -> None:
        kind = op[0]
        if kind == "request":
            self.received.append(op)
            _k, method, branch, to_tag, cseq, transport, via = op
            req = make_request(method, branch, to_tag, cseq, transport, via)  # type: ignore[arg-type]
            self.layer.receive(req, PEERS[transport], self.now)  # type: ignore[index]
        elif kind == "again" and self.received:
            # A retransmission of a recent request, or the ACK for what the TU answered to it.
            _k, index, as_ack = op
            old = self.received[-1 - index % len(self.received)]  # type: ignore[operator]
            if as_ack:
                old = (old[0], "ACK", old[2], "srv", *old[4:])
            self.apply(old)
        elif kind == "response" and self.clients:
            _k, index, status = op
            txn = self.clients[-1 - index % len(self.clients)]  # type: ignore[operator]
            resp = txn.request.create_response(status, to_tag="t")  # type: ignore[arg-type]
            self.layer.receive(_reparse(resp), txn.destination, self.now)
        elif kind == "send":
            _k, method, transport = op
            self.branch += 1
            req = make_request(method, f"z9hG4bKout{self.branch}", None, 1, transport, "10.0.0.1")  # type: ignore[arg-type]
            self.clients.append(self.layer.send_request(req, PEERS[transport], self.now))  # type: ignore[index]
        elif kind == "answer" and self.servers:
            _k, index, status = op
            txn = self.servers[-1 - index % len(self.servers)]  # type: ignore[operator]
            if txn.request.method != "ACK":
                resp = txn.request.create_response(status, to_tag="srv")  # type: ignore[arg-type]
                try:
                    self.layer.send_response(txn, resp, self.now)
                except TransactionError:
                    assert txn.state in (State.COMPLETED, State.CONFIRMED, State.ACCEPTED)
        elif kind == "error":
            self.layer.transport_error(PEERS[op[1]], self.now)  # type: ignore[index]
        elif kind == "tick":
            self.advance(self.now + op[1])  # type: ignore[operator]
        elif kind == "terminate":
            pool: list[ClientTransaction] | list[ServerTransaction] = (
                self.clients if op[2] else self.servers
            )
            if pool:
                self.layer.terminate(pool[-1 - op[1] % len(pool)])  # type: ignore[operator]
        self.drain()

    def finish(self) -> None:
        """The TU answers what waits for it, peers answer pending INVITEs; timers run out."""
        for txn in self.servers:
            if txn.state in (State.TRYING, State.PROCEEDING):
                self.layer.send_response(txn, txn.request.create_response(500), self.now)
        for client in self.clients:
            if client.state is State.PROCEEDING and client.is_invite:
                resp = client.request.create_response(487, to_tag="t")
                self.layer.receive(_reparse(resp), client.destination, self.now)
        self.drain()
        self.advance(self.now + 10_000)


def _reparse(resp: Response) -> Response:
    msg = parse_message(bytes(resp))
    assert isinstance(msg, Response)
    return msg


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(operation, min_size=10, max_size=80),
    detect_merged=st.booleans(),
    t1=st.sampled_from([0.5, 0.1]),
)
def test_random_inputs_end_with_every_transaction_terminated(
    ops: list[tuple[object, ...]], detect_merged: bool, t1: float
) -> None:
    run = Run(TimerConfig(t1=t1, t2=8 * t1), detect_merged)
    for op in ops:
        run.apply(op)
        assert len(run.layer) == sum(run.layer.counts)
    run.finish()
    assert len(run.layer) == 0
    assert run.layer.get_timer() is None
    for txn in [*run.clients, *run.servers]:
        assert txn.state is State.TERMINATED
        assert run.terminated[txn] == 1, txn
    assert all(count == 1 for count in run.terminated.values())
