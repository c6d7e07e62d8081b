"""RFC 4475 torture messages and the PROTOS c07-sip cases sent over UDP to a running server.

Answers go where RFC 3261 §18.2.2 says: the Vias name 192.0.2.x / example.com hosts, so a
correct server adds ``received=127.0.0.1`` and answers at 127.0.0.1 on the Via's port (5060
unless the Via names one). The test listens there. Datagrams on loopback arrive in order and
the server handles them in order, so an OPTIONS ping's 200 marks that every earlier message has
been dealt with: what has not been answered by then never will be.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.conformance import protos
from tests.interop.harness import free_port
from trunkline.sip.message import Response
from trunkline.sip.parser import parse_message

RFC4475 = Path(__file__).parent.parent / "conformance" / "rfc4475"

# What this server (a proxy with no routes, on its embedded policy) must answer; None = drop.
# 403: not ours and no route (no open relay); 501: methods Trunkline does not know.
# mpart01 names a loopback Route (127.0.0.1:5080): followed (loopback is trusted by default),
# too large for UDP so over TCP (§18.1.1), refused there: 503, answered as 500 (§16.7 step 6).
EXPECTED: dict[str, int | None] = {
    "wsinv": 403, "intmeth": 501, "esc01": 403, "escnull": 403, "esc02": 501,
    "lwsdisp": 403, "longreq": 403, "dblreq": 403, "semiuri": 403, "transports": 403,
    "mpart01": 500, "unreason": None, "noreason": None,
    "badinv01": 400, "clerr": 400, "ncl": 400, "scalar02": 400, "scalarlg": None,
    "quotbal": 400, "ltgtruri": 400, "lwsruri": 400, "lwsstart": 400, "trws": 400,
    "escruri": 400, "baddate": 403, "regbadct": 400, "badaspec": 400, "baddn": 400,
    "badvers": 505, "mismatch01": 400, "mismatch02": 501, "bigcode": None,
    "badbranch": 403, "insuf": 400, "unkscm": 416, "novelsc": 416, "unksm2": 403,
    "bext01": 420, "invut": 403, "regaut01": 403, "multi01": 400, "mcl01": 400,
    "bcast": None, "zeromf": 483, "cparam01": 403, "cparam02": 403, "regescrt": 403,
    "sdp01": 403, "inv2543": 403,
}  # fmt: skip
VIA_PORT = re.compile(rb"^(?:Via|v)\s*:\s*SIP\s*/\s*2\.0\s*/\s*\w+\s+[^;:\s,]+:(\d+)", re.I | re.M)
CALL_ID = re.compile(rb"^(?:Call-ID|i)\s*:\s*(\S+)", re.I | re.M)


def _key(message: bytes) -> bytes:
    """What identifies a message's answers: its Call-ID, or its Via branch when it has none."""
    m = CALL_ID.search(message)
    if m is not None:
        return m.group(1)
    branch = re.search(rb"branch=([^;\s,]+)", message)
    assert branch is not None
    return branch.group(1)


def load(name: str) -> bytes:
    return (RFC4475 / f"{name}.dat").read_bytes()


