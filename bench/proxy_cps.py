"""Proxy-mode calls per second: Trunkline against Kamailio, alternated in one run.

Run through ``bench/proxy_cps.sh`` (see ``bench/README.md``). For each offered rate, Trunkline
(``python -m trunkline run -c examples/bench-proxy.yaml``) and Kamailio
(``bench/cps/kamailio-proxy.cfg``) each get a fresh start on 127.0.0.1:5060 and one run of
``bench/cps/cps.sh RATE RATE*SECONDS`` (SIPp UAC -> server -> SIPp UAS on 127.0.0.1:5070),
one server after the other, so both see the same machine load. A step is clean when SIPp saw
no failed call and no retransmission; a server's clean rate is its highest clean step.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import filecmp
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "bench" / "cps"
SHARED = REPO.parent / "shared" / "bench"
HARNESS_FILES = ("cps.sh", "uac.xml", "uas.xml", "kamailio-proxy.cfg")
LADDER = (100, 200, 400, 600, 800, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000)
QUICK_LADDER = (100, 400, 1000)
PORTS = (5060, 5061, 5070)  # server, SIPp UAC, SIPp UAS (all on 127.0.0.1)
NAMES = {"trunkline": "Trunkline", "kamailio": "Kamailio"}


@dataclasses.dataclass
class Step:
    server: str
    rate: int
    calls: int
    fields: dict[str, str]
    note: str = ""

    def num(self, key: str) -> float | None:
        try:
            return float(self.fields[key])
        except (KeyError, ValueError):
            return None

    @property
    def clean(self) -> bool:
        return (
            not self.note
            and self.num("failed") == 0
            and self.num("retrans") == 0
            and self.num("ok") == self.calls
        )


class Server:
    """One server process (group) holding 127.0.0.1:5060, started fresh for each step."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name, self.argv, self.log = name, argv, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        wait_ports_free(PORTS)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not sip_ping():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} at start; "
                    f"log:\n{tail(self.log)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} does not answer on 127.0.0.1:5060 after "
                    f"{timeout:.0f} s; log:\n{tail(self.log)}"
                )
            time.sleep(0.05)

    def pids(self) -> list[int]:
        """The main process and its children (Kamailio forks its workers and timers)."""
        assert self.proc is not None
        return [self.proc.pid, *children(self.proc.pid)]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        kill_group(self.proc, grace=5.0)
        self.proc = None


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process, its group and all its descendants, SIGKILL them after `grace` s.

    Descendants are signalled one by one too: cps.sh runs SIPp under `timeout`, which puts
    itself in a process group of its own."""
    tree = [proc.pid, *descendants(proc.pid)]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()  # reap our child so it does not count as alive
            tree = [pid for pid in tree if running(pid)]
            if not tree:
                return
            time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    kids = children(pid)
    return [p for k in kids for p in (k, *descendants(k))]


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_ports_free(ports: tuple[int, ...], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while busy := [p for p in ports if not port_free(p)]:
        if time.monotonic() > deadline:
            who = subprocess.run(["ss", "-ulnp"], capture_output=True, text=True).stdout
            raise RuntimeError(f"UDP 127.0.0.1 port(s) {busy} busy; ss -ulnp:\n{who}")
        time.sleep(0.1)


def sip_ping() -> bool:
    """OPTIONS with Max-Forwards 0 to 127.0.0.1:5060; any response means it is listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        msg = (
            f"OPTIONS sip:ping@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ping{time.monotonic_ns()}\r\n"
            f"From: <sip:bench@127.0.0.1:{port}>;tag=ping\r\nTo: <sip:ping@127.0.0.1>\r\n"
            f"Call-ID: ping-{time.monotonic_ns()}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
            f"Max-Forwards: 0\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        s.settimeout(0.2)
        try:
            s.sendto(msg, ("127.0.0.1", 5060))
            return s.recv(65536).startswith(b"SIP/2.0 ")
        except OSError:  # timeout, or ICMP port unreachable before the server binds
            return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_cps(
    harness: Path, step_dir: Path, rate: int, calls: int, pids: list[int], hold_ms: int
) -> dict[str, str]:
    env = dict(
        os.environ, KEEP=str(step_dir), TARGET_PIDS=" ".join(map(str, pids)), HOLD_MS=str(hold_ms)
    )
    proc = subprocess.Popen(
        [str(harness / "cps.sh"), str(rate), str(calls)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=calls / rate + hold_ms / 1000 + 330)
    except BaseException:
        kill_group(proc, grace=1.0)  # SIPp UAC and UAS run in cps.sh's process group
        raise
    text = out.decode(errors="replace")
    (step_dir / "cps.out").write_text(text)
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return dict(re.findall(r"(\w+)=(\S*)", line))


def kamailio_cfg(cfg: Path, work: Path) -> Path:
    """The cfg itself, or a copy with `mpath` pointing at where this system keeps tm.so."""
    text = cfg.read_text()
    m = re.search(r'mpath="([^"]*)"', text)
    if not m or Path(m.group(1), "tm.so").exists():
        return cfg
    found = sorted(Path("/usr").glob("lib*/**/kamailio/modules/tm.so"))
    if not found:
        raise RuntimeError(
            f"Kamailio's tm.so is not in {m.group(1)} nor under /usr/lib*: "
            "install Debian's kamailio (scripts/setup)"
        )
    patched = work / cfg.name
    patched.write_text(text.replace(m.group(0), f'mpath="{found[0].parent}/"'))
    return patched


def check_harness(harness: Path) -> None:
    if harness == HARNESS and SHARED.is_dir():
        differ = [
            f
            for f in HARNESS_FILES
            if (SHARED / f).exists() and not filecmp.cmp(SHARED / f, HARNESS / f, shallow=False)
        ]
        if differ:
            print(
                f"warning: bench/cps/ differs from {SHARED} in {', '.join(differ)}: "
                "figures may not compare with the reference ones",
                file=sys.stderr,
            )


def fmt(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def step_row(i: int, s: Step) -> str:
    verdict = "clean" if s.clean else (s.note or "FAIL")
    return (
        f"{i:>4}  {NAMES[s.server]:<10}{s.rate:>7}{s.calls:>7}{fmt(s.num('ok')):>8}"
        f"{fmt(s.num('failed')):>8}{fmt(s.num('retrans')):>9}{fmt(s.num('ooc')):>6}"
        f"{fmt(s.num('cps'), 1):>9}{fmt(s.num('cpu_us_per_call')):>10}  {verdict}"
    )


HEADER = (
    f"{'step':>4}  {'server':<10}{'offered':>7}{'calls':>7}{'ok':>8}{'failed':>8}"
    f"{'retrans':>9}{'ooc':>6}{'cps':>9}{'cpu µs':>10}  result\n"
    f"{'':>4}  {'':<10}{'/s':>7}{'':>7}{'':>8}{'':>8}{'':>9}{'':>6}"
    f"{'achieved':>9}{'/call':>10}\n" + "-" * 90
)


def clean_rate(steps: list[Step], server: str) -> int | None:
    rates = [s.rate for s in steps if s.server == server and s.clean]
    return max(rates) if rates else None


def summary(steps: list[Step], servers: list[str], info: dict[str, str]) -> None:
    print("\nSummary")
    rates = {srv: clean_rate(steps, srv) for srv in servers}
    for srv in servers:
        r = rates[srv]
        print(
            f"  {NAMES[srv]:<10} clean rate {fmt(r) if r else 'none'}"
            f"{'/s' if r else ''}  ({info[srv]})"
        )
    if len(servers) < 2:
        return
    t, k = rates["trunkline"], rates["kamailio"]
    if t and k:
        verdict = "PASS" if t >= k else "MISS"
        print(
            f"  clean rate Trunkline/Kamailio: {t}/{k} = {t / k:.2f}  (target >= 1.00: {verdict})"
        )
    else:
        print("  clean rate Trunkline/Kamailio: n/a (a server had no clean step)")
    by = {(s.server, s.rate): s for s in steps}
    common = sorted(
        r
        for (srv, r), s in by.items()
        if srv == "trunkline"
        and s.clean
        and (st := by.get(("kamailio", r))) is not None
        and st.clean
    )
    if not common:
        print("  CPU per call: no rate was clean for both")
        return
    for r in sorted({common[0], common[-1]}):
        tc, kc = (
            by[("trunkline", r)].num("cpu_us_per_call"),
            by[("kamailio", r)].num("cpu_us_per_call"),
        )
        ratio = f"{tc / kc:.2f}" if tc and kc else "n/a"
        label = "highest" if r == common[-1] else "lowest"
        print(
            f"  CPU per call at {r}/s ({label} rate clean for both): Trunkline {fmt(tc)} µs, "
            f"Kamailio {fmt(kc)} µs, Trunkline/Kamailio = {ratio}"
        )


def profile(args: argparse.Namespace, work: Path, rate: int) -> None:
    """Trunkline at `rate` under py-spy; prints where its CPU time goes."""
    pyspy = shutil.which("py-spy")
    if not pyspy:
        print("\nprofile: py-spy not found (pip install py-spy)", file=sys.stderr)
        return
    out_dir = work / "profile"
    out_dir.mkdir(exist_ok=True)
    server = trunkline_server(args, out_dir / "trunkline.log")
    raw = out_dir / "trunkline-profile.txt"
    calls = int(rate * (args.profile_seconds + 3))
    argv = [
        pyspy,
        "record",
        "--duration",
        str(args.profile_seconds),
        "--rate",
        "250",
        "--function",
        "--format",
        "raw",
        "-o",
        str(raw),
    ]
    if not args.profile_python_only:
        argv.append("--native")  # shows the cyclic GC, syscalls and uvloop's C code
    print(f"\nProfile: Trunkline at {rate}/s, {shlex.join(argv[1:])} --pid PID", flush=True)
    try:
        server.start()
        pid = server.pids()[0]
        with open(out_dir / "py-spy.log", "wb") as spy_log:
            spy = subprocess.Popen(
                [*argv, "--pid", str(pid)],
                stdout=subprocess.DEVNULL,
                stderr=spy_log,
                start_new_session=True,
            )
        try:
            time.sleep(0.3)  # py-spy starts within the run's first second
            fields = run_cps(args.harness, out_dir, rate, calls, [pid], args.hold_ms)
            spy.wait(timeout=args.profile_seconds + 30)
        finally:
            if spy.poll() is None:
                kill_group(spy, grace=2.0)
    finally:
        server.stop()
    st = Step("trunkline", rate, calls, fields)
    print("  under the profiler: " + step_row(0, st).split(None, 1)[1])
    if not raw.exists():
        print(f"  py-spy wrote nothing: {tail(out_dir / 'py-spy.log')}")
        return
    prof = collapse(raw)
    busy = prof.total - prof.idle
    if not busy:
        print("  no busy samples")
        return
    print(
        f"  {prof.total} samples at 250/s, {prof.idle} idle (waiting in epoll) left out; "
        f"percentages are of the {busy} busy samples. Raw stacks: {raw}"
    )
    top = args.profile_top
    tables = (
        ("own time, innermost frame (C frames included)", prof.own, ()),
        ("own time, C frames charged to their Python caller (GC apart)", prof.own_py, ()),
        (
            "total time, Python functions (with what they call)",
            prof.incl,
            {f for f, n in prof.incl.items() if n >= 0.98 * busy or not PY_FRAME.search(f)},
        ),
    )
    for title, table, skip in tables:
        print(f"\n  Top {top} by {title}:")
        rows = [(f, n) for f, n in table.most_common() if f not in skip][:top]
        for name, n in rows:
            print(f"  {100 * n / busy:6.1f}%  {name}")


IDLE = re.compile(r"^(epoll_p?wait|epoll_wait|__GI_epoll_pwait|poll|select) ")
PY_FRAME = re.compile(r"\.py:\d+\)$|\(<string>:\d+\)$|\(<frozen ")
GC_FRAME = re.compile(r"^(gc_collect\w*|collect|_PyObject_GC_\w+|gc_\w+) ")


@dataclasses.dataclass
class Profile:
    own: collections.Counter[str]
    own_py: collections.Counter[str]
    incl: collections.Counter[str]
    total: int
    idle: int


def collapse(raw: Path) -> Profile:
    """py-spy's collapsed stacks -> own and inclusive samples per frame, idle apart."""
    prof = Profile(collections.Counter(), collections.Counter(), collections.Counter(), 0, 0)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [short(f) for f in stack.split(";")[1:]]  # [0] is the process/thread
        if not frames:
            continue
        prof.total += n
        if IDLE.match(frames[-1]):
            prof.idle += n
            continue
        prof.own[frames[-1]] += n
        for f in set(frames):
            prof.incl[f] += n
        gc = next((f for f in frames if GC_FRAME.match(f)), None)
        py = next((f for f in reversed(frames) if PY_FRAME.search(f)), frames[-1])
        prof.own_py["[cyclic GC, gc_collect_main]" if gc else py] += n
    return prof


def short(frame: str) -> str:
    """'f (/work/main/trunkline/x.py:12)' -> 'f (trunkline/x.py:12)', likewise stdlib."""
    m = re.match(r"(.*) \((.*)\)$", frame)
    if not m:
        return frame
    path = m.group(2).replace(f"{REPO}/", "")
    path = re.sub(r"^.*/site-packages/", "", path)
    path = re.sub(r"^.*/lib/python3\.\d+/", "", path)
    return f"{m.group(1)} ({path})"


def trunkline_server(args: argparse.Namespace, log: Path) -> Server:
    return Server("Trunkline", [args.python, "-m", "trunkline", "run", "-c", str(args.config)], log)


def kamailio_server(cfg: Path, log: Path) -> Server:
    argv = ["kamailio", "-f", str(cfg), "-DD", "-E", "-x", "tlsf", "-m", "512"]
    return Server("Kamailio", argv, log)


def ladder(args: argparse.Namespace) -> Iterator[int]:
    rates = args.rates or (QUICK_LADDER if args.quick else LADDER)
    return (r for r in rates if r <= args.max_rate)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: rates {QUICK_LADDER}, 2 s per step, stop at a failure",
    )
    p.add_argument("--max-rate", type=int, default=10**9, help="highest offered rate")
    p.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        help=f"comma-separated offered rates (default {','.join(map(str, LADDER))})",
    )
    p.add_argument("--seconds", type=float, help="seconds of calls per step (5; quick: 2)")
    p.add_argument("--hold-ms", type=int, default=500, help="call length (500)")
    p.add_argument(
        "--stop-after", type=int, help="stop a server after N unclean steps in a row (2; quick: 1)"
    )
    p.add_argument(
        "--servers",
        default="trunkline,kamailio",
        help="which servers, in the order they alternate (trunkline,kamailio)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=REPO / "examples" / "bench-proxy.yaml",
        help="Trunkline's config (examples/bench-proxy.yaml)",
    )
    p.add_argument("--kamailio-cfg", type=Path, default=HARNESS / "kamailio-proxy.cfg")
    p.add_argument(
        "--harness",
        type=Path,
        default=HARNESS,
        help="folder with cps.sh, uac.xml, uas.xml (bench/cps)",
    )
    p.add_argument("--python", default=sys.executable, help="Python that runs Trunkline")
    p.add_argument(
        "--keep",
        type=Path,
        help="folder for SIPp outputs and server logs "
        "(default: a new /tmp/trunkline-proxy-cps.* folder)",
    )
    p.add_argument(
        "--keep-all",
        action="store_true",
        help="keep the outputs of clean steps too (default: only unclean ones)",
    )
    p.add_argument(
        "--profile",
        nargs="?",
        const=0,
        type=int,
        metavar="RATE",
        help="then profile Trunkline with py-spy at RATE (default: its clean rate)",
    )
    p.add_argument("--profile-seconds", type=int, default=10)
    p.add_argument("--profile-top", type=int, default=15)
    p.add_argument(
        "--profile-python-only",
        action="store_true",
        help="record Python frames only (no py-spy --native)",
    )
    args = p.parse_args()
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.stop_after = args.stop_after or (1 if args.quick else 2)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not set(args.servers) <= set(NAMES):
        p.error(f"--servers: choose among {', '.join(NAMES)}")
    args.harness = args.harness.resolve()
    args.config = args.config.resolve()
    return args


def describe(args: argparse.Namespace) -> dict[str, str]:
    py = subprocess.run(
        [
            args.python,
            "-c",
            "import sys, importlib.util as u; print("
            "sys.version.split()[0], 'uvloop' if u.find_spec('uvloop') "
            "else 'asyncio')",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    kam = subprocess.run(["kamailio", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"kamailio (\S+)", kam)
    workers = re.search(r"^children=(\d+)", args.kamailio_cfg.read_text(), re.M)
    return {
        "trunkline": f"1 process, CPython {py[0] if py else '?'}, "
        f"{py[1] if len(py) > 1 else '?'} event loop, {args.config.name}",
        "kamailio": f"Kamailio {m.group(1) if m else '?'}, "
        f"{workers.group(1) if workers else '?'} UDP workers, "
        f"{args.kamailio_cfg.name}",
    }


def main() -> int:
    args = parse_args()
    for tool in ("sipp", *(["kamailio"] if "kamailio" in args.servers else [])):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: run scripts/setup (Debian packages sip-tester, kamailio)")
    check_harness(args.harness)
    work = args.keep or Path(tempfile.mkdtemp(prefix="trunkline-proxy-cps."))
    work.mkdir(parents=True, exist_ok=True)
    info = describe(args)
    cfg = kamailio_cfg(args.kamailio_cfg, work) if "kamailio" in args.servers else None
    print(
        f"Proxy calls per second, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"SIPp and servers on 127.0.0.1; {args.seconds:g} s of calls per step, "
        f"hold {args.hold_ms} ms, harness {args.harness}, outputs in {work}"
    )
    for srv in args.servers:
        print(f"  {NAMES[srv]}: {info[srv]}")
    print("\n" + HEADER, flush=True)

    steps: list[Step] = []
    misses = {srv: 0 for srv in args.servers}
    n = 0
    for rate in ladder(args):
        active = [srv for srv in args.servers if misses[srv] < args.stop_after]
        if not active:
            break
        for srv in active:
            n += 1
            step_dir = work / f"{n:02d}-{srv}-{rate}"
            step_dir.mkdir()
            log = step_dir / f"{srv}.log"
            server = (
                trunkline_server(args, log)
                if srv == "trunkline"
                else kamailio_server(cfg or args.kamailio_cfg, log)
            )
            calls = max(1, int(rate * args.seconds))
            note = ""
            try:
                server.start()
                pids = server.pids()
                (step_dir / "pids").write_text(" ".join(map(str, pids)) + "\n")
                fields = run_cps(args.harness, step_dir, rate, calls, pids, args.hold_ms)
                if not server.alive():
                    note = "DIED"
            except RuntimeError as e:
                fields, note = {}, "NO START"
                print(f"      {e}", file=sys.stderr)
            finally:
                server.stop()
            st = Step(srv, rate, calls, fields, note)
            steps.append(st)
            misses[srv] = 0 if st.clean else misses[srv] + 1
            print(step_row(n, st) + ("" if st.clean else f"   (kept: {step_dir})"), flush=True)
            if st.clean and not args.keep_all:
                shutil.rmtree(step_dir)

    summary(steps, args.servers, info)
    if args.profile is not None and "trunkline" in args.servers:
        rate = args.profile or clean_rate(steps, "trunkline") or ladder(args).__next__()
        profile(args, work, rate)
    print(f"\nOutputs: {work}")
    return 0


if __name__ == "__main__":
    # SIGTERM/SIGHUP unwind like Ctrl-C, through the `finally`s that stop servers and SIPp
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, lambda signum, frame: sys.exit(128 + signum))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
