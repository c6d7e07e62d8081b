"""The SIP transaction layer, sans-IO (RFC 3261 §17 as amended by RFC 6026).

Messages and ``now`` come in (``receive``, ``send_request``, ``send_response``, ``handle_timer``
of :class:`TransactionLayer`); events for the TU come out of ``next_event`` and wire bytes out of
``datagrams_to_send``; ``get_timer`` says when to call ``handle_timer`` next. The layer answers
on its own where RFC 3261 says the transaction does: retransmissions, the ACK for a non-2xx
final response, 100 Trying, 482 for merged requests.

The state machines are the tables of :mod:`trunkline.sip.transaction_fsm`, the records and
events it hands out are in :mod:`trunkline.sip.transaction_types`; the transport rules
(``received``/``rport``, where responses go) are :mod:`trunkline.sip.via_rules`. All timers share
one heap of ``(deadline, seq, transaction, timer)`` entries, cancelled lazily: an entry is live
while its transaction still records that ``seq`` for that timer.
"""

from __future__ import annotations

import heapq
import secrets
from collections import deque
from collections.abc import Callable
from typing import cast

from trunkline.sip.address import Via
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Message, Request, Response
from trunkline.sip.transaction_fsm import (
    ALIVE,
    INITIAL,
    NO_TIMERS,
    TABLES,
    Act,
    Input,
    Kind,
    State,
    TransactionError,
    step,
)
from trunkline.sip.transaction_types import (
    MAGIC_COOKIE,
    ClientTransaction,
    Event,
    RequestReceived,
    ResponseReceived,
    ServerTimeout,
    ServerTransaction,
    TimerConfig,
    Transaction,
    TransactionCounts,
    TransactionTerminated,
)
from trunkline.sip.uri import host_key
from trunkline.sip.via_rules import response_destination, stamp_via

__all__ = [
    "MAGIC_COOKIE",
    "ClientTransaction",
    "Event",
    "RequestReceived",
    "ResponseReceived",
    "ServerTimeout",
    "ServerTransaction",
    "State",
    "TimerConfig",
    "Transaction",
    "TransactionCounts",
    "TransactionError",
    "TransactionLayer",
    "TransactionTerminated",
]


# The states where a transaction only absorbs retransmissions until a timer ends it (up to 32 s
# over UDP). It keeps skeletons of its messages there (Request.skeleton), and its wire bytes
# only where it may still resend them: the final response of a server in Completed.
_LINGER: dict[tuple[Kind, State], bool] = {
    (Kind.CLIENT_INVITE, State.COMPLETED): False,
    (Kind.CLIENT_INVITE, State.ACCEPTED): False,
    (Kind.CLIENT_NON_INVITE, State.COMPLETED): False,
    (Kind.SERVER_INVITE, State.COMPLETED): True,
    (Kind.SERVER_INVITE, State.CONFIRMED): False,
    (Kind.SERVER_INVITE, State.ACCEPTED): False,
    (Kind.SERVER_NON_INVITE, State.COMPLETED): True,
}


def _random_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


_ActFn = Callable[[Transaction, Message | None, Endpoint | None, float], None]


