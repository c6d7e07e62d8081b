"""The four SIP transaction state machines as tables (RFC 3261 §17 as amended by RFC 6026).

Each table maps ``(State, Input)`` to ``(actions, next_state)``: the actions are performed by
:class:`~trunkline.sip.transaction.TransactionLayer`, which assigns ``next_state`` and nothing
else, so every state change of a transaction is written here. A key missing from a table is a
protocol error: for inputs from the TU (responses on a server transaction) the layer raises
:class:`TransactionError`; inputs from the network and from timers are present in every live
state (the tests check that), so a peer cannot make the layer raise.

Timers run only in the states listed in :data:`ALIVE`; leaving a state cancels the others
(RFC 3261 Figure 5: Timer B belongs to Calling; Figure 6: E and F carry over into Proceeding).
"""

from __future__ import annotations

from enum import Enum

from trunkline.sip.errors import SipError


class TransactionError(SipError):
    """The TU asked a transaction for something its state machine does not allow (a bug)."""


class _FastEnum(Enum):
    """Members are singletons: hash by identity, not by name (table lookups are the hot path)."""

    __hash__ = object.__hash__


class Kind(_FastEnum):
    CLIENT_INVITE = "client INVITE"
    CLIENT_NON_INVITE = "client non-INVITE"
    SERVER_INVITE = "server INVITE"
    SERVER_NON_INVITE = "server non-INVITE"


