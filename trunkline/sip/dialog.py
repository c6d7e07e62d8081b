"""Dialogs (RFC 3261 §12), forked INVITEs (§13.2.2.4, RFC 6026), sans-IO.

A dialog is the peer-to-peer relationship an INVITE sets up: an identifier, a sequence number
each way, the remote target and the route set. This module keeps that state, builds the requests
sent within a dialog and checks the ones received. It sits above the transaction layer without
importing it: the UA (or B2BUA) feeds it the Request/Response objects its transactions deliver
and sends what it builds through new transactions.

What it leaves to others:

- **Via**: requests built here carry none; the client transaction (or the TU creating it) adds
  the top Via with a fresh branch. A CANCEL must get the top Via of the INVITE it cancels (§9.1).
- **Where to send**: ``Dialog.next_hop()`` names the URI to resolve (RFC 3263) and
  ``Dialog.secure`` says the hop must be TLS; nothing here resolves or opens anything.
- **Time**: RFC 6026 keeps the INVITE client transaction in its Accepted state for 64*T1 after
  the first 2xx and passes every 2xx up (retransmissions, and 2xx from other forks). Feed each to
  ``DialogLayer.receive_response``. When that transaction ends (Timer M), call
  ``DialogLayer.invite_completed``: the early dialogs no 2xx confirmed end then (§13.2.2.4).
- **Timeouts**: a client transaction that times out counts as a 408 (§8.1.3.1); feed a
  synthesized 408 to ``receive_response`` and the dialog ends (§12.2.1.2).

The dialogs of a whole UA (matching, forks) live in :mod:`trunkline.sip.dialog_layer`, which
creates dialogs for INVITE only; ``Dialog.from_uac``/``from_uas`` work for any dialog-creating
request (SUBSCRIBE, REFER) when called directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from trunkline.sip.address import CSeq, NameAddr
from trunkline.sip.errors import SipError
from trunkline.sip.message import Message, Request, Response
from trunkline.sip.reasons import reason_phrase
from trunkline.sip.uri import URI, SipURI

# Requests that may change the remote target (§12.2, RFC 3311, RFC 6665, RFC 3515).
TARGET_REFRESH_METHODS: frozenset[str] = frozenset(
    {"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"}
)
# Requests DialogLayer creates dialogs for.
DIALOG_CREATING_METHODS: frozenset[str] = frozenset({"INVITE"})
# Answers after which the UAC resends the BYE with credentials instead of giving up.
_CHALLENGES = frozenset({401, 407})
_MAX_FORWARDS = "70"  # §8.1.1.6
_MAX_SEQ = (1 << 32) - 1  # CSeq numbers are 32-bit unsigned (§20.16)


class DialogError(SipError):
    """A request or response that does not fit a dialog.

    ``status``/``reason`` are the answer to give a request: 481 for an unknown or terminated
    dialog, 500 for an out-of-order CSeq (§12.2.2), 400 for a dialog-creating request without a
    Contact. Errors about responses are never answered: the edge drops them.
    """

    def __init__(self, detail: str, status: int = 500, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)

    def __repr__(self) -> str:
        return f"DialogError({self.status} {self.reason}: {self.detail})"


class DialogState(Enum):
    EARLY = auto()
    CONFIRMED = auto()
    TERMINATED = auto()


class Role(Enum):
    UAC = auto()  # we sent the dialog-creating request
    UAS = auto()  # we answered it


@dataclass(frozen=True, slots=True)
class DialogId:
    """Call-ID and both tags (§12). A tag is ``""`` when an RFC 2543 peer sent none."""

    call_id: str
    local_tag: str
    remote_tag: str


# ---- the state machine ------------------------------------------------------------------------


class _Input(Enum):
    PROVISIONAL = auto()  # 101-199 to the dialog-creating INVITE
    SUCCESS = auto()  # 2xx to it
    FAILURE = auto()  # 300-699 to it
    TARGET_REFRESH = auto()  # target refresh request received, or 2xx to one we sent
    IN_DIALOG = auto()  # any other request or response within the dialog
    BYE = auto()  # BYE received, or the final answer to ours (§15.1.1)
    GONE = auto()  # 481 or 408 to a request within the dialog (§12.2.1.2)
    FORK_DONE = auto()  # the INVITE transaction is over (§13.2.2.4, RFC 6026 Timer M)


class _Effect(Enum):
    """What a received message does besides the state change (nothing for a sent one)."""

    NONE = auto()
    TARGET = auto()  # its Contact becomes the remote target
    CONFIRM = auto()  # UAC: route set and remote target recomputed from the 2xx (§13.2.2.4)


_E, _C, _T = DialogState.EARLY, DialogState.CONFIRMED, DialogState.TERMINATED

# Every legal (state, input). A missing key is a protocol error; a terminated dialog takes nothing.
_TABLE: dict[tuple[DialogState, _Input], tuple[_Effect, DialogState]] = {
    # RFC 3261 leaves a 1xx's Contact open; a retargeted branch changing it is taken as a refresh.
    (_E, _Input.PROVISIONAL): (_Effect.TARGET, _E),
    (_E, _Input.SUCCESS): (_Effect.CONFIRM, _C),
    (_E, _Input.FAILURE): (_Effect.NONE, _T),
    (_E, _Input.TARGET_REFRESH): (_Effect.TARGET, _E),  # UPDATE in an early dialog (RFC 3311)
    (_E, _Input.IN_DIALOG): (_Effect.NONE, _E),  # PRACK, INFO...
    (_E, _Input.BYE): (_Effect.NONE, _T),  # the caller may BYE an early dialog (§15)
    (_E, _Input.GONE): (_Effect.NONE, _T),
    (_E, _Input.FORK_DONE): (_Effect.NONE, _T),
    (_C, _Input.PROVISIONAL): (_Effect.NONE, _C),  # a 1xx overtaken by the 2xx: stale
    (_C, _Input.SUCCESS): (_Effect.NONE, _C),  # a repeated 2xx: the route set stays (§12.1.2)
    (_C, _Input.TARGET_REFRESH): (_Effect.TARGET, _C),
    (_C, _Input.IN_DIALOG): (_Effect.NONE, _C),
    (_C, _Input.BYE): (_Effect.NONE, _T),
    (_C, _Input.GONE): (_Effect.NONE, _T),
    (_C, _Input.FORK_DONE): (_Effect.NONE, _C),
}


def _transition(state: DialogState, event: _Input) -> tuple[_Effect, DialogState]:
    try:
        return _TABLE[(state, event)]
    except KeyError:
        if state is DialogState.TERMINATED:
            raise DialogError("dialog terminated", 481) from None
        raise DialogError(f"{event.name} not allowed in a {state.name} dialog") from None


# ---- one dialog -------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Dialog:
    """The state of one dialog (§12.1) and the requests sent within it (§12.2).

    ``local_uri``/``remote_uri`` are the From/To addresses with their tags, as they go into the
    From and To of requests we send. ``route_set`` holds the Record-Route values in the order
    they go into Route. ``invite`` is the last INVITE we sent in this dialog (its CSeq and
    credentials go into the ACK, it is what CANCEL copies). ``last_ack`` is the last ACK built,
    to send again when the 2xx it answered is repeated.
    """

    id: DialogId
    role: Role
    state: DialogState
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: URI
    route_set: list[NameAddr]
    local_seq: int | None
    remote_seq: int | None
    secure: bool = False
    local_target: URI | None = None
    invite: Request | None = None
    last_ack: Request | None = None
    origin_cseq: int = 0  # CSeq number of the dialog-creating request

    # ---- creation (§12.1) ---------------------------------------------------------------------
    @classmethod
    def from_uac(cls, request: Request, response: Response, *, tls: bool = True) -> Dialog:
        """The dialog a UAC gets from a 101-299 answer to its request (§12.1.2).

        EARLY for a 1xx (which needs a To tag), CONFIRMED for a 2xx. Route set: the response's
        Record-Route reversed; remote target: its Contact (the Request-URI when a broken peer
        sent none). ``tls``: the request went over TLS; the dialog is secure when it did and
        the Request-URI was a SIPS URI.
        """
        _check_creating_answer(response)
        local_tag = request.from_tag
        if not local_tag:
            raise ValueError("our request has no From tag (§8.1.1.3)")
        return cls(
            id=DialogId(request.call_id, local_tag, response.to_tag or ""),
            role=Role.UAC,
            state=DialogState.EARLY if response.status < 200 else DialogState.CONFIRMED,
            local_uri=request.from_.copy(),
            remote_uri=response.to.copy(),
            remote_target=_contact_uri(response) or request.uri,
            route_set=response.record_routes[::-1],
            local_seq=request.cseq.number,
            remote_seq=None,
            secure=tls and request.uri.scheme == "sips",
            local_target=_contact_uri(request),
            invite=request if request.method == "INVITE" else None,
            origin_cseq=request.cseq.number,
        )

    @classmethod
    def from_uas(cls, request: Request, response: Response, *, tls: bool = True) -> Dialog:
        """The dialog a UAS gets by sending a 101-299 answer with a To tag (§12.1.1).

        Route set: the request's Record-Route in order; remote target: its Contact (a request
        without one raises DialogError 400); remote sequence number: its CSeq, so the request
        itself is already counted. The local sequence number stays empty until we send.
        """
        _check_creating_answer(response)
        local_tag = response.to_tag
        if not local_tag:
            raise ValueError("a UAS must tag its dialog-creating answer (§12.1.1)")
        target = _contact_uri(request)
        if target is None:
            raise DialogError("no Contact in the dialog-creating request", 400)
        return cls(
            id=DialogId(request.call_id, local_tag, request.from_tag or ""),
            role=Role.UAS,
            state=DialogState.EARLY if response.status < 200 else DialogState.CONFIRMED,
            local_uri=response.to.copy(),
            remote_uri=request.from_.copy(),
            remote_target=target,
            route_set=request.record_routes,
            local_seq=None,
            remote_seq=request.cseq.number,
            secure=tls and request.uri.scheme == "sips",
            local_target=_contact_uri(response),
            origin_cseq=request.cseq.number,
        )

    # ---- requests we send (§12.2.1.1) -----------------------------------------------------
    def create_request(
        self,
        method: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        contact: URI | None = None,
    ) -> Request:
        """A request within the dialog, without Via (the transaction adds it).

        CSeq is the next local sequence number (1 when still empty); ACK and CANCEL take the
        number of the INVITE instead (see :meth:`create_ack`, :meth:`create_cancel`). Target
        refresh requests carry our Contact (``contact`` replaces the local target first).
        Sending a request does not change the state: a BYE ends the dialog on its final
        answer, fed to :meth:`receive_response`.
        """
        if method == "ACK":
            if self.invite is None:
                raise ValueError("no INVITE to acknowledge")
            return self.create_ack(self.invite.cseq.number, body=body, content_type=content_type)
        if method == "CANCEL":
            return self.create_cancel()
        if self.state is DialogState.TERMINATED:
            raise DialogError("dialog terminated", 481)
        if method == "BYE" and self.role is Role.UAS and self.state is DialogState.EARLY:
            raise ValueError("the callee ends an early dialog with a final answer, not BYE (§15)")
        self.local_seq = self._next_seq()
        request = self._build(method, CSeq(self.local_seq, method))
        if contact is not None:
            self.local_target = contact
        if method in TARGET_REFRESH_METHODS and self.local_target is not None:
            request.add_header("contact", f"<{self.local_target}>")  # §12.2.1.1 SHOULD
        _set_body(request, body, content_type)
        if method == "INVITE":
            self.invite = request
        return request

    def create_ack(
        self,
        invite: int | Response,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to an INVITE (§13.2.2.4), given that 2xx or the INVITE's CSeq.

        Built like any request in the dialog, but with the INVITE's CSeq number (not a new
        one) and the INVITE's Authorization/Proxy-Authorization. It may carry the answer to
        an offer made in the 2xx. Kept as ``last_ack`` to send again on a repeated 2xx.
        """
        if isinstance(invite, Response):
            if invite.cseq.method != "INVITE" or not 200 <= invite.status < 300:
                raise ValueError("an ACK built here answers a 2xx to an INVITE")
            number = invite.cseq.number
        else:
            number = invite
        ack = self._build("ACK", CSeq(number, "ACK"))
        if self.invite is not None and self.invite.cseq.number == number:
            for name, value in self.invite:
                if name in ("authorization", "proxy-authorization"):
                    ack.add_header(name, value)
        _set_body(ack, body, content_type)
        self.last_ack = ack
        return ack

    def create_cancel(self) -> Request:
        """The CANCEL of ``invite`` (§9.1): its Request-URI, To, From, Call-ID, Route and CSeq
        number; the transaction layer gives it the INVITE's top Via."""
        invite = self.invite
        if invite is None:
            raise ValueError("no INVITE to cancel")
        cancel = Request("CANCEL", invite.uri)
        cancel.add_header("max-forwards", _MAX_FORWARDS)
        routes = invite.header_values("route")
        if routes:
            cancel.add_header("route", ", ".join(routes))
        for name in ("to", "from", "call-id"):
            cancel.add_header(name, invite.header(name) or b"")
        cancel.add_header("cseq", str(CSeq(invite.cseq.number, "CANCEL")))
        cancel.body = b""
        return cancel

    def next_hop(self) -> URI:
        """The URI to resolve (RFC 3263) for a request built here: the first route, or the
        remote target without a route set. With a strict first router that route is also the
        Request-URI, so the answer is the same either way (§12.2.1.1, §8.1.2)."""
        return self.route_set[0].uri if self.route_set else self.remote_target

    @property
    def strict_routing(self) -> bool:
        """True when the first route is an RFC 2543 strict router (no ``lr``)."""
        return bool(self.route_set) and not _is_loose(self.route_set[0])

    def _next_seq(self) -> int:
        number = 1 if self.local_seq is None else self.local_seq + 1
        if number > _MAX_SEQ:
            raise DialogError("local CSeq exhausted (§20.16)")
        return number

    def _build(self, method: str, cseq: CSeq) -> Request:
        uri, routes = self._route()
        request = Request(method, uri)
        request.add_header("max-forwards", _MAX_FORWARDS)
        if routes:
            request.add_header("route", ", ".join(routes))
        request.add_header("to", str(self.remote_uri))
        request.add_header("from", str(self.local_uri))
        request.add_header("call-id", self.id.call_id)
        request.add_header("cseq", str(cseq))
        return request

    def _route(self) -> tuple[URI, list[str]]:
        """Request-URI and Route values (§12.2.1.1)."""
        if not self.route_set:
            return _request_uri(self.remote_target), []
        if _is_loose(self.route_set[0]):
            return _request_uri(self.remote_target), [str(r) for r in self.route_set]
        # Strict router: it becomes the Request-URI and the remote target goes last in Route.
        rest = [str(r) for r in self.route_set[1:]]
        return _request_uri(self.route_set[0].uri), [*rest, f"<{self.remote_target}>"]

    # ---- messages we receive and answers we send ----------------------------------------------
    def receive_request(self, request: Request) -> None:
        """Apply a request received within the dialog (§12.2.2).

        Its CSeq number must be above the remote sequence number (ACK and CANCEL excepted),
        else DialogError 500; RFC 3261 only names "lower", but an equal number that got past
        the transaction layer is a different request reusing it. A target refresh request with
        a Contact replaces the remote target; a BYE terminates the dialog (answer it 200).
        A terminated dialog raises DialogError 481.
        """
        method = request.method
        if method == "BYE":
            event = _Input.BYE
        elif method in TARGET_REFRESH_METHODS:
            event = _Input.TARGET_REFRESH
        else:
            event = _Input.IN_DIALOG
        effect, state = _transition(self.state, event)
        if method not in ("ACK", "CANCEL"):
            number = request.cseq.number
            if self.remote_seq is not None and number <= self.remote_seq:
                raise DialogError(f"CSeq {number} is not above {self.remote_seq} (§12.2.2)")
            self.remote_seq = number
        self._apply(effect, state, request)

    def receive_response(self, response: Response) -> Request | None:
        """Apply a response to a request we sent in (or to create) the dialog.

        A 2xx to a target refresh request replaces the remote target with its Contact, a
        481 or 408 terminates the dialog (§12.2.1.2), and so does the final answer to a BYE
        (a 401/407 aside: the BYE goes again with credentials). For the UAC's dialog-creating
        INVITE: a 2xx confirms an early dialog and recomputes its route set (§13.2.2.4), a
        300-699 terminates it. Returns the ACK to send again when this repeats a 2xx already
        acknowledged (§13.2.2.4: every 2xx gets an ACK), else None; a new 2xx needs a new
        :meth:`create_ack`.
        """
        status = response.status
        if status == 100:
            return None
        effect, state = _transition(self.state, self._response_input(response))
        self._apply(effect, state, response)
        ack = self.last_ack
        cseq = response.cseq
        if 200 <= status < 300 and cseq.method == "INVITE" and ack is not None:
            return ack if ack.cseq.number == cseq.number else None
        return None

    def _response_input(self, response: Response) -> _Input:
        status = response.status
        method = response.cseq.method
        if self._answers_origin(response):
            return _answer_input(status)
        if status in (481, 408):
            return _Input.GONE
        if method == "BYE" and status >= 200 and status not in _CHALLENGES:
            return _Input.BYE
        if 200 <= status < 300 and method in TARGET_REFRESH_METHODS:
            return _Input.TARGET_REFRESH
        return _Input.IN_DIALOG

    def _answers_origin(self, response: Response) -> bool:
        # Only a UAC's: a UAS's origin CSeq is in the peer's number space, not ours.
        cseq = response.cseq
        return self.role is Role.UAC and cseq.method == "INVITE" and cseq.number == self.origin_cseq

    def send_response(self, response: Response) -> None:
        """Note an answer the UAS sends to the dialog-creating request: a 2xx confirms the
        early dialog, a 300-699 terminates it. Answers to other requests change nothing."""
        cseq = response.cseq
        origin = cseq.method == "INVITE" and cseq.number == self.origin_cseq
        if self.role is not Role.UAS or not origin or response.status == 100:
            return
        _effect, state = _transition(self.state, _answer_input(response.status))
        target = _contact_uri(response)
        if target is not None:
            self.local_target = target
        self.state = state

    def fork_done(self) -> None:
        """The INVITE that created this dialog is over (§13.2.2.4, RFC 6026 Timer M): an early
        dialog no 2xx confirmed terminates; a confirmed one stays."""
        _effect, self.state = _transition(self.state, _Input.FORK_DONE)

    def end(self) -> None:
        """Terminate the dialog whatever its state (the UA gives up on it)."""
        self.state = DialogState.TERMINATED

    def _apply(self, effect: _Effect, state: DialogState, message: Message) -> None:
        if effect is _Effect.TARGET:
            self.remote_target = _contact_uri(message) or self.remote_target
        elif effect is _Effect.CONFIRM and self.role is Role.UAC:
            self.route_set = message.record_routes[::-1]
            self.remote_target = _contact_uri(message) or self.remote_target
            self.remote_uri = message.to.copy()
        self.state = state


