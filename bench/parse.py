"""Parse/serialize benchmark: Trunkline's SIP message layer against Sippy's, in one process.

Run it through ``bench/parse.sh``, which builds ``bench/.venv-sippy`` with Sippy and Trunkline.
It prints microseconds per message for a carrier-trunk INVITE with SDP, its 200 OK and a
REGISTER, for these operations (the same work on both sides):

* ``parse``: the constructor only (Trunkline ``parse_message(bytes)``; Sippy
  ``SipRequest(bytes.decode())``, as Sippy's transaction manager decodes every datagram).
  Sippy defers each header's parse to first access, Trunkline parses the hot headers at once, so
  this row favours Sippy.
* ``parse + reads``: parse, then read what a stack reads on every message: top Via branch,
  From tag, To tag, Call-ID, CSeq number and method, Max-Forwards and Request-URI (requests) or
  status (responses), and the body.
* ``serialize``: a parsed, untouched message back to wire bytes (Sippy ``localStr().encode()``).
* ``serialize edited``: the same after the edit a proxy makes (requests: Max-Forwards minus one
  and a Via on top; responses: top Via removed). Only the serialization is timed.
* ``proxy pass``: parse + reads + edit + serialize, end to end.

Timing: ``timeit`` batches of about ``--batch-ms`` each, ``--repeat`` rounds, Trunkline and
Sippy alternating inside every round (order swapped each round); the table shows the best
(min) and the median per-message time. The clock is the process's CPU time (``--wall`` for
``perf_counter``), so other work on a shared 2-core machine does not count against whichever
side was descheduled. ``timeit`` switches the garbage collector off while timing, for both.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import importlib.metadata
import io
import os
import platform
import pstats
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trunkline.sip.message import Request, Response
from trunkline.sip.parser import parse_message
from trunkline.sip.scanner import COMPILED

try:
    from sippy.SipHeader import SipHeader
    from sippy.SipRequest import SipRequest
    from sippy.SipResponse import SipResponse
    from sippy.SipVia import SipVia
except ImportError:  # pragma: no cover - the script says how to get it
    sys.exit("sippy is not installed here: run bench/parse.sh (it builds bench/.venv-sippy)")

NEW_VIA = "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx"
PARSE_TARGET = 5.0
SERIALIZE_TARGET = 3.0

# ---- the messages ------------------------------------------------------------------------------


def _message(head: list[str], body: str = "") -> bytes:
    lines = [*head, f"Content-Length: {len(body.encode())}", "", body]
    return "\r\n".join(lines).encode()


_SDP_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1732500000 1732500000 IN IP4 192.0.2.10",
        "s=Asterisk",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        "m=audio 18230 RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=maxptime:150",
        "a=sendrecv",
        "",
    ]
)

_SDP_ANSWER = "\r\n".join(
    [
        "v=0",
        "o=CarrierSBC 581204 581205 IN IP4 203.0.113.20",
        "s=SIP Call",
        "c=IN IP4 203.0.113.20",
        "t=0 0",
        "m=audio 40112 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
        "",
    ]
)

_FROM = '"Acme Sales" <sip:+12125550199@pbx.acme.example.com;user=phone>;tag=8f3c1a27'
_TO = '"+14155550123" <sip:+14155550123@trunk.carrier.example.net;user=phone>'
_CALL_ID = "5b0d8e2c4f6a4e1d9c3b7a2f1e0d9c8b@192.0.2.10"
_ALLOW = "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, PRACK"

# A PBX's INVITE to a carrier trunk, as the SBC receives it (14 header lines).
INVITE = _message(
    [
        "INVITE sip:+14155550123@trunk.carrier.example.net;user=phone SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-524287-1---3c7a5f0e1b2d9a64",
        "Max-Forwards: 70",
        "Contact: <sip:+12125550199@192.0.2.10:5060;transport=udp>",
        f"To: {_TO}",
        f"From: {_FROM}",
        f"Call-ID: {_CALL_ID}",
        "CSeq: 102 INVITE",
        _ALLOW,
        "Supported: replaces, timer, 100rel",
        'P-Asserted-Identity: "Acme Sales" <sip:+12125550199@pbx.acme.example.com>',
        "User-Agent: Asterisk PBX 20.5.0",
        "Content-Type: application/sdp",
    ],
    _SDP_OFFER,
)

# The carrier's 200 OK as it comes back through a proxy: two Vias, Record-Route, Contact, SDP.
OK_200 = _message(
    [
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 198.51.100.5:5060;branch=z9hG4bK7f3e9a1c.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport=5060;received=192.0.2.10"
        ";branch=z9hG4bK-524287-1---3c7a5f0e1b2d9a64",
        "Record-Route: <sip:198.51.100.5;lr>",
        f"From: {_FROM}",
        f"To: {_TO};tag=as6d1f0b2c",
        f"Call-ID: {_CALL_ID}",
        "CSeq: 102 INVITE",
        "Contact: <sip:+14155550123@203.0.113.20:5060>",
        _ALLOW,
        "Supported: replaces, timer",
        "Server: CarrierSBC 4.2",
        "Content-Type: application/sdp",
    ],
    _SDP_ANSWER,
)

# A PBX registering its trunk account (no body).
REGISTER = _message(
    [
        "REGISTER sip:registrar.carrier.example.net SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-524287-1---9d2b41e07c5a3f18",
        "Max-Forwards: 70",
        "Contact: <sip:acme-trunk@192.0.2.10:5060;transport=udp>;expires=3600",
        'To: "Acme PBX" <sip:acme-trunk@registrar.carrier.example.net>',
        'From: "Acme PBX" <sip:acme-trunk@registrar.carrier.example.net>;tag=1b7e05d2',
        "Call-ID: 0e6f4a1d93b84c27a5d1f08e6b3c9a72@192.0.2.10",
        "CSeq: 3 REGISTER",
        "Expires: 3600",
        _ALLOW,
        "Supported: path, replaces",
        "User-Agent: Asterisk PBX 20.5.0",
    ]
)

MESSAGES: dict[str, bytes] = {"INVITE": INVITE, "200 OK": OK_200, "REGISTER": REGISTER}

# ---- the same work on both sides ---------------------------------------------------------------
# Each reader returns (branch, from tag, to tag, Call-ID, CSeq number, CSeq method, Max-Forwards
# or status, body length) so the self-check can prove both sides read the same values.

Reads = tuple[Any, ...]


def tl_reads(msg: Request | Response) -> Reads:
    cseq = msg.cseq
    if isinstance(msg, Request):
        extra: Any = (msg.max_forwards, msg.uri)
    else:
        extra = msg.status
    return (
        msg.top_via.branch,
        msg.from_tag,
        msg.to_tag,
        msg.call_id,
        cseq.number,
        cseq.method,
        extra,
        len(msg.body),
    )


def tl_edit(msg: Request | Response) -> None:
    if isinstance(msg, Request):
        msg.max_forwards = (msg.max_forwards or 70) - 1
        msg.add_header("Via", NEW_VIA, first=True)
    else:
        msg.pop_first_value("via")


def sp_parse(data: bytes) -> Any:
    text = data.decode()
    return SipResponse(text) if text.startswith("SIP/2.0 ") else SipRequest(text)


def sp_reads(m: Any) -> Reads:
    number, method = m.getHFBody("cseq").getCSeq()
    if isinstance(m, SipRequest):
        extra: Any = (m.getHFBody("max-forwards").getNum(), m.getRURI())
    else:
        extra = m.getSCode()[0]
    body = m.getBody()
    return (
        m.getHFBody("via").getBranch(),
        m.getHFBody("from").getTag(),
        m.getHFBody("to").getTag(),
        str(m.getHFBody("call-id")),
        number,
        method,
        extra,
        0 if body is None else len(body.localStr()),
    )


def sp_edit(m: Any) -> None:
    if isinstance(m, SipRequest):
        m.getHFBody("max-forwards").incNum(-1)  # as sippy.StatefulProxy does
        m.insertHeaderBefore(m.getHF("via"), SipHeader(name="via", body=SipVia(NEW_VIA)))
    else:
        m.removeHeader(m.getHF("via"))


def sp_serialize(m: Any) -> bytes:
    return m.localStr().encode()


def tl_proxy(data: bytes) -> bytes:
    msg = parse_message(data)
    tl_reads(msg)
    tl_edit(msg)
    return bytes(msg)


def sp_proxy(data: bytes) -> bytes:
    m = sp_parse(data)
    sp_reads(m)
    sp_edit(m)
    return sp_serialize(m)


def workloads(data: bytes) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """For each operation, a (trunkline, sippy) pair of zero-argument callables."""
    tl_plain, sp_plain = parse_message(data), sp_parse(data)
    tl_edited, sp_edited = parse_message(data), sp_parse(data)
    tl_edit(tl_edited)
    sp_edit(sp_edited)
    return {
        "parse": (lambda: parse_message(data), lambda: sp_parse(data)),
        "parse + reads": (
            lambda: tl_reads(parse_message(data)),
            lambda: sp_reads(sp_parse(data)),
        ),
        "serialize": (lambda: bytes(tl_plain), lambda: sp_serialize(sp_plain)),
        "serialize edited": (lambda: bytes(tl_edited), lambda: sp_serialize(sp_edited)),
        "proxy pass": (lambda: tl_proxy(data), lambda: sp_proxy(data)),
    }


# ---- self-check: both sides do the same work and agree -----------------------------------------


def check(name: str, data: bytes) -> None:
    """Both parsers read the same values; both edits and write-backs give the same message."""
    tl_values = _comparable(tl_reads(parse_message(data)))
    sp_values = _comparable(sp_reads(sp_parse(data)))
    if tl_values != sp_values:
        raise SystemExit(
            f"{name}: the parsers read different values:\n  {tl_values}\n  {sp_values}"
        )
    if bytes(parse_message(data)) != data:
        raise SystemExit(f"{name}: Trunkline does not write an untouched message back unchanged")
    sp_untouched = parse_message(sp_serialize(sp_parse(data)))
    if _comparable(tl_reads(sp_untouched)) != tl_values:
        raise SystemExit(f"{name}: Sippy's untouched output does not read back the same")
    # Sippy moves Content-Type/Content-Length last, so compare what the edit changed.
    edited = [parse_message(out) for out in (tl_proxy(data), sp_proxy(data))]
    summaries = [
        (len(p.vias), p.top_via.branch, p.max_forwards, p.body, sorted(p.header_names()))
        for p in edited
    ]
    if summaries[0] != summaries[1]:
        raise SystemExit(f"{name}: edited messages differ:\n  {summaries[0]}\n  {summaries[1]}")


def _comparable(values: Reads) -> Reads:
    """URI objects of either library compared as text."""
    extra = values[6]
    if isinstance(extra, tuple):
        extra = (extra[0], str(extra[1]))
    return (*values[:6], extra, values[7])


# ---- timing ------------------------------------------------------------------------------------


@dataclass
class Result:
    message: str
    operation: str
    tl: list[float]  # seconds per message, one per round
    sp: list[float]

    def best(self, side: str) -> float:
        return min(self.tl if side == "tl" else self.sp)

    def median(self, side: str) -> float:
        return statistics.median(self.tl if side == "tl" else self.sp)

    @property
    def ratio(self) -> float:
        return self.best("sp") / self.best("tl")

    @property
    def ratio_median(self) -> float:
        return self.median("sp") / self.median("tl")


def loops_for(fn: Callable[[], object], batch_s: float, clock: Callable[[], float]) -> int:
    """How many calls fill about ``batch_s`` seconds."""
    timer = timeit.Timer(fn, timer=clock)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= batch_s / 10:
            return max(1, int(number * batch_s / elapsed))
        number *= 4


def measure(
    message: str,
    operation: str,
    pair: tuple[Callable[[], object], Callable[[], object]],
    rounds: int,
    batch_s: float,
    clock: Callable[[], float],
) -> Result:
    timers = [timeit.Timer(fn, timer=clock) for fn in pair]
    numbers = [loops_for(fn, batch_s, clock) for fn in pair]
    samples: list[list[float]] = [[], []]
    for r in range(rounds):
        order = (0, 1) if r % 2 == 0 else (1, 0)  # alternate, and swap who goes first
        for side in order:
            samples[side].append(timers[side].timeit(numbers[side]) / numbers[side])
    return Result(message, operation, samples[0], samples[1])


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.2f}"


def print_table(results: list[Result]) -> None:
    print(
        f"{'message':<9} {'operation':<17} {'trunkline µs':>20} {'sippy µs':>20} "
        f"{'ratio':>7} {'ratio':>7}"
    )
    print(
        f"{'':<9} {'':<17} {'min':>9} {'median':>10} {'min':>9} {'median':>10} "
        f"{'(min)':>7} {'(med)':>7}"
    )
    print("-" * 86)
    last = ""
    for r in results:
        label = r.message if r.message != last else ""
        last = r.message
        print(
            f"{label:<9} {r.operation:<17} {us(r.best('tl')):>9} {us(r.median('tl')):>10} "
            f"{us(r.best('sp')):>9} {us(r.median('sp')):>10} {r.ratio:6.1f}x {r.ratio_median:6.1f}x"
        )


def print_targets(results: list[Result]) -> None:
    by_key = {(r.message, r.operation): r for r in results}
    print()
    print("Targets (INVITE, ratio = Sippy time / Trunkline time, from the best of the rounds):")
    lines = [
        ("parse", PARSE_TARGET, "lazy parse, constructor only"),
        ("parse + reads", PARSE_TARGET, "parse + what a stack reads"),
        ("serialize", SERIALIZE_TARGET, "serialize, untouched"),
        ("serialize edited", SERIALIZE_TARGET, "serialize after the proxy edit"),
    ]
    for op, target, what in lines:
        r = by_key[("INVITE", op)]
        verdict = "PASS" if r.ratio >= target else "MISS"
        print(
            f"  {what:<33} {r.ratio:5.1f}x (median {r.ratio_median:4.1f}x)"
            f"  target ≥ {target:.0f}x  {verdict}"
        )


def profile(lines: int, seconds: float = 2.0) -> None:
    """cProfile of Trunkline's INVITE parse + reads, top ``lines`` functions by own time."""
    data = INVITE
    count = max(
        1,
        int(
            seconds
            / max(1e-7, timeit.timeit(lambda: tl_reads(parse_message(data)), number=1000) / 1000)
        ),
    )
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(count):
        tl_reads(parse_message(data))
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(lines)
    print(f"\ncProfile: Trunkline INVITE parse + reads, {count} messages, by own time")
    text = out.getvalue()
    start = text.find("   ncalls")
    print(text[start:].rstrip() if start >= 0 else text.rstrip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=41, help="timing rounds per cell (41)")
    ap.add_argument("--batch-ms", type=float, default=5.0, help="length of one batch (5 ms)")
    ap.add_argument(
        "--wall",
        action="store_true",
        help="time with perf_counter (wall clock) instead of process CPU time",
    )
    ap.add_argument("--quick", action="store_true", help="7 rounds of 2 ms: a smoke run")
    ap.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=8,
        default=0,
        metavar="N",
        help="also print the top N (8) lines of a cProfile of Trunkline's parse",
    )
    args = ap.parse_args(argv)
    rounds, batch_s = (7, 0.002) if args.quick else (args.repeat, args.batch_ms / 1000)
    clock = time.perf_counter if args.wall else time.process_time

    for name, data in MESSAGES.items():
        check(name, data)
    print(
        f"Trunkline {importlib.metadata.version('trunkline')} vs Sippy "
        f"{importlib.metadata.version('sippy')}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {os.cpu_count()} CPUs, "
        f"{datetime.date.today().isoformat()}"
    )
    print(f"Trunkline's SIP core: {'compiled with mypyc' if COMPILED else 'plain Python'}.")
    sizes = ", ".join(f"{name} {len(data)} B" for name, data in MESSAGES.items())
    clock_name = "wall clock" if args.wall else "process CPU time"
    print(
        f"Messages: {sizes}.\n{rounds} rounds of ~{batch_s * 1000:g} ms batches per cell, "
        f"Trunkline and Sippy alternating, timed in {clock_name}; µs per message."
    )
    print()
    results = [
        measure(name, op, pair, rounds, batch_s, clock)
        for name, data in MESSAGES.items()
        for op, pair in workloads(data).items()
    ]
    print_table(results)
    print_targets(results)
    if args.profile:
        profile(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
