"""The dialogs of one UA: matching, forked INVITEs and dialog creation (RFC 3261 §12, §13.2.2.4).

:class:`DialogLayer` holds every dialog by :class:`~trunkline.sip.dialog.DialogId`, creates
dialogs from the answers to INVITEs (ours: UAC; theirs: UAS) and routes in-dialog messages to
them. See :mod:`trunkline.sip.dialog` for what the UA must still do (Via, ACK, timers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from trunkline.sip.dialog import (
    DIALOG_CREATING_METHODS,
    Dialog,
    DialogError,
    DialogId,
    DialogState,
    Role,
)
from trunkline.sip.message import Request, Response

# ---- all dialogs of a UA ----------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class DialogSet:
    """The dialogs one INVITE we sent created: one per To tag once a proxy forked it.

    ``dialogs`` is keyed by remote tag in creation order; ``confirmed`` lists the ones a 2xx
    confirmed, in the order the 2xx arrived.
    """

    request: Request
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    confirmed: list[Dialog] = field(default_factory=list)

    @property
    def early(self) -> list[Dialog]:
        return [d for d in self.dialogs.values() if d.state is DialogState.EARLY]

    def extra(self) -> list[Dialog]:
        """Dialogs confirmed after the first: ACK each, then BYE them when the UA wants one
        session (§13.2.2.4)."""
        return self.confirmed[1:]


@dataclass(frozen=True, slots=True)
class DialogResult:
    """What a response did, as :meth:`DialogLayer.receive_response` reports it.

    ``dialog``: the dialog it belongs to, if any. ``created``: it created that dialog.
    ``resend_ack``: it repeats a 2xx already acknowledged; send this ACK again. ``forked``: a
    2xx confirmed another dialog of an INVITE that already had one: ACK it, and BYE it unless
    the UA wants several sessions. ``ended``: the dialogs it terminated.
    """

    dialog: Dialog | None = None
    created: bool = False
    resend_ack: Request | None = None
    forked: bool = False
    ended: tuple[Dialog, ...] = ()


class DialogLayer:
    """Every dialog of one UA, found by DialogId; terminated dialogs are dropped at once.

    A request matches by Call-ID, To tag (ours) and From tag (theirs); a response by Call-ID,
    From tag (ours) and To tag (theirs). The INVITEs we sent are tracked by Call-ID and From
    tag as :class:`DialogSet`, to gather the early and confirmed dialogs of forks.
    """

    __slots__ = ("_dialogs", "_sets")

    def __init__(self) -> None:
        self._dialogs: dict[DialogId, Dialog] = {}
        self._sets: dict[tuple[str, str], DialogSet] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def __iter__(self) -> Iterator[Dialog]:
        return iter(list(self._dialogs.values()))

    def get(self, dialog_id: DialogId) -> Dialog | None:
        return self._dialogs.get(dialog_id)

    def match_request(self, request: Request) -> Dialog | None:
        """The dialog a received request belongs to (None without a To tag or a match)."""
        to_tag = request.to_tag
        if to_tag is None:
            return None
        return self._dialogs.get(DialogId(request.call_id, to_tag, request.from_tag or ""))

    def match_response(self, response: Response) -> Dialog | None:
        """The dialog a received response belongs to."""
        dialog_id = DialogId(response.call_id, response.from_tag or "", response.to_tag or "")
        return self._dialogs.get(dialog_id)

    def dialog_set(self, request: Request) -> DialogSet | None:
        """The dialogs so far of an INVITE we sent (while it is in progress)."""
        return self._sets.get((request.call_id, request.from_tag or ""))

    def receive_request(self, request: Request) -> Dialog | None:
        """Match a received request and apply it (:meth:`Dialog.receive_request`).

        None for a request outside any dialog (no To tag), and for an ACK or CANCEL that
        matches none (the transaction layer deals with those). Any other request with a To tag
        and no dialog raises DialogError 481 (§12.2.2).
        """
        if request.to_tag is None:
            return None
        dialog = self.match_request(request)
        if dialog is None:
            if request.method in ("ACK", "CANCEL"):
                return None
            raise DialogError("no such dialog", 481)
        dialog.receive_request(request)
        if dialog.state is DialogState.TERMINATED:
            self._drop(dialog)
        return dialog

    def receive_response(
        self, request: Request, response: Response, *, tls: bool = True
    ) -> DialogResult:
        """Apply a response to ``request``, a request we sent (UAC side).

        For an INVITE outside a dialog: a 1xx with a To tag creates an early dialog, one per
        tag when forked; a 2xx confirms its dialog or creates a confirmed one; a 300-699 ends
        every early dialog of the INVITE. Within a dialog: :meth:`Dialog.receive_response`.
        """
        if request.to_tag is not None:
            return self._in_dialog_response(response)
        if request.method not in DIALOG_CREATING_METHODS or response.status == 100:
            return DialogResult()
        key = (request.call_id, request.from_tag or "")
        if response.status >= 300:
            return self._invite_failed(key, response)
        tag = response.to_tag
        if tag is None and response.status < 200:
            return DialogResult()  # a 1xx without a To tag creates no dialog (§12.1)
        dset = self._sets.get(key)
        if dset is None:
            dset = self._sets[key] = DialogSet(request)
        dialog = dset.dialogs.get(tag or "")
        created = dialog is None
        resend: Request | None = None
        if dialog is None:
            dialog = Dialog.from_uac(request, response, tls=tls)
            dset.dialogs[dialog.id.remote_tag] = dialog
            self._dialogs[dialog.id] = dialog
        else:
            resend = dialog.receive_response(response)
        forked = False
        if response.status >= 200 and dialog not in dset.confirmed:
            dset.confirmed.append(dialog)
            forked = len(dset.confirmed) > 1
        return DialogResult(dialog, created, resend, forked)

    def send_response(
        self, request: Request, response: Response, *, tls: bool = True
    ) -> Dialog | None:
        """Note an answer we send to a received ``request`` (UAS side); returns its dialog.

        To an INVITE outside a dialog: a 101-299 with a To tag creates the dialog (early or
        confirmed), a later 2xx confirms it, a 300-699 ends it. Answers within a dialog change
        nothing. A 2xx without a To tag raises ValueError (§8.2.6.2: we must tag it).
        """
        if request.to_tag is not None:
            return self.match_request(request)
        if request.method not in DIALOG_CREATING_METHODS or response.status == 100:
            return None
        tag = response.to_tag
        if tag is None:
            if 200 <= response.status < 300:
                raise ValueError("a 2xx to an INVITE must carry a To tag (§8.2.6.2)")
            return None
        dialog = self._dialogs.get(DialogId(request.call_id, tag, request.from_tag or ""))
        if dialog is None:
            if response.status >= 300:
                return None
            dialog = Dialog.from_uas(request, response, tls=tls)
            self._dialogs[dialog.id] = dialog
            return dialog
        dialog.send_response(response)
        if dialog.state is DialogState.TERMINATED:
            self._drop(dialog)
        return dialog

    def invite_completed(self, request: Request) -> list[Dialog]:
        """The INVITE transaction of ``request`` has ended (RFC 6026 Timer M, 64*T1 after the
        first 2xx): end and return the early dialogs no 2xx confirmed (§13.2.2.4)."""
        dset = self._sets.pop((request.call_id, request.from_tag or ""), None)
        if dset is None:
            return []
        ended = dset.early
        for dialog in ended:
            dialog.fork_done()
            self._dialogs.pop(dialog.id, None)
        return ended

    def remove(self, dialog: Dialog) -> None:
        """Forget a dialog (and end it), e.g. after the UA gave up on it."""
        dialog.end()
        self._drop(dialog)

    def _in_dialog_response(self, response: Response) -> DialogResult:
        dialog = self.match_response(response)
        if dialog is None:
            return DialogResult()
        resend = dialog.receive_response(response)
        if dialog.state is not DialogState.TERMINATED:
            return DialogResult(dialog, resend_ack=resend)
        self._drop(dialog)
        return DialogResult(dialog, ended=(dialog,))

    def _invite_failed(self, key: tuple[str, str], response: Response) -> DialogResult:
        dset = self._sets.get(key)
        if dset is None:
            return DialogResult()
        ended = dset.early
        for dialog in ended:
            dialog.receive_response(response)
            self._drop(dialog)
        return DialogResult(ended=tuple(ended))

    def _drop(self, dialog: Dialog) -> None:
        self._dialogs.pop(dialog.id, None)
        key = (dialog.id.call_id, dialog.id.local_tag)
        dset = self._sets.get(key) if dialog.role is Role.UAC else None
        if dset is None:
            return
        if dset.dialogs.get(dialog.id.remote_tag) is dialog:
            del dset.dialogs[dialog.id.remote_tag]
        if dialog in dset.confirmed:
            dset.confirmed.remove(dialog)
        if not dset.dialogs:
            del self._sets[key]
