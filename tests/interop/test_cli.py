"""The ``trunkline`` command: config checking, embedded defaults, answers Trunkline gives itself
(OPTIONS, 501, 404, 403, parse errors), the SIGTERM drain, and ``trunkline parse``."""

from __future__ import annotations

import re
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.harness import (
    free_port,
    launch_trunkline,
    requires_sipp,
    sipp_args,
    sipp_server,
    wait_for_log,
)

ROOT = Path(__file__).parents[2]
RFC4475 = ROOT / "tests" / "conformance" / "rfc4475"
TIMEOUT = 10.0  # safety net for answers we expect; never a timing assertion
RETRANSMIT = 0.5  # RFC 3261 T1: a UDP client retransmits, as any UAC would


def trunkline_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trunkline", *args],
        capture_output=True,
        text=True,
        timeout=timeout,  # safety net: every command here ends on its own at once
        cwd=ROOT,
    )


# ---- a minimal SIP client ------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    text: str

    def header(self, name: str) -> str | None:
        m = re.search(rf"^{name}[ \t]*:[ \t]*(.*?)\r$", self.text, re.I | re.M)
        return None if m is None else m.group(1)


class SipClient:
    """Sends requests from its own socket (UDP or TCP) and collects the answers."""

    def __init__(self, transport: str, server_port: int, server_host: str = "127.0.0.1") -> None:
        self.transport = transport
        self.server = (server_host, server_port)
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.settimeout(RETRANSMIT if transport == "udp" else TIMEOUT)
        if transport == "udp":
            self.sock.bind(("127.0.0.1", 0))
        else:
            self.sock.connect(self.server)
        self.port = self.sock.getsockname()[1]
        self._buffer = b""
        self._last = b""

    def close(self) -> None:
        self.sock.close()

    def request(
        self,
        method: str,
        uri: str,
        *,
        call_id: str | None = None,
        branch: str | None = None,
        cseq: int = 1,
        cseq_method: str | None = None,
        to: str | None = None,
        version: str = "SIP/2.0",
    ) -> bytes:
        branch = branch or f"z9hG4bK{secrets.token_hex(6)}"
        lines = [
            f"{method} {uri} {version}",
            f"Via: SIP/2.0/{self.transport.upper()} 127.0.0.1:{self.port};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:alice@127.0.0.1:{self.port}>;tag=cli{self.port}",
            f"To: {to or '<' + uri + '>'}",
            f"Call-ID: {call_id or secrets.token_hex(8)}",
            f"CSeq: {cseq} {cseq_method or method}",
            f"Contact: <sip:alice@127.0.0.1:{self.port}>",
            "Content-Length: 0",
            "",
            "",
        ]
        return "\r\n".join(lines).encode()

    def send(self, data: bytes) -> None:
        self._last = data
        if self.transport == "udp":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def receive(self) -> Answer:
        """The next response; over UDP the last request is retransmitted while none comes."""
        tries = int(TIMEOUT / RETRANSMIT)
        for _ in range(tries):
            try:
                data = self._read()
            except TimeoutError:
                if self.transport == "udp" and self._last:
                    self.sock.sendto(self._last, self.server)
                    continue
                raise
            text = data.decode(errors="replace")
            m = re.match(r"SIP/2\.0 (\d{3}) ", text)
            if m is not None:
                return Answer(int(m.group(1)), text)
        raise AssertionError("no answer")

    def final(self, expected_cseq: str | None = None) -> Answer:
        """The next final response (for ``expected_cseq`` when given)."""
        while True:
            answer = self.receive()
            if answer.status < 200:
                continue
            if expected_cseq is None or answer.header("CSeq") == expected_cseq:
                return answer

    def _read(self) -> bytes:
        if self.transport == "udp":
            return self.sock.recv(65535)
        while True:
            head, sep, rest = self._buffer.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"^Content-Length\s*:\s*(\d+)", head, re.I | re.M)
                length = int(m.group(1)) if m else 0
                if len(rest) >= length:
                    self._buffer = rest[length:]
                    return head + sep + rest[:length]
            chunk = self.sock.recv(65535)
            if not chunk:
                raise AssertionError("connection closed")
            self._buffer += chunk


