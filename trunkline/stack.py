"""The asyncio shell around the sans-IO core: transports in, transaction layer, application out.

Receive -> feed the core -> drain its events to the application -> send what it queued ->
re-arm ONE ``loop.call_at`` for the earliest deadline of the core and the application timers
(DESIGN.md, "Transports are thin and alike"). Applications see only this narrow API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from trunkline.config.schema import Config
from trunkline.ratelog import RateLimitedLog
from trunkline.sip.address import parse_via
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.error_answer import error_response
from trunkline.sip.errors import ParseError
from trunkline.sip.headers import decode, split_list
from trunkline.sip.message import Request, Response
from trunkline.sip.transaction import (
    ClientTransaction,
    RequestReceived,
    ResponseReceived,
    ServerTimeout,
    ServerTransaction,
    TimerConfig,
    TransactionLayer,
    TransactionTerminated,
)
from trunkline.sip.via_rules import default_port, ip_literal, response_destination, stamp
from trunkline.timerheap import TimerHandle, TimerHeap
from trunkline.transport import TlsSettings, TransportLayer, TransportLimits

log = logging.getLogger("trunkline.stack")


class Application(Protocol):
    """What the stack calls; every call is made from the event loop, never concurrently."""

    def on_request(self, event: RequestReceived) -> None: ...

    def on_response(self, event: ResponseReceived) -> None: ...

    def on_server_timeout(self, transaction: ServerTransaction) -> None: ...

    def on_terminated(self, transaction: ClientTransaction | ServerTransaction) -> None: ...

    def busy(self) -> bool:
        """Whether a request is still waiting for its final answer (drain waits for none)."""
        ...


class SipStack:
    """Owns the transports, the transaction layer and the timers of one Trunkline process."""

    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.config = config
        self.loop = loop or asyncio.get_event_loop()
        timers = config.timers
        self.transactions = TransactionLayer(TimerConfig(t1=timers.t1, t2=timers.t2, t4=timers.t4))
        limits = config.limits
        self.transport = TransportLayer(
            self,
            TransportLimits(
                max_header=limits.max_header,
                max_body=limits.max_body,
                max_connections=limits.max_connections,
                idle_timeout=limits.idle_timeout,
            ),
            loop=self.loop,
        )
        self.timers = TimerHeap()
        self.app: Application | None = None
        self._armed: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._pumping = False
        self._bad_log = RateLimitedLog(log, config.log.bad_message_interval)
        self._idle: asyncio.Event | None = None
        self.stats = {"bad_messages": 0, "app_errors": 0}

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> list[Endpoint]:
        tls = self._tls_settings()
        bound = []
        for spec in self.config.listen:
            secure = spec.transport in ("tls", "wss")
            bound.append(
                await self.transport.listen(
                    spec.transport, spec.host, spec.port, tls=tls if secure else None
                )
            )
        return bound

    def _tls_settings(self) -> TlsSettings | None:
        cfg = self.config.tls
        if not cfg.certfile:
            return None
        return TlsSettings(
            certfile=cfg.certfile,
            keyfile=cfg.keyfile,
            cafile=cfg.cafile,
            verify_peer=cfg.verify_peer,
            require_client_cert=cfg.require_client_cert,
        )

    async def close(self) -> None:
        if self._armed is not None:
            self._armed.cancel()
        await self.transport.close()

    async def wait_idle(self) -> None:
        """Return once the application has no request left waiting for its final answer.

        Transactions that only absorb retransmissions (Completed, Confirmed) are not waited
        for: they would hold shutdown for Timer J/K for nothing."""
        if not self._busy():
            return
        self._idle = asyncio.Event()
        await self._idle.wait()

    def _busy(self) -> bool:
        return self.app is not None and self.app.busy()

    @property
    def now(self) -> float:
        return self.loop.time()

    # ---- API for applications ------------------------------------------------------------
    def send_request(self, request: Request, destination: Endpoint) -> ClientTransaction:
        tx = self.transactions.send_request(request, destination, self.now)
        self._pump()
        return tx

    def send_response(self, transaction: ServerTransaction, response: Response) -> None:
        self.transactions.send_response(transaction, response, self.now)
        self._pump()

    def send_stateless(self, message: Request | Response, destination: Endpoint) -> None:
        self.transactions.send_stateless(message, destination)
        self._pump()

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        handle = self.timers.schedule(deadline, callback)
        self._arm()
        return handle

    def new_branch(self) -> str:
        return self.transactions.new_branch()

    # ---- TransportUser -------------------------------------------------------------------
    def message_received(self, message: Request | Response, source: Endpoint) -> None:
        if source.reliable and isinstance(message, Request):
            self._learn_alias(message, source)
        try:
            self.transactions.receive(message, source, self.now)
        except ParseError as exc:  # a header the transaction layer needed was bad
            self.bad_message(exc, b"", source)
            return
        self._pump()

    def bad_message(self, error: ParseError, data: bytes, source: Endpoint) -> None:
        self.stats["bad_messages"] += 1
        self._bad_log.warning(
            f"bad:{source.host}",
            self.now,
            "bad SIP message from %s: %s %s",
            source,
            error.status,
            error.detail,
        )
        answer = error_response(error, to_tag="tl-err")
        if answer is None:
            return  # a response, or no Via to answer to: drop (RFC 3261 §18.1.2, RFC 4475)
        via_value = next(v for n, v in error.headers if n == "via")
        try:
            via = parse_via(split_list(decode(via_value))[0])
            stamp(via, source)  # §18.2.1: answer where it came from, never a host it names
            destination = response_destination(via, source)
        except ParseError:
            destination = source  # the Via itself is broken: answer where the bytes came from
        self.transport.send(answer, destination)

    def _learn_alias(self, request: Request, source: Endpoint) -> None:
        """RFC 5923: a Via with ``alias`` lets requests to its sent-by reuse this connection."""
        via_value = request.header("via")
        if via_value is None or b"alias" not in via_value:
            return
        try:
            via = request.top_via
        except ParseError:
            return  # the transaction layer answers the broken Via right after this
        if "alias" not in via.params:
            return
        host = ip_literal(via.host)
        if host is None or host != source.host:  # only for the peer the connection reaches
            return
        port = via.port if via.port is not None else default_port(via)
        self.transport.add_alias(Endpoint(source.transport, host, port), source.conn)

    def send_failed(self, destination: Endpoint, data: bytes, reason: str) -> None:
        log.info("send to %s failed: %s", destination, reason)
        self.transactions.transport_error(destination, self.now)
        self._pump()

    # ---- the pump ------------------------------------------------------------------------
    def _pump(self) -> None:
        """Drain core events to the application, flush queued output, re-arm the timer."""
        if self._pumping:
            return  # an application call made from inside the loop below: it drains there
        self._pumping = True
        try:
            layer = self.transactions
            send = self.transport.send
            while True:
                event = layer.next_event()
                if event is not None:
                    self._dispatch(event)
                for data, destination in layer.datagrams_to_send():
                    send(data, destination)
                if event is None:
                    break
        finally:
            self._pumping = False
        self._arm()
        if self._idle is not None and not self._busy():
            self._idle.set()

    def _dispatch(self, event: object) -> None:
        app = self.app
        if app is None:
            return
        try:
            if isinstance(event, RequestReceived):
                app.on_request(event)
            elif isinstance(event, ResponseReceived):
                app.on_response(event)
            elif isinstance(event, ServerTimeout):
                app.on_server_timeout(event.transaction)
            elif isinstance(event, TransactionTerminated):
                app.on_terminated(event.transaction)
        except ParseError as exc:
            # The application read a header that turned out malformed: answer like the edge.
            if isinstance(event, RequestReceived) and event.transaction is not None:
                self._answer_error(event, exc)
        except Exception:
            self.stats["app_errors"] += 1
            log.exception("application error on %s", type(event).__name__)
            if isinstance(event, RequestReceived) and event.transaction is not None:
                self._answer_error(
                    event, ParseError("internal error", 500, "Server Internal Error")
                )

    def _answer_error(self, event: RequestReceived, exc: ParseError) -> None:
        tx = event.transaction
        if tx is None or event.request.method == "ACK":
            return
        try:
            resp = event.request.create_response(exc.status, exc.reason, to_tag="tl-err")
            self.transactions.send_response(tx, resp, self.now)
        except Exception:
            log.exception("could not answer a failed request")

    def _arm(self) -> None:
        core = self.transactions.get_timer()
        app = self.timers.next_deadline()
        deadline = core if app is None else app if core is None else min(core, app)
        armed = self._armed_at
        if deadline is not None and armed is not None and armed <= deadline:
            return  # the armed wake-up comes first; it re-arms for the rest when it fires
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None
        self._armed_at = deadline
        if deadline is not None:
            self._armed = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._armed = None
        self._armed_at = None
        now = self.now
        self.transactions.handle_timer(now)
        for handle in self.timers.run(now):
            try:
                handle.callback()
            except Exception:
                self.stats["app_errors"] += 1
                log.exception("timer callback failed")
        self._pump()