class State(_FastEnum):
    """The states of RFC 3261 Figures 5-8 and RFC 6026 (Accepted)."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class Input(_FastEnum):
    # From the network (after matching, §17.1.3 / §17.2.3).
    RESP_1XX = "1xx"
    RESP_2XX = "2xx"
    RESP_FINAL = "300-699"
    REQUEST = "request retransmission"
    ACK = "ACK"
    # From the TU, on a server transaction.
    TU_1XX = "TU 1xx"
    TU_2XX = "TU 2xx"
    TU_FINAL = "TU 300-699"
    # Timers (the name is what the heap stores).
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"
    TIMER_TRYING = "100 Trying timer"
    # From the shell or the TU.
    TRANSPORT_ERROR = "transport error"
    TERMINATE = "terminate"


class Act(_FastEnum):
    """What the layer does on a transition, in the order listed."""

    PASS_UP = "pass the response to the TU"
    SEND_ACK = "send (or re-send) the ACK for a non-2xx final response"
    RETRANSMIT_DOUBLE = "re-send the request; next interval doubles (capped at T2 for E)"
    RETRANSMIT_T2 = "re-send the request; next interval T2 (Timer E in Proceeding)"
    REPORT_408 = "pass a local 408 Request Timeout to the TU"
    REPORT_503 = "pass a local 503 Service Unavailable to the TU"
    SEND_RESPONSE = "send the TU's response"
    RESEND_RESPONSE = "re-send the last response"
    RESEND_PROVISIONAL = "re-send the last provisional, or send 100 Trying if none was sent"
    SEND_TRYING = "send 100 Trying unless a response was already sent"
    CANCEL_TRYING = "cancel the 100 Trying timer"
    RETRANSMIT_RESPONSE = "re-send the final response; Timer G doubles, capped at T2"
    ACK_TO_TU = "pass the ACK (for a 2xx) to the TU"
    SERVER_TIMEOUT = "tell the TU no ACK came (Timer H)"
    ACCEPTED_EXPIRED = "Timer L: tell the TU when no ACK for the 2xx was seen"
    START_A = "start Timer A (unreliable) and Timer B"
    START_E = "start Timer E (unreliable) and Timer F"
    START_TRYING = "start the 100 Trying timer, or send 100 Trying now"
    START_D = "start Timer D"
    START_G_H = "start Timer G (unreliable) and Timer H"
    START_I = "start Timer I"
    START_J = "start Timer J"
    START_K = "start Timer K"
    START_L = "start Timer L"
    START_M = "start Timer M"


Actions = tuple[Act, ...]
Table = dict[tuple[State, Input], tuple[Actions, State]]

S = State
I = Input  # noqa: E741
A = Act
_NONE: Actions = ()

# RFC 3261 Figure 5, with RFC 6026 Figure 3 (Accepted).
CLIENT_INVITE: Table = {
    (S.CALLING, I.TIMER_A): ((A.RETRANSMIT_DOUBLE,), S.CALLING),
    (S.CALLING, I.TIMER_B): ((A.REPORT_408,), S.TERMINATED),
    (S.CALLING, I.RESP_1XX): ((A.PASS_UP,), S.PROCEEDING),
    (S.CALLING, I.RESP_2XX): ((A.PASS_UP, A.START_M), S.ACCEPTED),
    (S.CALLING, I.RESP_FINAL): ((A.SEND_ACK, A.PASS_UP, A.START_D), S.COMPLETED),
    (S.CALLING, I.TRANSPORT_ERROR): ((A.REPORT_503,), S.TERMINATED),
    (S.PROCEEDING, I.RESP_1XX): ((A.PASS_UP,), S.PROCEEDING),
    (S.PROCEEDING, I.RESP_2XX): ((A.PASS_UP, A.START_M), S.ACCEPTED),
    (S.PROCEEDING, I.RESP_FINAL): ((A.SEND_ACK, A.PASS_UP, A.START_D), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.REPORT_503,), S.TERMINATED),
    (S.COMPLETED, I.RESP_1XX): (_NONE, S.COMPLETED),
    # A 2xx after a non-2xx (another fork behind a proxy): the TU must ACK and end that dialog.
    (S.COMPLETED, I.RESP_2XX): ((A.PASS_UP,), S.COMPLETED),
    (S.COMPLETED, I.RESP_FINAL): ((A.SEND_ACK,), S.COMPLETED),
    (S.COMPLETED, I.TIMER_D): (_NONE, S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.ACCEPTED, I.RESP_1XX): (_NONE, S.ACCEPTED),
    (S.ACCEPTED, I.RESP_2XX): ((A.PASS_UP,), S.ACCEPTED),  # RFC 6026 §8.4: every 2xx goes up
    (S.ACCEPTED, I.RESP_FINAL): (_NONE, S.ACCEPTED),
    (S.ACCEPTED, I.TIMER_M): (_NONE, S.TERMINATED),
    (S.ACCEPTED, I.TRANSPORT_ERROR): (_NONE, S.ACCEPTED),  # nothing left to send
}

# RFC 3261 Figure 6.
CLIENT_NON_INVITE: Table = {
    (S.TRYING, I.TIMER_E): ((A.RETRANSMIT_DOUBLE,), S.TRYING),
    (S.TRYING, I.TIMER_F): ((A.REPORT_408,), S.TERMINATED),
    (S.TRYING, I.RESP_1XX): ((A.PASS_UP,), S.PROCEEDING),
    (S.TRYING, I.RESP_2XX): ((A.PASS_UP, A.START_K), S.COMPLETED),
    (S.TRYING, I.RESP_FINAL): ((A.PASS_UP, A.START_K), S.COMPLETED),
    (S.TRYING, I.TRANSPORT_ERROR): ((A.REPORT_503,), S.TERMINATED),
    (S.PROCEEDING, I.TIMER_E): ((A.RETRANSMIT_T2,), S.PROCEEDING),
    (S.PROCEEDING, I.TIMER_F): ((A.REPORT_408,), S.TERMINATED),
    (S.PROCEEDING, I.RESP_1XX): ((A.PASS_UP,), S.PROCEEDING),
    (S.PROCEEDING, I.RESP_2XX): ((A.PASS_UP, A.START_K), S.COMPLETED),
    (S.PROCEEDING, I.RESP_FINAL): ((A.PASS_UP, A.START_K), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): ((A.REPORT_503,), S.TERMINATED),
    (S.COMPLETED, I.RESP_1XX): (_NONE, S.COMPLETED),
    (S.COMPLETED, I.RESP_2XX): (_NONE, S.COMPLETED),
    (S.COMPLETED, I.RESP_FINAL): (_NONE, S.COMPLETED),
    (S.COMPLETED, I.TIMER_K): (_NONE, S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): (_NONE, S.COMPLETED),  # nothing left to send
}

# RFC 3261 Figure 7, with RFC 6026 Figure 5 (Accepted) and the §17.2.1 100 Trying timer.
SERVER_INVITE: Table = {
    (S.PROCEEDING, I.REQUEST): ((A.RESEND_PROVISIONAL,), S.PROCEEDING),
    (S.PROCEEDING, I.ACK): (_NONE, S.PROCEEDING),  # nothing to acknowledge yet
    (S.PROCEEDING, I.TIMER_TRYING): ((A.SEND_TRYING,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_1XX): ((A.CANCEL_TRYING, A.SEND_RESPONSE), S.PROCEEDING),
    (S.PROCEEDING, I.TU_2XX): ((A.SEND_RESPONSE, A.START_L), S.ACCEPTED),
    (S.PROCEEDING, I.TU_FINAL): ((A.SEND_RESPONSE, A.START_G_H), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.COMPLETED, I.REQUEST): ((A.RESEND_RESPONSE,), S.COMPLETED),
    (S.COMPLETED, I.ACK): ((A.START_I,), S.CONFIRMED),
    (S.COMPLETED, I.TIMER_G): ((A.RETRANSMIT_RESPONSE,), S.COMPLETED),
    (S.COMPLETED, I.TIMER_H): ((A.SERVER_TIMEOUT,), S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.CONFIRMED, I.REQUEST): (_NONE, S.CONFIRMED),
    (S.CONFIRMED, I.ACK): (_NONE, S.CONFIRMED),
    (S.CONFIRMED, I.TIMER_I): (_NONE, S.TERMINATED),
    (S.CONFIRMED, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.ACCEPTED, I.REQUEST): (_NONE, S.ACCEPTED),  # RFC 6026 §8.7: absorbed, the TU re-sends
    (S.ACCEPTED, I.ACK): ((A.ACK_TO_TU,), S.ACCEPTED),
    (S.ACCEPTED, I.TU_2XX): ((A.SEND_RESPONSE,), S.ACCEPTED),  # 2xx retransmission by the TU
    (S.ACCEPTED, I.TIMER_L): ((A.ACCEPTED_EXPIRED,), S.TERMINATED),
    (S.ACCEPTED, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
}

# RFC 3261 Figure 8.
SERVER_NON_INVITE: Table = {
    (S.TRYING, I.REQUEST): (_NONE, S.TRYING),
    (S.TRYING, I.TU_1XX): ((A.SEND_RESPONSE,), S.PROCEEDING),
    (S.TRYING, I.TU_2XX): ((A.SEND_RESPONSE, A.START_J), S.COMPLETED),
    (S.TRYING, I.TU_FINAL): ((A.SEND_RESPONSE, A.START_J), S.COMPLETED),
    (S.TRYING, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.PROCEEDING, I.REQUEST): ((A.RESEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_1XX): ((A.SEND_RESPONSE,), S.PROCEEDING),
    (S.PROCEEDING, I.TU_2XX): ((A.SEND_RESPONSE, A.START_J), S.COMPLETED),
    (S.PROCEEDING, I.TU_FINAL): ((A.SEND_RESPONSE, A.START_J), S.COMPLETED),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
    (S.COMPLETED, I.REQUEST): ((A.RESEND_RESPONSE,), S.COMPLETED),
    (S.COMPLETED, I.TIMER_J): (_NONE, S.TERMINATED),
    (S.COMPLETED, I.TRANSPORT_ERROR): (_NONE, S.TERMINATED),
}

# Every live state may be ended by the TU; a response the TU sends on a transaction that already
# terminated (Timer H, a transport error, terminate()) is dropped: the TU could not know.
for _table in (CLIENT_INVITE, CLIENT_NON_INVITE, SERVER_INVITE, SERVER_NON_INVITE):
    for _state in {state for state, _input in _table}:
        _table[(_state, I.TERMINATE)] = (_NONE, S.TERMINATED)
    _table[(S.TERMINATED, I.TERMINATE)] = (_NONE, S.TERMINATED)
for _table in (SERVER_INVITE, SERVER_NON_INVITE):
    for _input in (I.TU_1XX, I.TU_2XX, I.TU_FINAL):
        _table[(S.TERMINATED, _input)] = (_NONE, S.TERMINATED)

TABLES: dict[Kind, Table] = {
    Kind.CLIENT_INVITE: CLIENT_INVITE,
    Kind.CLIENT_NON_INVITE: CLIENT_NON_INVITE,
    Kind.SERVER_INVITE: SERVER_INVITE,
    Kind.SERVER_NON_INVITE: SERVER_NON_INVITE,
}

# Where each kind starts, and what it does on creation.
INITIAL: dict[Kind, tuple[Actions, State]] = {
    Kind.CLIENT_INVITE: ((A.START_A,), S.CALLING),
    Kind.CLIENT_NON_INVITE: ((A.START_E,), S.TRYING),
    Kind.SERVER_INVITE: ((A.START_TRYING,), S.PROCEEDING),
    Kind.SERVER_NON_INVITE: (_NONE, S.TRYING),
}

# The timers that may run in each state; entering a state cancels the others.
ALIVE: dict[tuple[Kind, State], frozenset[Input]] = {
    (Kind.CLIENT_INVITE, S.CALLING): frozenset({I.TIMER_A, I.TIMER_B}),
    (Kind.CLIENT_INVITE, S.COMPLETED): frozenset({I.TIMER_D}),
    (Kind.CLIENT_INVITE, S.ACCEPTED): frozenset({I.TIMER_M}),
    (Kind.CLIENT_NON_INVITE, S.TRYING): frozenset({I.TIMER_E, I.TIMER_F}),
    (Kind.CLIENT_NON_INVITE, S.PROCEEDING): frozenset({I.TIMER_E, I.TIMER_F}),
    (Kind.CLIENT_NON_INVITE, S.COMPLETED): frozenset({I.TIMER_K}),
    (Kind.SERVER_INVITE, S.PROCEEDING): frozenset({I.TIMER_TRYING}),
    (Kind.SERVER_INVITE, S.COMPLETED): frozenset({I.TIMER_G, I.TIMER_H}),
    (Kind.SERVER_INVITE, S.CONFIRMED): frozenset({I.TIMER_I}),
    (Kind.SERVER_INVITE, S.ACCEPTED): frozenset({I.TIMER_L}),
    (Kind.SERVER_NON_INVITE, S.COMPLETED): frozenset({I.TIMER_J}),
}
NO_TIMERS: frozenset[Input] = frozenset()

CLIENT_INPUTS = (I.RESP_1XX, I.RESP_2XX, I.RESP_FINAL, I.TRANSPORT_ERROR, I.TERMINATE)
SERVER_INPUTS = (I.REQUEST, I.TRANSPORT_ERROR, I.TERMINATE)


def step(kind: Kind, state: State, event: Input) -> tuple[Actions, State]:
    """The transition for ``event`` in ``state``; raises TransactionError when there is none."""
    try:
        return TABLES[kind][(state, event)]
    except KeyError:
        raise TransactionError(f"{event.value} not allowed in {kind.value} {state.value}") from None
