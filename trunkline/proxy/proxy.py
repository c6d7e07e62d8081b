"""The stateful proxy core (RFC 3261 §16): request validation, routing, forking, best response.

One :class:`ProxyContext` per server transaction holds the branches (client transactions) and
their answers. In-dialog requests follow Route/Request-URI only towards trusted networks or
configured targets: a message never makes Trunkline send to an address it merely names.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass, field

from trunkline.config.schema import Config
from trunkline.proxy.forward import (
    add_record_route,
    add_via,
    build_cancel,
    clone,
    is_loop,
    loop_hash,
)
from trunkline.proxy.locality import Locality
from trunkline.proxy.router import CompiledRoute, Router, Target, target_from_uri
from trunkline.sip.address import NameAddr
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response
from trunkline.sip.transaction import (
    ClientTransaction,
    RequestReceived,
    ResponseReceived,
    ServerTransaction,
)
from trunkline.sip.uri import SipURI
from trunkline.stack import SipStack
from trunkline.timerheap import TimerHandle

log = logging.getLogger("trunkline.proxy")

KNOWN_METHODS = frozenset(
    [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    ]
)
ALLOW = ", ".join(sorted(KNOWN_METHODS))
DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER", "NOTIFY"})
SUPPORTED: frozenset[str] = frozenset()  # option tags this element itself implements


@dataclass(slots=True)
class Branch:
    target: Target
    request: Request
    transaction: ClientTransaction | None = None
    provisional: bool = False
    final: Response | None = None
    cancel_pending: bool = False
    cancelled: bool = False
    timer_c: TimerHandle | None = None
    via_branch: str = ""  # the branch of our Via on ``request``: responses come back with it


@dataclass(slots=True)
class ProxyContext:
    server: ServerTransaction
    request: Request
    pending_targets: list[Target]
    parallel: bool
    record_route: bool
    branches: list[Branch] = field(default_factory=list)
    final_sent: bool = False
    cancelled: bool = False


class Proxy:
    """The application the stack drives in proxy mode."""

    def __init__(self, stack: SipStack, config: Config) -> None:
        self.stack = stack
        self.config = config
        self.router = Router(list(config.proxy.routes))
        self.locality = Locality(config, stack)
        self.trusted = [
            ipaddress.ip_network(n, strict=False) for n in config.proxy.trusted_networks
        ]
        self.contexts: dict[ServerTransaction, ProxyContext] = {}
        self.branch_of: dict[ClientTransaction, tuple[ProxyContext, Branch]] = {}
        self.draining = False
        self.stats = {"forwarded": 0, "answered": 0}

    # ---- requests ---------------------------------------------------------------------------
    def on_request(self, event: RequestReceived) -> None:
        request, source, server = event.request, event.source, event.transaction
        if server is None:  # ACK for a 2xx: forwarded statelessly (RFC 3261 §16.11)
            self._forward_ack(request, source)
            return
        if request.method == "CANCEL":
            self._on_cancel(event)
            return
        if request.method not in KNOWN_METHODS:
            self._answer(server, request, 501, extra=(("Allow", ALLOW),))
            return
        try:
            request.validate()
        except ParseError as exc:
            self._answer(server, request, exc.status, exc.reason, warning=exc.detail)
            return
        unsupported = [t for t in _option_tags(request, "proxy-require") if t not in SUPPORTED]
        if unsupported:  # RFC 3261 §16.3 step 5 (RFC 4475 §3.3.5)
            self._answer(server, request, 420, extra=(("Unsupported", ", ".join(unsupported)),))
            return
        hops = request.max_forwards
        if hops == 0 and (
            request.has_header("route") or not self.locality.is_local_uri(request.uri)
        ):
            self._answer(server, request, 483)  # not ours and no hops left (RFC 4475 §3.3.11)
            return
        if self.draining and request.to_tag is None:
            self._answer(server, request, 503, extra=(("Retry-After", "5"),))
            return
        self._route(request, source, server)

    def _route(self, request: Request, source: Endpoint, server: ServerTransaction) -> None:
        loose = self.locality.preprocess_route(request)  # §16.4: strip our own Route entries
        if loose is not None:  # a Route remains: loose-route to it (§16.6 step 7)
            self._forward_in_dialog(request, source, server, loose)
            return
        if request.to_tag is not None and not self.locality.is_local_uri(request.uri):
            self._forward_in_dialog(request, source, server, request.uri)
            return
        if request.method == "OPTIONS" and self._for_trunkline(request):
            self._local_request(request, server)  # a ping for Trunkline itself: never routed
            return
        # Initial requests, and in-dialog ones whose next hop is Trunkline itself (a peer
        # that ignores Record-Route), go where the configured routes say.
        route = self.router.route(request, source)
        if route is not None:
            self._forward_initial(request, server, route)
            return
        if self._for_trunkline(request):
            self._local_request(request, server)
        elif self.locality.is_local_domain(request.uri):
            self._answer(server, request, 404)
        else:
            self._answer(server, request, 403, "Relaying Denied")

    def _for_trunkline(self, request: Request) -> bool:
        """Addressed to Trunkline itself: our address, no user part."""
        return self.locality.is_local_uri(request.uri) and not _has_user(request)

    def _local_request(self, request: Request, server: ServerTransaction) -> None:
        """Requests addressed to Trunkline itself (UAS role)."""
        unsupported = [t for t in _option_tags(request, "require") if t not in SUPPORTED]
        if unsupported and request.method not in ("ACK", "CANCEL"):
            self._answer(server, request, 420, extra=(("Unsupported", ", ".join(unsupported)),))
        elif request.method == "OPTIONS":
            self._answer(
                server,
                request,
                200,
                extra=(
                    ("Allow", ALLOW),
                    ("Accept", "application/sdp"),
                    ("Supported", ", ".join(sorted(SUPPORTED))),
                ),
            )
        else:
            self._answer(server, request, 404)

    def _forward_initial(
        self, request: Request, server: ServerTransaction, route: CompiledRoute
    ) -> None:
        if not self._check_hops(request, server):
            return
        ctx = ProxyContext(
            server=server,
            request=request,
            pending_targets=list(route.targets),
            parallel=route.parallel,
            record_route=self.config.proxy.record_route
            and request.method in DIALOG_CREATING
            and request.to_tag is None,
        )
        self.contexts[server] = ctx
        if ctx.parallel:
            while ctx.pending_targets:
                self._start_branch(ctx, ctx.pending_targets.pop(0))
        else:
            self._start_branch(ctx, ctx.pending_targets.pop(0))

    def _forward_in_dialog(
        self, request: Request, source: Endpoint, server: ServerTransaction, next_hop: object
    ) -> None:
        target = self._trusted_target(next_hop)
        if target is None:
            self._answer(server, request, 403, "Destination Not Allowed")
            return
        if not self._check_hops(request, server):
            return
        ctx = ProxyContext(server, request, [], False, record_route=False)
        self.contexts[server] = ctx
        self._start_branch(ctx, target)

    def _check_hops(self, request: Request, server: ServerTransaction) -> bool:
        hops = request.max_forwards
        if hops is not None and hops <= 0:
            self._answer(server, request, 483)  # RFC 3261 §16.3 step 3 (RFC 4475 §3.3.11)
            return False
        if is_loop(request, self.locality):
            self._answer(server, request, 482)  # §16.3 step 4
            return False
        return True

    def _trusted_target(self, next_hop: object) -> Target | None:
        uri = next_hop.uri if isinstance(next_hop, NameAddr) else next_hop
        if not isinstance(uri, SipURI):
            return None
        try:
            target = target_from_uri(uri)
            addr = ipaddress.ip_address(target.endpoint.host)
        except ValueError:
            return None  # a name we would have to resolve: not from a message (no open relay)
        if addr.is_multicast or addr.is_unspecified or str(addr) == "255.255.255.255":
            return None
        if target.endpoint.host in self.router.target_hosts:
            return target
        if any(addr in net for net in self.trusted):
            return target
        return None

    def _start_branch(self, ctx: ProxyContext, target: Target) -> None:
        out = clone(ctx.request)
        hops = out.max_forwards
        out.max_forwards = 70 if hops is None else hops - 1
        endpoint = self.locality.choose_transport(target, out)
        local = self.locality.local_for(endpoint)
        if local is None:
            branch = Branch(target, out, final=ctx.request.create_response(503))
            ctx.branches.append(branch)
            self._maybe_finish(ctx)
            return
        if ctx.record_route:
            inbound = self.locality.local_for(ctx.server.source)
            add_record_route(out, inbound, local)
        via_branch = self._branch_id(ctx.request)
        add_via(out, local, via_branch)
        branch = Branch(target, out, via_branch=via_branch)
        ctx.branches.append(branch)
        tx = self.stack.send_request(out, endpoint)
        branch.transaction = tx
        self.branch_of[tx] = (ctx, branch)
        self.stats["forwarded"] += 1
        # Timer C (§16.6 step 11) starts with the first provisional response: before one,
        # the client transaction's Timer B (64*T1) ends the branch long before Timer C could.

    def _branch_id(self, request: Request) -> str:
        return f"z9hG4bKtl{loop_hash(request)}.{secrets.token_hex(5)}"

    def _timer_c(self, ctx: ProxyContext, branch: Branch) -> TimerHandle:
        deadline = self.stack.now + self.config.timers.timer_c
        return self.stack.call_at(deadline, lambda: self._on_timer_c(ctx, branch))

    def _on_timer_c(self, ctx: ProxyContext, branch: Branch) -> None:
        """§16.8: a branch that rang too long is cancelled; one that never answered is a 408."""
        if branch.final is not None:
            return
        if branch.provisional:
            self._cancel_branch(branch)
        else:
            branch.final = ctx.request.create_response(408)
            self._maybe_finish(ctx)

    def _forward_ack(self, request: Request, source: Endpoint) -> None:
        loose = self.locality.preprocess_route(request)
        if loose is not None:
            target = self._trusted_target(loose)
        elif not self.locality.is_local_uri(request.uri):
            target = self._trusted_target(request.uri)
        else:
            route = self.router.route(request, source)
            target = route.targets[0] if route is not None else None
        hops = request.max_forwards
        if target is None or (hops is not None and hops <= 0):
            return
        request.max_forwards = 70 if hops is None else hops - 1
        endpoint = self.locality.choose_transport(target, request)
        local = self.locality.local_for(endpoint)
        if local is None:
            return
        # Stateless: the branch must be the same for retransmissions (§16.11).
        add_via(request, local, f"z9hG4bKtl{loop_hash(request)}.ack")
        self.stack.send_stateless(request, endpoint)

    # ---- CANCEL -----------------------------------------------------------------------------
    def _on_cancel(self, event: RequestReceived) -> None:
        server = event.transaction
        assert server is not None
        invite_tx = event.cancelled
        ctx = self.contexts.get(invite_tx) if invite_tx is not None else None
        if ctx is None:
            self._answer(server, event.request, 481)  # §16.10: nothing to cancel
            return
        self._answer(server, event.request, 200)
        ctx.cancelled = True
        ctx.pending_targets.clear()
        for branch in ctx.branches:
            if branch.final is None:
                self._cancel_branch(branch)

    def _cancel_branch(self, branch: Branch) -> None:
        if branch.cancelled or branch.transaction is None:
            return
        if not branch.provisional:
            branch.cancel_pending = True  # §9.1: wait for a provisional response first
            return
        branch.cancelled = True
        cancel = build_cancel(branch.request)
        self.stack.send_request(cancel, branch.transaction.destination)

    # ---- responses --------------------------------------------------------------------------
    def on_response(self, event: ResponseReceived) -> None:
        tx = event.transaction
        if tx is None:
            return  # stray response: dropped (RFC 6026 §7.1; RFC 4475 §3.3.10)
        found = self.branch_of.get(tx)
        if found is None:
            return  # e.g. the answer to a CANCEL we sent
        ctx, branch = found
        response = event.response
        status = response.status
        if status < 200:
            self._on_provisional(ctx, branch, response)
            return
        if branch.timer_c is not None:
            branch.timer_c.cancel()
        if status < 300:
            branch.final = response
            self._relay(ctx, response, branch)
            ctx.final_sent = True
            for other in ctx.branches:  # §16.7 step 10: a 2xx ends the other branches
                if other is not branch and other.final is None:
                    self._cancel_branch(other)
            _let_go(ctx)
            return
        if branch.final is not None and branch.final.status < 300:
            return
        branch.final = response
        if status >= 600:  # §16.7 step 5: stop searching, cancel the rest
            ctx.pending_targets.clear()
            for other in ctx.branches:
                if other.final is None:
                    self._cancel_branch(other)
        self._maybe_finish(ctx)

    def _on_provisional(self, ctx: ProxyContext, branch: Branch, response: Response) -> None:
        branch.provisional = True
        if branch.cancel_pending:
            branch.cancel_pending = False
            self._cancel_branch(branch)
        if branch.request.method == "INVITE" and response.status > 100:
            if branch.timer_c is not None:  # §16.7 step 2: a provisional resets Timer C
                branch.timer_c.cancel()
            branch.timer_c = self._timer_c(ctx, branch)
        if response.status > 100 and not ctx.final_sent:
            self._relay(ctx, response, branch)

    def _maybe_finish(self, ctx: ProxyContext) -> None:
        if not ctx.final_sent:
            self._finish_if_answered(ctx)
        if ctx.final_sent:
            _let_go(ctx)

    def _finish_if_answered(self, ctx: ProxyContext) -> None:
        """§16.7: every branch answered (or no target left): send the best answer up."""
        if any(b.final is None for b in ctx.branches):
            return
        if ctx.pending_targets and not ctx.cancelled:  # serial forking: next target
            self._start_branch(ctx, ctx.pending_targets.pop(0))
            return
        best, origin = self._best_response(ctx)
        ctx.final_sent = True
        if best.status == 503:  # §16.7 step 6
            best, origin = ctx.request.create_response(500, to_tag=secrets.token_hex(4)), None
        self._relay(ctx, best, origin)

    def _best_response(self, ctx: ProxyContext) -> tuple[Response, Branch | None]:
        """§16.7 step 6: a 6xx if any, else the lowest class; with the branch it came on."""
        done = [b for b in ctx.branches if b.final is not None]
        if ctx.cancelled and not any(
            b.final is not None and b.final.status >= 400 and b.final.status != 408 for b in done
        ):
            return ctx.request.create_response(487, to_tag=secrets.token_hex(4)), None
        six = [b for b in done if b.final is not None and b.final.status >= 600]
        best = min(six or done, key=lambda b: _rank(b.final))
        response = best.final
        assert response is not None
        if response.status in (401, 407):  # §16.7 step 7: gather every challenge
            for other in done:
                if (
                    other is not best
                    and other.final is not None
                    and other.final.status in (401, 407)
                ):
                    for name in ("www-authenticate", "proxy-authenticate"):
                        for value in other.final.header_values(name):
                            response.add_header(name, value)
        return response, best

    def _relay(self, ctx: ProxyContext, response: Response, branch: Branch | None) -> None:
        """Send a response upstream; one that came back on a branch loses our Via (§16.7 step 3)."""
        if branch is not None and response.top_via.branch == branch.via_branch:
            response.pop_first_value("via")
        self.stack.send_response(ctx.server, response)
        self.stats["answered"] += 1

    # ---- bookkeeping ------------------------------------------------------------------------
    def busy(self) -> bool:
        return any(not ctx.final_sent for ctx in self.contexts.values())

    def on_server_timeout(self, transaction: ServerTransaction) -> None:
        log.debug("no ACK for the final response to %s", transaction.request.call_id)

    def on_terminated(self, transaction: ClientTransaction | ServerTransaction) -> None:
        if isinstance(transaction, ServerTransaction):
            ctx = self.contexts.pop(transaction, None)
            if ctx is not None:
                for branch in ctx.branches:
                    if branch.timer_c is not None:
                        branch.timer_c.cancel()
        else:
            self.branch_of.pop(transaction, None)

    def _answer(
        self,
        server: ServerTransaction,
        request: Request,
        status: int,
        reason: str | None = None,
        *,
        extra: tuple[tuple[str, str], ...] = (),
        warning: str | None = None,
    ) -> None:
        response = request.create_response(status, reason, to_tag=secrets.token_hex(4))
        response.add_header("Server", self.config.user_agent)
        for name, value in extra:
            response.add_header(name, value)
        if warning:
            safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "?" for c in warning)
            response.add_header("Warning", f'399 trunkline "{safe[:120]}"')
        self.stack.send_response(server, response)


def _let_go(ctx: ProxyContext) -> None:
    """Once the final answer is out, a context lingers as long as its server transaction (32 s
    over UDP) to relay late 2xx and absorb late answers. It then needs only what identifies its
    messages, so it takes the skeletons its lingering transactions keep (Request.skeleton) in
    place of the whole messages. A branch still waiting for its answer keeps its request: a
    CANCEL may still be built from it."""
    server = ctx.server
    if server.lingering:
        ctx.request = server.request
    for branch in ctx.branches:
        tx = branch.transaction
        if branch.final is not None and tx is not None and tx.lingering:
            branch.request = tx.request
            if tx.last_response is not None:
                branch.final = tx.last_response


def _has_user(request: Request) -> bool:
    uri = request.uri
    return isinstance(uri, SipURI) and bool(uri.user)


def _option_tags(request: Request, name: str) -> list[str]:
    return [t.strip() for t in request.header_values(name) if t.strip()]


def _rank(response: Response | None) -> tuple[int, int]:
    """Lowest class first; within a class, answers a user can act on (§16.7 leaves it open)."""
    status = response.status if response is not None else 999
    preference = {401: 0, 407: 0, 415: 1, 420: 1, 484: 1, 486: 2, 408: 9, 503: 9}
    return status // 100, preference.get(status, 5)