class TransactionLayer:
    """Every client and server transaction of one element, driven by messages and ``now``."""

    def __init__(
        self,
        timers: TimerConfig = TimerConfig(),  # frozen: sharing the default is safe
        *,
        detect_merged: bool = False,
        branch_factory: Callable[[], str] | None = None,
        send_trying_immediately: bool = False,
    ) -> None:
        self.timers = timers
        self.detect_merged = detect_merged
        self.send_trying_immediately = send_trying_immediately or timers.trying_delay <= 0
        self._branch_factory = branch_factory or _random_branch
        self._clients: dict[tuple[object, ...], ClientTransaction] = {}
        self._servers: dict[tuple[object, ...], ServerTransaction] = {}
        # (From tag, Call-ID, CSeq number, method) of server transactions: merged requests
        # (§8.2.2.2) and the ACK for a 2xx (which carries another branch) are found by it.
        self._dialogs: dict[tuple[str | None, str, int, str], ServerTransaction] = {}
        self._by_peer: dict[tuple[str, str, int], dict[Transaction, None]] = {}
        self._heap: list[tuple[float, int, Transaction, Input]] = []
        self._seq = 0
        self._stale = 0  # cancelled entries still in the heap
        self._events: deque[Event] = deque()
        self._out: list[tuple[bytes, Endpoint]] = []
        self._do: dict[Act, _ActFn] = {act: getattr(self, "_" + act.name.lower()) for act in Act}

    # ---- public API -------------------------------------------------------------------------
    def receive(self, message: Request | Response, source: Endpoint, now: float) -> None:
        """Feed a message from the network. Raises ParseError only when a header matching needs
        (Via, CSeq, Call-ID) is unusable; ``parse_message`` already guarantees those."""
        if isinstance(message, Request):
            self._receive_request(message, source, now)
        else:
            self._receive_response(message, source, now)

    def send_request(
        self, request: Request, destination: Endpoint, now: float
    ) -> ClientTransaction:
        """Start a client transaction and queue the request (§17.1).

        A top Via without a branch gets one from :meth:`new_branch`. Raises TransactionError for
        an ACK (never a transaction: use :meth:`send_stateless`) or a (branch, method) in use,
        ParseError when the request has no Via.
        """
        method = request.method
        if method == "ACK":
            raise TransactionError("ACK is not a transaction: send it with send_stateless()")
        via = request.top_via
        if not via.branch:
            via.set_param("branch", self.new_branch())
            request.update_top_via()
        key = (via.branch, method)
        if key in self._clients:
            raise TransactionError(f"a client transaction {key} exists already")
        kind = Kind.CLIENT_INVITE if method == "INVITE" else Kind.CLIENT_NON_INVITE
        actions, state = INITIAL[kind]
        txn = ClientTransaction(
            key=key, request=request, kind=kind, state=state, destination=destination
        )
        txn._wire = bytes(request)
        self._clients[key] = txn
        self._index_peer(txn)
        self._out.append((txn._wire, destination))
        self._run(txn, actions, None, None, now)
        return txn

    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None:
        """Send the TU's response on a server transaction (§17.2).

        Raises TransactionError when the state machine forbids it (a 1xx after a final response,
        a second non-2xx final); a response on a transaction that already terminated is dropped.
        """
        status = response.status
        event = Input.TU_1XX if status < 200 else Input.TU_2XX if status < 300 else Input.TU_FINAL
        self._process(transaction, event, now, response, None)

    def send_stateless(self, message: Request | Response, destination: Endpoint) -> None:
        """Queue a message outside any transaction (the ACK for a 2xx, stateless forwarding)."""
        self._out.append((bytes(message), destination))

    def transport_error(self, destination: Endpoint, now: float) -> None:
        """The shell could not send to ``destination`` (§17.1.4, §17.2.4): client transactions
        to it fail with a local 503, server transactions answering there terminate.
        A ``conn`` of 0 on either side matches any connection to that address."""
        bucket = self._by_peer.get(destination[:3])
        if not bucket:
            return
        conn = destination.conn
        for txn in list(bucket):
            other = txn.destination.conn
            if conn and other and conn != other:
                continue
            if not txn.terminated:
                self._process(txn, Input.TRANSPORT_ERROR, now)

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _deadline, seq, txn, name = heapq.heappop(heap)
            if txn._timers.get(name) != seq:
                self._stale -= 1
                continue
            del txn._timers[name]
            self._process(txn, name, now)

    def get_timer(self) -> float | None:
        """The earliest live deadline, or None: re-arm one ``loop.call_at`` with it."""
        heap = self._heap
        while heap:
            deadline, seq, txn, name = heap[0]
            if txn._timers.get(name) == seq:
                return deadline
            heapq.heappop(heap)
            self._stale -= 1
        return None

    def next_event(self) -> Event | None:
        """The next event for the TU, or None."""
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self) -> list[tuple[bytes, Endpoint]]:
        """Everything queued for the wire since the last call, in order."""
        out = self._out
        self._out = []
        return out

    def new_branch(self) -> str:
        """A fresh branch: the magic cookie and 64 random bits (§8.1.1.7)."""
        return self._branch_factory()

    def terminate(self, transaction: ClientTransaction | ServerTransaction) -> None:
        """End a transaction now, without telling the peer anything (the TU gave up)."""
        self._process(transaction, Input.TERMINATE, 0.0)

    @property
    def counts(self) -> TransactionCounts:
        """Live client and server transactions (for draining on shutdown)."""
        return TransactionCounts(len(self._clients), len(self._servers))

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers)

    def find_server(self, request: Request) -> ServerTransaction | None:
        """The server transaction ``request`` (already received) matches, if any (§17.2.3)."""
        via = request.top_via
        return self._match_server(request, via, request.method == "ACK")[1]

    # ---- receiving ----------------------------------------------------------------------------
    def _receive_response(self, response: Response, source: Endpoint, now: float) -> None:
        branch = response.top_via.branch
        txn = None if branch is None else self._clients.get((branch, response.cseq.method))
        if txn is None:
            self._events.append(ResponseReceived(response, source, None))
            return
        status = response.status
        event = (
            Input.RESP_1XX if status < 200 else Input.RESP_2XX if status < 300 else Input.RESP_FINAL
        )
        self._process(txn, event, now, response, source)

    def _receive_request(self, request: Request, source: Endpoint, now: float) -> None:
        stamp_via(request, source)  # §18.2.1 before anything else
        via = request.top_via
        is_ack = request.method == "ACK"
        key, txn = self._match_server(request, via, is_ack)
        if txn is not None:
            event = Input.ACK if is_ack else Input.REQUEST
            self._process(txn, event, now, request, source)
        elif is_ack:
            self._note_ack_for_2xx(request)
            self._events.append(RequestReceived(request, source, None))
        else:
            self._new_server(key, request, source, now)

    def _match_server(
        self, request: Request, via: Via, is_ack: bool
    ) -> tuple[tuple[object, ...], ServerTransaction | None]:
        """§17.2.3: branch, sent-by and method; the RFC 2543 rules without the magic cookie."""
        method = "INVITE" if is_ack else request.method
        branch = via.branch
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            key: tuple[object, ...] = (branch, host_key(via.host), via.port, method)
            return key, self._servers.get(key)
        base = _key_2543(request, via, method)
        if not is_ack:
            key = ("2543", request.to_tag, *base)
            return key, self._servers.get(key)
        # The ACK for a non-2xx carries the To tag of our response, the INVITE did not (or the
        # same one, in a dialog): match the rest and compare the tag with the response's.
        to_tag = request.to_tag
        for tag in (to_tag, None) if to_tag is not None else (None,):
            txn = self._servers.get(("2543", tag, *base))
            last = None if txn is None else txn.last_response
            if last is not None and last.to_tag == to_tag:
                return (), txn
        return (), None

    def _new_server(
        self, key: tuple[object, ...], request: Request, source: Endpoint, now: float
    ) -> None:
        method = request.method
        kind = Kind.SERVER_INVITE if method == "INVITE" else Kind.SERVER_NON_INVITE
        actions, state = INITIAL[kind]
        dest = response_destination(request.top_via, source)
        txn = ServerTransaction(
            key=key, request=request, kind=kind, state=state, destination=dest, source=source
        )
        self._servers[key] = txn
        self._index_peer(txn)
        dkey = (request.from_tag, request.call_id, request.cseq.number, method)
        other = self._dialogs.get(dkey)
        if other is not None and self.detect_merged and request.to_tag is None:
            # §8.2.2.2: the same request reached us along another path; answer it, tell no one.
            response = request.create_response(482, "Loop Detected", to_tag=_new_tag())
            self._process(txn, Input.TU_FINAL, now, response, None)
            return
        if other is None and (self.detect_merged or kind is Kind.SERVER_INVITE):
            self._dialogs[dkey] = txn
            txn._dialog_key = dkey
        cancelled = self._match_cancel(request, via=request.top_via) if method == "CANCEL" else None
        self._events.append(RequestReceived(request, source, txn, cancelled))
        self._run(txn, actions, request, source, now)

    def _match_cancel(self, cancel: Request, via: Via) -> ServerTransaction | None:
        """§9.2: the INVITE server transaction a CANCEL matches (same rules, method INVITE)."""
        branch = via.branch
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            invite = self._servers.get((branch, host_key(via.host), via.port, "INVITE"))
        else:
            invite = self._servers.get(("2543", cancel.to_tag, *_key_2543(cancel, via, "INVITE")))
        if invite is None:
            return None
        req = invite.request
        if (
            req.call_id != cancel.call_id
            or req.from_tag != cancel.from_tag
            or req.cseq.number != cancel.cseq.number
        ):
            return None
        if req.uri_text != cancel.uri_text and req.uri != cancel.uri:
            return None
        return invite

    def _note_ack_for_2xx(self, ack: Request) -> None:
        """Remember that the 2xx of an Accepted INVITE server transaction was acknowledged."""
        txn = self._dialogs.get((ack.from_tag, ack.call_id, ack.cseq.number, "INVITE"))
        if txn is None or txn.state is not State.ACCEPTED or txn.last_response is None:
            return
        if txn.last_response.to_tag == ack.to_tag:
            txn.acked = True

    # ---- the state machine driver -------------------------------------------------------------
    def _process(
        self,
        txn: Transaction,
        event: Input,
        now: float,
        message: Message | None = None,
        source: Endpoint | None = None,
    ) -> None:
        entry = TABLES[txn.kind].get((txn.state, event))
        actions, new = entry if entry is not None else step(txn.kind, txn.state, event)
        old = txn.state
        if new is not old:
            txn.state = new
            if txn._timers:
                self._drop_timers(txn, ALIVE.get((txn.kind, new), NO_TIMERS))
        self._run(txn, actions, message, source, now)
        keep_wire = _LINGER.get((txn.kind, txn.state))
        if keep_wire is not None:
            _linger(txn, message, keep_wire)
        if new is State.TERMINATED and old is not State.TERMINATED:
            self._remove(txn)
            done = cast(ClientTransaction | ServerTransaction, txn)
            self._events.append(TransactionTerminated(done))

    def _run(
        self,
        txn: Transaction,
        actions: tuple[Act, ...],
        message: Message | None,
        source: Endpoint | None,
        now: float,
    ) -> None:
        do = self._do
        for act in actions:
            do[act](txn, message, source, now)
        fire = txn._fire_now
        if fire is not None:  # a zero-length timer (D, I, J, K on reliable transports)
            txn._fire_now = None
            self._process(txn, fire, now)

    def _remove(self, txn: Transaction) -> None:
        self._drop_timers(txn, NO_TIMERS)
        if isinstance(txn, ServerTransaction):
            if self._servers.get(txn.key) is txn:
                del self._servers[txn.key]
            dkey = txn._dialog_key
            if dkey is not None and self._dialogs.get(dkey) is txn:
                del self._dialogs[dkey]
        elif self._clients.get(txn.key) is txn:
            del self._clients[txn.key]
        peer = txn.destination[:3]
        bucket = self._by_peer.get(peer)
        if bucket is not None:
            bucket.pop(txn, None)
            if not bucket:
                del self._by_peer[peer]

    def _index_peer(self, txn: Transaction) -> None:
        peer = txn.destination[:3]
        bucket = self._by_peer.get(peer)
        if bucket is None:
            self._by_peer[peer] = {txn: None}
        else:
            bucket[txn] = None

    # ---- timers -------------------------------------------------------------------------------
    def _start(self, txn: Transaction, name: Input, delay: float, now: float) -> None:
        if delay <= 0:
            txn._fire_now = name
            return
        self._seq += 1
        if name in txn._timers:
            self._stale += 1
        txn._timers[name] = self._seq
        heapq.heappush(self._heap, (now + delay, self._seq, txn, name))

    def _drop_timers(self, txn: Transaction, keep: frozenset[Input]) -> None:
        timers = txn._timers
        for name in [n for n in timers if n not in keep]:
            del timers[name]
            self._stale += 1
        if self._stale > 1024 and self._stale * 2 > len(self._heap):
            self._heap = [e for e in self._heap if e[2]._timers.get(e[3]) == e[1]]
            heapq.heapify(self._heap)
            self._stale = 0

    # ---- actions (named after transaction_fsm.Act) ------------------------------------------
    def _pass_up(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        response = cast(Response, msg)
        txn.last_response = response
        self._events.append(
            ResponseReceived(response, src or txn.destination, cast(ClientTransaction, txn))
        )

    def _send_ack(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        client = cast(ClientTransaction, txn)
        if client._ack_wire is None:
            client._ack_wire = bytes(build_ack(txn.request, cast(Response, msg)))
        self._out.append((client._ack_wire, txn.destination))

    def _retransmit_double(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._out.append((txn._wire, txn.destination))
        if txn.kind is Kind.CLIENT_INVITE:
            txn._interval *= 2  # Timer A: no cap (§17.1.1.2)
            self._start(txn, Input.TIMER_A, txn._interval, now)
        else:
            txn._interval = min(2 * txn._interval, self.timers.t2)  # Timer E (§17.1.2.2)
            self._start(txn, Input.TIMER_E, txn._interval, now)

    def _retransmit_t2(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._out.append((txn._wire, txn.destination))
        txn._interval = self.timers.t2
        self._start(txn, Input.TIMER_E, txn._interval, now)

    def _report_408(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._report_local(txn, 408)

    def _report_503(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._report_local(txn, 503)

    def _report_local(self, txn: Transaction, status: int) -> None:
        response = txn.request.create_response(status)
        client = cast(ClientTransaction, txn)
        self._events.append(ResponseReceived(response, txn.destination, client, local=True))

    def _send_response(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        response = cast(Response, msg)
        txn.last_response = response
        txn._wire = bytes(response)
        self._out.append((txn._wire, txn.destination))

    def _resend_response(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        if txn._wire:
            self._out.append((txn._wire, txn.destination))

    def _resend_provisional(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        if txn._wire:
            self._out.append((txn._wire, txn.destination))
        else:  # the client is already retransmitting: do not wait for the trying timer
            self._send_trying(txn, msg, src, now)

    def _send_trying(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        if txn.last_response is not None:
            return
        self._cancel_trying(txn, msg, src, now)
        request = txn.request
        trying = request.create_response(100)
        timestamp = request.header("timestamp")
        if timestamp is not None:  # §8.2.6.1
            trying.add_header("Timestamp", timestamp)
        self._send_response(txn, trying, src, now)

    def _cancel_trying(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        if txn._timers.pop(Input.TIMER_TRYING, None) is not None:
            self._stale += 1

    def _retransmit_response(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._out.append((txn._wire, txn.destination))
        txn._interval = min(2 * txn._interval, self.timers.t2)  # Timer G (§17.2.1)
        self._start(txn, Input.TIMER_G, txn._interval, now)

    def _ack_to_tu(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        server = cast(ServerTransaction, txn)
        server.acked = True
        self._events.append(RequestReceived(cast(Request, msg), src or server.source, server))

    def _server_timeout(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._events.append(ServerTimeout(cast(ServerTransaction, txn)))

    def _accepted_expired(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        server = cast(ServerTransaction, txn)
        if not server.acked:
            self._events.append(ServerTimeout(server))

    def _start_a(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start_retransmitting(txn, Input.TIMER_A, Input.TIMER_B, now)

    def _start_e(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start_retransmitting(txn, Input.TIMER_E, Input.TIMER_F, now)

    def _start_g_h(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start_retransmitting(txn, Input.TIMER_G, Input.TIMER_H, now)

    def _start_retransmitting(
        self, txn: Transaction, every: Input, until: Input, now: float
    ) -> None:
        if not txn.destination.reliable:  # §17.1.1.2, §17.1.2.2, §17.2.1
            txn._interval = self.timers.t1
            self._start(txn, every, txn._interval, now)
        self._start(txn, until, self.timers.timeout, now)

    def _start_trying(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        if self.send_trying_immediately:
            self._send_trying(txn, msg, src, now)
        else:
            self._start(txn, Input.TIMER_TRYING, self.timers.trying_delay, now)

    def _start_d(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start(txn, Input.TIMER_D, 0.0 if txn.destination.reliable else self.timers.d, now)

    def _start_i(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start(txn, Input.TIMER_I, 0.0 if txn.destination.reliable else self.timers.t4, now)

    def _start_j(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        reliable = txn.destination.reliable
        self._start(txn, Input.TIMER_J, 0.0 if reliable else self.timers.timeout, now)

    def _start_k(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start(txn, Input.TIMER_K, 0.0 if txn.destination.reliable else self.timers.t4, now)

    def _start_l(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start(txn, Input.TIMER_L, self.timers.timeout, now)

    def _start_m(
        self, txn: Transaction, msg: Message | None, src: Endpoint | None, now: float
    ) -> None:
        self._start(txn, Input.TIMER_M, self.timers.timeout, now)


def _linger(txn: Transaction, message: Message | None, keep_wire: bool) -> None:
    """Let go of what a lingering transaction no longer needs (see _LINGER)."""
    if not txn.lingering:
        txn.lingering = True
        txn.request = txn.request.skeleton()
        if txn.last_response is not None:
            txn.last_response = txn.last_response.skeleton()
    elif message is not None and message is txn.last_response:  # a 2xx passed up or resent
        txn.last_response = txn.last_response.skeleton()
    if not keep_wire:
        txn._wire = b""


def _key_2543(request: Request, via: Via, method: str) -> tuple[object, ...]:
    """§17.2.3 for RFC 2543 peers: Request-URI, From tag, Call-ID, CSeq and the top Via."""
    return (
        request.uri_text,
        request.from_tag,
        request.call_id,
        request.cseq.number,
        method,
        via.transport,
        host_key(via.host),
        via.port,
        via.branch,
    )


def _new_tag() -> str:
    return secrets.token_hex(5)


def build_ack(request: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a non-2xx final response (§17.1.1.3):
    Request-URI, Call-ID, From, CSeq number, the top Via (same branch) and the Route headers
    of the INVITE, the To of the response."""
    ack = Request("ACK", request.uri_text)
    ack.add_header("Via", str(request.top_via))
    ack.add_header("Max-Forwards", "70")
    for name in ("from", "to", "call-id"):
        value = (response if name == "to" else request).header(name)
        if value is not None:
            ack.add_header(name, value)
    ack.add_header("CSeq", f"{request.cseq.number} ACK")
    for name, value in request:
        if name == "route":
            ack.add_header("Route", value)
    ack.add_header("Content-Length", "0")
    ack.content_length = 0
    return ack