def proxy_config(port: int, routes: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {
        "listen": [f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"],
        "proxy": {"routes": routes or []},
        "log": {"level": "info"},
    }


# ---- config checking -------------------------------------------------------------------------
def test_bad_config_is_refused_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "listen:\n"
        "  - udp:127.0.0.1:5060\n"
        "proxy:\n"
        "  routes:\n"
        "    - targets: ['sip:127.0.0.1:5070']\n"
        "      fork: sideways\n"
    )
    result = trunkline_cli("run", "-c", str(bad))
    assert result.returncode != 0
    assert result.stdout == ""  # never got as far as "trunkline ready"
    assert f"{bad}:6: proxy.routes.0.fork: Input should be 'serial' or 'parallel'" in (
        result.stderr
    ), result.stderr


def test_bad_yaml_is_refused_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen:\n  - udp:127.0.0.1:5060\n  tls: {\n")
    result = trunkline_cli("run", "-c", str(bad))
    assert result.returncode != 0
    assert re.search(rf"^trunkline: {re.escape(str(bad))}:3: invalid YAML: ", result.stderr, re.M)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    result = trunkline_cli("run", "-c", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    assert "nope.yaml: cannot read" in result.stderr


def test_check_accepts_a_good_config(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("listen: [udp:127.0.0.1:5999]\nlog: {level: warning}\n")
    result = trunkline_cli("run", "--check", "-c", str(good))
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{good}: ok\n", "")


def test_check_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("log:\n  level: loud\n")
    result = trunkline_cli("run", "--check", "-c", str(bad))
    assert result.returncode != 0
    assert f"{bad}:2: log.level:" in result.stderr


def test_check_of_the_examples() -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        result = trunkline_cli("run", "--check", "-c", str(example))
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith(": ok\n")


def test_check_without_a_file_checks_the_defaults() -> None:
    result = trunkline_cli("run", "--check")
    assert (result.returncode, result.stdout) == (0, "embedded defaults: ok\n")


# ---- embedded defaults ---------------------------------------------------------------------
def _busy(kind: socket.SocketKind, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_run_without_config_serves_udp_and_tcp_on_5060() -> None:
    if _busy(socket.SOCK_DGRAM, 5060) or _busy(socket.SOCK_STREAM, 5060):
        pytest.skip("127.0.0.1:5060 is in use on this machine (another SIP server?)")
    tl = launch_trunkline(["run"], {"udp": 5060, "tcp": 5060}, Path())
    try:
        for transport in ("udp", "tcp"):
            client = SipClient(transport, 5060)
            try:
                client.send(client.request("OPTIONS", "sip:127.0.0.1:5060"))
                answer = client.final()
            finally:
                client.close()
            assert answer.status == 200, answer.text
            assert "OPTIONS" in (answer.header("Allow") or "")
            assert answer.header("Accept") == "application/sdp"
            assert answer.header("Supported") is not None
            via = answer.header("Via") or ""
            assert f";rport={client.port}" in via and "received=127.0.0.1" in via, via
    finally:
        assert tl.stop() == 0, tl.log()


# ---- what Trunkline answers itself -----------------------------------------------------------
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_to_trunkline(trunkline, transport: str) -> None:
    port = free_port()
    trunkline(proxy_config(port))
    client = SipClient(transport, port)
    try:
        client.send(client.request("OPTIONS", f"sip:127.0.0.1:{port}"))
        answer = client.final()
    finally:
        client.close()
    assert answer.status == 200, answer.text
    allow = {m.strip() for m in (answer.header("Allow") or "").split(",")}
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"} <= allow
    assert answer.header("Accept") == "application/sdp"
    assert answer.header("Supported") is not None


@pytest.mark.parametrize(
    ("method", "uri", "status"),
    [
        ("FROBNICATE", "sip:{addr}", 501),  # unknown method
        ("FROBNICATE", "sip:nobody@example.org", 501),
        ("INVITE", "sip:nobody@{addr}", 404),  # our address, unknown user, no routes
        ("MESSAGE", "sip:nobody@{addr}", 404),
        ("OPTIONS", "sip:nobody@{addr}", 404),  # a user at Trunkline that does not exist
        ("OPTIONS", "sip:bob@example.org", 403),  # not ours: no open relay
        ("INVITE", "sip:bob@example.org", 403),
    ],
)
def test_what_trunkline_cannot_route(trunkline, method: str, uri: str, status: int) -> None:
    port = free_port()
    trunkline(proxy_config(port))
    client = SipClient("udp", port)
    uri = uri.format(addr=f"127.0.0.1:{port}")
    try:
        client.send(client.request(method, uri))
        answer = client.final()
        if method == "INVITE":  # §17.1.1.3: a non-2xx final answer to an INVITE is ACKed
            branch = re.search(r"branch=([^;\s]+)", answer.header("Via") or "")
            assert branch is not None
            ack = client.request(
                "ACK",
                uri,
                branch=branch.group(1),
                call_id=answer.header("Call-ID"),
                to=answer.header("To"),
            )
            client.send(ack)
    finally:
        client.close()
    assert answer.status == status, answer.text
    if status == 501:
        assert "INVITE" in (answer.header("Allow") or "")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_malformed_request_gets_the_parse_errors_status(trunkline, transport: str) -> None:
    port = free_port()
    trunkline(proxy_config(port))
    client = SipClient(transport, port)
    try:
        client.send(client.request("OPTIONS", f"sip:127.0.0.1:{port}", version="SIP/7.0"))
        answer = client.final()
        # ...and the server is still there for the next, well-formed one
        client.send(client.request("OPTIONS", f"sip:127.0.0.1:{port}"))
        again = client.final()
    finally:
        client.close()
    assert answer.status == 505, answer.text
    assert again.status == 200


# ---- SIGTERM: drain ------------------------------------------------------------------------
@requires_sipp
def test_sigterm_drains_a_ringing_call_then_exits_0(trunkline, tmp_path: Path) -> None:
    """SIGTERM while a call rings: new calls get 503, the ringing one still gets its answer
    (here a 487 after our CANCEL), then the process exits 0 by itself."""
    port, uas_port = free_port(), free_port()
    tl = trunkline(proxy_config(port, [{"targets": [f"sip:127.0.0.1:{uas_port}"]}]))
    client = SipClient("udp", port)
    with sipp_server(sipp_args("uas_ring.xml", port=uas_port), tmp_path) as uas:
        try:
            uri = f"sip:bob@127.0.0.1:{port}"
            call_id, branch = f"ring-{secrets.token_hex(4)}", f"z9hG4bK{secrets.token_hex(6)}"
            client.send(client.request("INVITE", uri, call_id=call_id, branch=branch))
            while (ringing := client.receive()).status != 180:
                assert ringing.status == 100, ringing.text

            tl.process.send_signal(signal.SIGTERM)
            wait_for_log(tl, "draining")
            assert tl.alive()  # the ringing call holds it

            client.send(client.request("INVITE", uri, call_id="late"))
            refused = client.final()
            assert refused.status == 503, refused.text
            assert refused.header("Retry-After") is not None
            ack_branch = re.search(r"branch=([^;\s]+)", refused.header("Via") or "")
            assert ack_branch is not None
            client.send(
                client.request(
                    "ACK",
                    uri,
                    call_id="late",
                    branch=ack_branch.group(1),
                    to=refused.header("To"),
                )
            )
            assert tl.alive()

            client.send(
                client.request("CANCEL", uri, call_id=call_id, branch=branch, cseq_method="CANCEL")
            )
            assert client.final("1 CANCEL").status == 200
            terminated = client.final("1 INVITE")
            assert terminated.status == 487, terminated.text
            client.send(
                client.request(
                    "ACK", uri, call_id=call_id, branch=branch, to=terminated.header("To")
                )
            )
            assert tl.process.wait(timeout=40) == 0, tl.log()  # safety net: DRAIN_TIMEOUT is 32
            assert uas.wait(timeout=TIMEOUT) == 0
        finally:
            client.close()
    assert "stopped" in tl.log()


# ---- trunkline parse -----------------------------------------------------------------------
def test_parse_a_valid_torture_message() -> None:
    result = trunkline_cli("parse", str(RFC4475 / "wsinv.dat"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{RFC4475 / 'wsinv.dat'}: valid INVITE, Call-ID wsinv.ndaksdj@192.0.2.1, 150 body bytes\n"
    )


def test_parse_reports_the_status_a_server_would_answer() -> None:
    files = [RFC4475 / "esc01.dat", RFC4475 / "badvers.dat"]
    result = trunkline_cli("parse", *map(str, files))
    assert result.returncode == 1
    valid, invalid = result.stdout.splitlines()
    assert valid.startswith(f"{files[0]}: valid INVITE")
    assert invalid.startswith(f"{files[1]}: 505 Version Not Supported")


def test_parse_from_stdin() -> None:
    data = (RFC4475 / "badvers.dat").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "trunkline", "parse", "-"],
        input=data,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stdout.startswith(b"-: 505 ")