class Listener:
    """The test's UDP socket on 127.0.0.1:<port>, sending and collecting answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.settimeout(10)  # safety net: every wait below is for a datagram we expect
        self.port = port
        self.received: list[bytes] = []
        self._ping = 0

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    def ping(self, server_port: int) -> None:
        """OPTIONS to the server; returns once its 200 arrived (all earlier ones came first).

        Like any UAC on UDP it retransmits (RFC 3261 Timer E): after a burst the kernel may
        have dropped the request at a full receive buffer."""
        self._ping += 1
        call_id = f"ping-{self._ping}-{self.port}"
        request = options(call_id, self.port, server_port)
        self.sock.settimeout(0.5)
        try:
            for _attempt in range(20):
                self.send(request, server_port)
                try:
                    while True:
                        data = self.sock.recv(65535)
                        if call_id.encode() in data and data.startswith(b"SIP/2.0 200"):
                            return
                        self.received.append(data)
                except TimeoutError:
                    continue
            raise AssertionError("the server stopped answering OPTIONS")
        finally:
            self.sock.settimeout(10)

    def wait_for(self, key: bytes) -> list[int]:
        """Statuses of the answers carrying ``key``, waiting for the first one to arrive."""
        while True:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return []
            self.received.append(data)
            if key in data:
                return [int(data.split(b" ", 2)[1])]

    def close(self) -> None:
        self.sock.close()


def options(call_id: str, local_port: int, server_port: int) -> bytes:
    return (
        f"OPTIONS sip:127.0.0.1:{server_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:test@127.0.0.1>;tag=t\r\nTo: <sip:127.0.0.1:{server_port}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _start(trunkline):  # type: ignore[no-untyped-def]
    port = free_port()
    return trunkline({"listen": [f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"]})


@pytest.fixture
def server(trunkline):  # type: ignore[no-untyped-def]
    return _start(trunkline)


def transaction_key(name: str) -> tuple[bytes, bytes]:
    """(top Via, method): RFC 4475 reuses branches, and two messages with the same branch,
    sent-by and method are one transaction (§17.2.3): the second is a retransmission."""
    data = load(name)
    via = re.search(rb"(?im)^(?:via|v)\s*:([^\r\n]*)", data)
    return (via.group(1) if via else name.encode(), data.split(b" ", 1)[0])


def groups_without_collisions(names: list[str]) -> list[list[str]]:
    groups: list[tuple[set[tuple[bytes, bytes]], list[str]]] = []
    for name in names:
        key = transaction_key(name)
        for keys, members in groups:
            if key not in keys:
                keys.add(key)
                members.append(name)
                break
        else:
            groups.append(({key}, [name]))
    return [members for _keys, members in groups]


def test_every_rfc4475_message_gets_the_answer_the_rfc_asks_for(trunkline) -> None:  # type: ignore[no-untyped-def]
    names = sorted(p.stem for p in RFC4475.glob("*.dat"))
    assert set(EXPECTED) == set(names) - {"test"}, "every RFC 4475 message has an expectation"
    # Answers go to the Via's port: 5060 unless named, 5061 for a Via that says TLS.
    ports = {5060, 5061} | {int(m) for n in names for m in VIA_PORT.findall(load(n))}
    listeners = {p: Listener(p) for p in sorted(ports)}
    wrong: dict[str, tuple[int | None, list[int]]] = {}
    try:
        for group in groups_without_collisions(sorted(EXPECTED)):
            server = _start(trunkline)
            for listener in listeners.values():
                listener.received.clear()
            for name in group:
                listeners[5060].send(load(name), server.port)
            for listener in listeners.values():
                listener.ping(server.port)
            received = [d for lst in listeners.values() for d in lst.received]
            for name in group:
                status = EXPECTED[name]
                key = _key(load(name))
                got = sorted({int(d.split(b" ", 2)[1]) for d in received if key in d})
                if status is not None and not got:  # answered later (a failed connect, say)
                    got = listeners[5060].wait_for(key)
                if got != ([] if status is None else [status]):
                    wrong[name] = (status, got)
            # dblreq: the trailing INVITE octets are ignored, so exactly one answer.
            if "dblreq" in group:
                assert len([d for d in received if b"dblreq" in d]) == 1
            assert server.alive()
            listeners[5060].ping(server.port)  # and it keeps answering
        assert wrong == {}, "expected vs got: " + repr(wrong)
    finally:
        for listener in listeners.values():
            listener.close()


def test_answers_to_broken_requests_are_well_formed(server) -> None:  # type: ignore[no-untyped-def]
    listener = Listener(5060)
    try:
        for name in ("badinv01", "ltgtruri", "badvers", "multi01", "unkscm"):
            listener.send(load(name), server.port)
        listener.ping(server.port)
        assert len(listener.received) == 5
        for data in listener.received:
            resp = parse_message(data)
            assert isinstance(resp, Response)
            assert resp.status in (400, 505, 416)
            assert resp.to_tag is not None, "a final answer carries a To tag (§8.2.6.2)"
    finally:
        listener.close()


def test_protos_c07_sip_cases_over_udp(server) -> None:  # type: ignore[no-untyped-def]
    directory = protos.cases_dir()
    if directory is None:
        pytest.skip(f"PROTOS suite not available: set {protos.ENV_VAR} (CI sets it)")
    port = free_port()
    listener = Listener(port)
    target = protos.Target(to=f"receiver@127.0.0.1:{server.port}", local_port=port)
    try:
        oversized = sent = 0
        for case, invite, teardown in protos.iter_cases(directory, target):
            for data in (invite, teardown):
                sent += 1
                if len(data) > 65000:  # cannot be a datagram: the same bytes over TCP
                    oversized += 1
                    with socket.create_connection(("127.0.0.1", server.port), 10) as tcp:
                        tcp.sendall(data)
                else:
                    listener.send(data, server.port)
            if case % 20 == 19:  # keep pace with the server and prove it is still alive
                listener.ping(server.port)
                listener.received.clear()
        listener.ping(server.port)
        assert server.alive()
        assert sent == 2 * protos.CASE_COUNT
        assert oversized < sent // 20, "the cases are meant for UDP: only a few go over TCP"
    finally:
        listener.close()
