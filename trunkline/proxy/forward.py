"""Building what a proxy sends: forwarded copies, its Via and Record-Route, CANCELs, and the
loop-detection hash carried in its branch (RFC 3261 §16.6, §9.1, §16.3 step 4)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.headers import decode, split_list
from trunkline.sip.message import Request

if TYPE_CHECKING:
    from trunkline.proxy.locality import Locality

OUR_BRANCH = "z9hG4bKtl"


def clone(request: Request) -> Request:
    """An independent copy to edit for one branch."""
    return request.copy()


def add_via(request: Request, local: Endpoint, branch: str) -> None:
    request.add_header(
        "Via", f"SIP/2.0/{local.via_transport} {local.hostport()};branch={branch};rport", first=True
    )


def record_route_uri(local: Endpoint) -> str:
    transport = "" if local.transport == "udp" else f";transport={local.transport}"
    return f"<sip:{local.hostport()}{transport};lr>"


def add_record_route(request: Request, inbound: Endpoint | None, outbound: Endpoint) -> None:
    """Record-Route; two entries when the two sides differ in transport or address (RFC 5658)."""
    if inbound is not None and inbound.without_conn() != outbound.without_conn():
        request.add_header("Record-Route", record_route_uri(inbound), first=True)
    request.add_header("Record-Route", record_route_uri(outbound), first=True)


def build_cancel(request: Request) -> Request:
    """CANCEL for a request we sent (§9.1): same top Via, R-URI, Call-ID, From, To, Route."""
    cancel = Request("CANCEL", request.uri_text)
    via = request.header("via")
    assert via is not None
    cancel.add_header("Via", split_list(decode(via))[0])
    for name in ("route", "from", "to", "call-id"):
        for value in _raw_values(request, name):
            cancel.add_header(name, value)
    cancel.add_header("CSeq", f"{request.cseq.number} CANCEL")
    cancel.add_header("Max-Forwards", "70")
    cancel.body = b""
    return cancel


def _raw_values(request: Request, name: str) -> list[bytes]:
    return [value for fname, value in request if fname == name]


def loop_hash(request: Request, top_via: str | None = None) -> str:
    """What identifies a request for loop detection (§16.6 step 8), as branch-safe hex."""
    if top_via is None:
        via = request.header("via")
        top_via = split_list(decode(via))[0] if via is not None else ""
    parts = (
        request.uri_text,
        request.from_tag or "",
        request.to_tag or "",
        request.call_id,
        str(request.cseq.number),
        top_via,
        ",".join(request.header_values("proxy-require")),
    )
    return hashlib.blake2s(
        "\n".join(parts).encode("utf-8", "surrogateescape"), digest_size=6
    ).hexdigest()


def is_loop(request: Request, locality: Locality) -> bool:
    """True when a Via of ours shows this same request passed here before (not a spiral)."""
    if not any(OUR_BRANCH.encode() in value for name, value in request if name == "via"):
        return False
    vias = request.vias
    for i, via in enumerate(vias[:-1]):
        branch = via.branch or ""
        if branch.startswith(OUR_BRANCH) and locality.is_local_sent_by(via):
            expected = branch[len(OUR_BRANCH) :].split(".", 1)[0]
            if loop_hash(request, str(vias[i + 1])) == expected:
                return True
    return False
