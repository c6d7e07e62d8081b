"""What the transaction layer hands out: its timer settings, its events for the TU and the
transaction records themselves (RFC 3261 §17). Only :mod:`trunkline.sip.transaction` changes a
transaction; the TU reads them and passes them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.message import Request, Response
from trunkline.sip.transaction_fsm import Input, Kind, State

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7: branches that are unique per transaction


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """RFC 3261 Table 4, in seconds. B, F, H, J (unreliable), L and M (RFC 6026) are 64*T1;
    D is ``d`` (32 s) on unreliable transports; I and K are T4 there; D, I, J and K are zero on
    reliable ones. ``trying_delay`` is how long an INVITE server transaction waits for the TU's
    first provisional response before sending 100 Trying itself (§17.2.1)."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0
    trying_delay: float = 0.2

    def __post_init__(self) -> None:
        if not (self.t1 > 0 and self.t2 >= self.t1 and self.t4 >= 0 and self.d >= 0):
            raise ValueError("timers need T1 > 0, T2 >= T1, T4 >= 0 and D >= 0")

    @property
    def timeout(self) -> float:
        """Timers B, F, H, J (unreliable), L and M: 64*T1."""
        return 64 * self.t1


# ---- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request for the TU. ``transaction`` is None only for an ACK that matched no server
    transaction (the ACK for a 2xx, RFC 6026: the UA core handles it). For a CANCEL,
    ``cancelled`` is the INVITE server transaction it matches (§9.2), if any."""

    request: Request
    source: Endpoint
    transaction: ServerTransaction | None
    cancelled: ServerTransaction | None = None


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for the TU. ``transaction`` is None for a stray response (e.g. a 2xx
    retransmission after the client transaction ended: a proxy forwards it statelessly).
    ``local`` marks a response the layer made up: 408 on Timer B/F, 503 on a transport error."""

    response: Response
    source: Endpoint
    transaction: ClientTransaction | None
    local: bool = False


@dataclass(frozen=True, slots=True)
class ServerTimeout:
    """Timer H fired without an ACK, or Timer L fired and no ACK for the 2xx was seen."""

    transaction: ServerTransaction


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    """The transaction is gone from the layer (for the TU's cleanup)."""

    transaction: ClientTransaction | ServerTransaction


Event = RequestReceived | ResponseReceived | ServerTimeout | TransactionTerminated


# ---- transactions -----------------------------------------------------------------------------


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class Transaction:
    """What client and server transactions share. Only the layer changes them.

    A TU that needs more of a request or response than its identity after the final response
    keeps its own reference from the event: a lingering transaction holds only skeletons."""

    key: tuple[object, ...]
    request: Request
    kind: Kind
    state: State
    destination: Endpoint
    last_response: Response | None = None
    _wire: bytes = b""  # client: the request; server: the last response sent; b"" once unsendable
    _timers: dict[Input, int] = field(default_factory=dict)  # live timer -> heap seq
    _interval: float = 0.0  # current Timer A/E/G interval
    _fire_now: Input | None = None  # a zero-length timer started by the last transition
    # Past its final response, absorbing retransmissions until a timer ends it: ``request``
    # and ``last_response`` are then skeletons (Request.skeleton), kept to match late messages.
    lingering: bool = False

    @property
    def is_invite(self) -> bool:
        return self.kind is Kind.CLIENT_INVITE or self.kind is Kind.SERVER_INVITE

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.method} {self.state.value} {self.key[0]}>"


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class ClientTransaction(Transaction):
    """A request we sent to ``destination`` (§17.1); ``key`` is (branch, method)."""

    _ack_wire: bytes | None = None


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class ServerTransaction(Transaction):
    """A request that came from ``source``; responses go to ``destination`` (§18.2.2)."""

    source: Endpoint
    acked: bool = False  # an ACK for our 2xx was seen (Accepted state)
    _dialog_key: tuple[str | None, str, int, str] | None = None


class TransactionCounts(NamedTuple):
    client: int
    server: int