# ---- helpers ----------------------------------------------------------------------------------


def _answer_input(status: int) -> _Input:
    if status < 200:
        return _Input.PROVISIONAL
    return _Input.SUCCESS if status < 300 else _Input.FAILURE


def _check_creating_answer(response: Response) -> None:
    status = response.status
    if not 101 <= status <= 299:
        raise ValueError(f"a {status} creates no dialog")
    if status < 200 and not response.to_tag:
        raise ValueError("a 1xx without a To tag creates no dialog (§12.1)")


def _contact_uri(message: Message) -> URI | None:
    """The URI of the first Contact; a wildcard or bad Contact raises ParseError."""
    contacts = message.contacts
    return contacts[0].uri if contacts else None


def _is_loose(route: NameAddr) -> bool:
    uri = route.uri
    return isinstance(uri, SipURI) and uri.lr


def _request_uri(uri: URI) -> URI:
    """``uri`` without what a Request-URI may not carry: headers, ``method`` (§19.1.1)."""
    if isinstance(uri, SipURI) and (uri.headers or "method" in uri.params):
        params = {k: v for k, v in uri.params.items() if k != "method"}
        return uri.with_(params=params, headers={})
    return uri


def _set_body(request: Request, body: bytes | None, content_type: str | None) -> None:
    if body and content_type is None:
        raise ValueError("a body needs a Content-Type (§7.4.1)")
    if body:
        request.set_body(body, content_type)
    else:
        request.body = b""
