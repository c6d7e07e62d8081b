"""CPU cost of one proxied call inside Trunkline, without sockets: the real stack and proxy,
a fake transport, and the messages of the cps.sh call flow (INVITE/200/ACK, BYE/200).

    python bench/proxy_inproc.py [--calls N] [--profile]

Prints µs per call: Trunkline's CPU time from each datagram in (parsed as the transport
does) to every datagram out, for the five messages it receives in a call; the fake peers'
work is not counted, nor is the kernel's. Run it before and after a hot-path change.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trunkline.config.load import parse_config
from trunkline.proxy import Proxy
from trunkline.server import tune_gc
from trunkline.sip.endpoint import Endpoint
from trunkline.sip.parser import parse_message
from trunkline.stack import SipStack

PROXY = Endpoint("udp", "127.0.0.1", 5060)
UAC = Endpoint("udp", "127.0.0.1", 5061)
UAS = Endpoint("udp", "127.0.0.1", 5070)
CONFIG = """
listen: [udp:127.0.0.1:5060]
proxy: {routes: [{targets: ["sip:127.0.0.1:5070"]}]}
log: {level: warning}
"""

SDP = (
    "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
)


def invite(n: int) -> bytes:
    return (
        f"INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-{n}-0\r\n"
        f"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag00{n}\r\n"
        f"To: service <sip:service@127.0.0.1:5060>\r\n"
        f"Call-ID: {n}-1@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
        f"Contact: sip:sipp@127.0.0.1:5061\r\nMax-Forwards: 70\r\n"
        f"Subject: Performance Test\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
    ).encode()


def in_dialog(n: int, method: str, cseq: int, rr: str) -> bytes:
    return (
        f"{method} sip:service@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-{n}-{cseq + 4}\r\n"
        f"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag00{n}\r\n"
        f"To: service <sip:service@127.0.0.1:5060>;tag=1SIPpTag01{n}\r\n"
        f"Call-ID: {n}-1@127.0.0.1\r\nCSeq: {cseq} {method}\r\n"
        f"Route: {rr}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def answer(request: bytes, status: str, body: str = "") -> bytes:
    """What the SIPp UAS sends back: the request's Via/From/To/Call-ID/CSeq/Record-Route."""
    msg = parse_message(request)
    lines = [f"SIP/2.0 {status}"]
    for name, value in msg:
        if name in ("via", "from", "to", "call-id", "cseq", "record-route"):
            text = value.decode()
            if name == "to" and ";tag=" not in text:
                text += ";tag=uas" + msg.call_id.split("-")[0]
            lines.append(f"{name.title()}: {text}")
    lines.append("Contact: <sip:127.0.0.1:5070;transport=UDP>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class BenchStack(SipStack):
    """The stack on a simulated clock: each call advances it by 1/RATE seconds, so
    transactions and timers live as long as they would at that call rate."""

    clock = 0.0

    @property
    def now(self) -> float:
        return self.clock


RATE = 1000.0  # calls per second simulated


class FakeTransport:
    """Stands in for TransportLayer: records what the stack sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Endpoint]] = []

    def listeners(self) -> list[Endpoint]:
        return [PROXY]

    def local_endpoint(self, transport: str, family_of: str | None = None) -> Endpoint | None:
        return PROXY if transport == "udp" else None

    def send(self, data: bytes, destination: Endpoint) -> None:
        self.sent.append((data, destination))


def one_call(stack: SipStack, fake: FakeTransport, n: int) -> float:
    """Run one call; returns the CPU seconds Trunkline spent (parse + stack), not the peers."""
    spent = 0.0

    def deliver(data: bytes, source: Endpoint) -> None:
        nonlocal spent
        start = time.process_time()
        stack.message_received(parse_message(data), source)  # what the UDP transport does
        spent += time.process_time() - start

    deliver(invite(n), UAC)
    forwarded = next(d for d, e in fake.sent if e == UAS and d.startswith(b"INVITE"))
    fake.sent.clear()
    deliver(answer(forwarded, "200 OK", SDP), UAS)
    ok = next(d for d, e in fake.sent if e.port == 5061)
    rr = parse_message(ok).header_str("record-route") or ""
    fake.sent.clear()
    deliver(in_dialog(n, "ACK", 1, rr), UAC)
    deliver(in_dialog(n, "BYE", 2, rr), UAC)
    bye = next(d for d, e in fake.sent if e == UAS and d.startswith(b"BYE"))
    fake.sent.clear()
    deliver(answer(bye, "200 OK"), UAS)
    assert any(e.port == 5061 and d.startswith(b"SIP/2.0 200") for d, e in fake.sent)
    fake.sent.clear()
    assert isinstance(stack, BenchStack)
    stack.clock += 1 / RATE
    start = time.process_time()
    stack._on_timer()  # what the loop does when the armed deadline passes
    spent += time.process_time() - start
    fake.sent.clear()
    return spent


def build() -> tuple[SipStack, FakeTransport, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    config = parse_config(CONFIG)
    stack = BenchStack(config, loop)
    fake = FakeTransport()
    stack.transport = fake  # type: ignore[assignment]
    stack.app = Proxy(stack, config)
    return stack, fake, loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    tune_gc()  # as trunkline run does
    stack, fake, loop = build()
    for n in range(200):  # warm-up
        one_call(stack, fake, 10_000_000 + n)
    spent = sum(one_call(stack, fake, n) for n in range(args.calls))
    per_call = spent / args.calls * 1e6
    alive = len(stack.transactions)
    print(
        f"{args.calls} calls at a simulated {RATE:.0f}/s: {per_call:.0f} µs CPU per proxied call "
        f"(5 messages in, 5 out; {alive} transactions alive at the end)"
    )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for n in range(args.calls):
            one_call(stack, fake, 20_000_000 + n)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    loop.close()


if __name__ == "__main__":
    main()
