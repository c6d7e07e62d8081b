"""Run the real ``trunkline run`` process and real SIPp peers on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

SCENARIOS = Path(__file__).parent / "scenarios"
READY_TIMEOUT = 20.0

requires_sipp = pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (sip-tester) missing")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no free port")


@dataclass
class Trunkline:
    """A running ``trunkline run`` process; ``stderr`` collects its log."""

    process: subprocess.Popen[bytes]
    config_path: Path
    port: int
    ports: dict[str, int]
    stderr: list[str] = field(default_factory=list)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return "".join(self.stderr)


def start_trunkline(config: dict[str, object], tmp_path: Path) -> Trunkline:
    path = tmp_path / "trunkline.yaml"
    path.write_text(yaml.safe_dump(config))
    ports = {}
    for spec in config.get("listen", []):  # type: ignore[union-attr]
        transport, _rest = str(spec).split(":", 1)
        ports[transport] = int(str(spec).rsplit(":", 1)[1])
    return launch_trunkline(["run", "-c", str(path)], ports, path)


def launch_trunkline(args: list[str], ports: dict[str, int], config_path: Path) -> Trunkline:
    """``python -m trunkline ARGS``; returns once it printed ``trunkline ready``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trunkline", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    tl = Trunkline(proc, config_path, next(iter(ports.values()), 5060), ports)
    _drain(proc.stderr, tl.stderr)
    ready = threading.Event()
    lines: list[str] = []

    def watch() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))
            if raw.startswith(b"trunkline ready"):
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    ready.wait(READY_TIMEOUT)  # safety net only: the event is what we wait for
    if not any(line.startswith("trunkline ready") for line in lines):
        proc.kill()
        proc.wait()
        raise AssertionError(f"trunkline did not start:\n{''.join(lines)}\n{tl.log()}")
    return tl


def _drain(stream: object, sink: list[str]) -> None:
    def pump() -> None:
        for raw in stream:  # type: ignore[attr-defined]
            sink.append(raw.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()


@dataclass
class SippResult:
    returncode: int
    output: str
    successful: int
    failed: int
    retransmissions: int


def sipp_args(
    scenario: str, *, transport: str = "u1", port: int, calls: int = 1, timeout: int = 30
) -> list[str]:
    path = SCENARIOS / scenario if (SCENARIOS / scenario).exists() else None
    base = ["sipp"] + (["-sf", str(path)] if path else ["-sn", scenario])
    trace = ["-trace_msg"] if os.environ.get("TRUNKLINE_SIPP_TRACE") else []
    return [
        *base,
        *trace,
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-t",
        transport,
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        f"{timeout}s",
        "-timeout_error",
        "-max_recv_loops",
        "1000",
    ]


def run_sipp(args: list[str], cwd: Path, timeout: float = 60) -> SippResult:
    """Run a SIPp client to completion; its last argument is the remote host:port."""
    stat = cwd / f"stat-{os.getpid()}-{len(list(cwd.iterdir()))}.csv"
    *options, remote = args
    proc = subprocess.run(
        [*options, "-trace_stat", "-stf", str(stat), "-fd", "1", "-trace_err", remote],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
    )
    output = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    for err in cwd.glob("*_errors.log"):
        output += err.read_text(errors="replace")
    ok = failed = retrans = 0
    if stat.exists():
        rows = stat.read_text().strip().splitlines()
        if len(rows) >= 2:
            header = rows[0].split(";")
            last = rows[-1].split(";")
            col = {name: i for i, name in enumerate(header)}
            ok = int(last[col["SuccessfulCall(C)"]])
            failed = int(last[col["FailedCall(C)"]])
            retrans = int(last[col["Retransmissions(C)"]])
    return SippResult(proc.returncode, output, ok, failed, retrans)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a helper process (SIPp, stunnel) and reap it; kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sipp_server(args: list[str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A SIPp UAS in the background; stopped (and reaped) on exit."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        stop_process(proc)


def wait_listening(transport: str, port: int, host: str = "127.0.0.1") -> None:
    """Return once a peer (SIPp binds before it serves) holds ``port``: UDP by trying to bind
    it, TCP by connecting. Polls in 10 ms steps; SIPp has no readiness signal to await."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind) as s:
            try:
                if transport == "udp":
                    s.bind((host, port))
                else:
                    s.connect((host, port))
                    return
            except OSError:
                if transport == "udp":
                    return
        time.sleep(0.01)
    raise AssertionError(f"nothing listens on {transport} {port}")


# ---- added for the TLS, WebSocket and CLI tests ----------------------------------------------
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")
requires_stunnel = pytest.mark.skipif(
    STUNNEL is None,
    reason="stunnel missing (Debian package stunnel4, installed by scripts/setup): "
    "Debian's SIPp has no TLS, so the TLS tests put it behind stunnel",
)


def contact(port: int, transport: str) -> list[str]:
    """SIPp arguments for uas_contact.xml: the Contact it advertises."""
    return ["-key", "contact_port", str(port), "-key", "contact_transport", transport]


@dataclass(frozen=True)
class TunnelService:
    """One stunnel service on 127.0.0.1. ``client``: accept plain TCP on ``accept`` and connect
    with TLS to ``connect``, verifying the peer against the CA by IP address; else accept TLS
    (presenting the test certificate) and connect plain TCP."""

    name: str
    accept: int
    connect: int
    client: bool

    def section(self, ca: Path, cert: Path, key: Path) -> str:
        lines = [
            f"[{self.name}]",
            f"accept = 127.0.0.1:{self.accept}",
            f"connect = 127.0.0.1:{self.connect}",
        ]
        if self.client:
            lines += ["client = yes", f"CAfile = {ca}", "verifyChain = yes", "checkIP = 127.0.0.1"]
        else:
            lines += [f"cert = {cert}", f"key = {key}"]
        return "\n".join(lines) + "\n"


@contextlib.contextmanager
def stunnel(
    services: list[TunnelService], ca: Path, cert: Path, key: Path, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run stunnel in the foreground until the block ends; returns once every service is bound
    (stunnel logs ``Service [name] ... bound to`` at level 6: an event, no port polling, which
    would open a TLS connection through a client service for nothing)."""
    assert STUNNEL is not None
    conf = cwd / f"stunnel-{'-'.join(s.name for s in services)}.conf"
    glob = "foreground = yes\npid =\ndebug = 6\n"
    conf.write_text(glob + "".join(s.section(ca, cert, key) for s in services))
    proc = subprocess.Popen([STUNNEL, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log: list[str] = []
    bound = threading.Event()
    pending = {s.name for s in services}

    def watch() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace")
            log.append(line)
            for name in list(pending):
                if f"Service [{name}]" in line and "bound to" in line:
                    pending.discard(name)
            if not pending:
                bound.set()
        bound.set()  # exited: let the caller see why

    threading.Thread(target=watch, daemon=True).start()
    try:
        bound.wait(READY_TIMEOUT)  # safety net only
        if pending or proc.poll() is not None:
            raise AssertionError(f"stunnel did not start:\n{''.join(log)}")
        yield proc
    finally:
        stop_process(proc)


def wait_for_log(tl: Trunkline, text: str, timeout: float = READY_TIMEOUT) -> None:
    """Return once ``text`` appeared in the server's log (stderr). Polls in 10 ms steps: the
    log is the only sign a separate process gives of, e.g., having started to drain."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in tl.log():
            return
        if not tl.alive():
            break
        time.sleep(0.01)
    raise AssertionError(f"{text!r} not in the trunkline log:\n{tl.log()[-4000:]}")
