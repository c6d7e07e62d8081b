"""Read and fill in the PROTOS c07-sip test case templates (no PROTOS material lives in the repo).

The material (GPLv2, 37 MB) stays outside the repository; point ``TRUNKLINE_PROTOS_DIR`` at the
folder that holds ``cases/``. Each case file holds two length-prefixed records,
``<decimal length> SP <bytes>``: the INVITE under test and its teardown request. Both are
templates whose placeholders (``<To>``, ``<From>``, ``<Via>``-side values...) the PROTOS jar
substituted at send time; :func:`fill` does the same, computing ``<Content-Length>`` from the
body after substitution. Shared by the parser conformance test and, later, server tests that
send the same cases over UDP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "TRUNKLINE_PROTOS_DIR"
CASE_COUNT = 4527


@dataclass(frozen=True, slots=True)
class Target:
    """The values substituted into the templates: who sends, to whom."""

    to: str = "receiver@127.0.0.1"  # user@host of the target (R-URI and To)
    from_user_host: str = "protos@127.0.0.1"  # <From>: user@host of the sender
    from_address: str = "127.0.0.1"  # <From-Address>: sent-by host, Call-ID host, SDP o=
    from_ip: str = "127.0.0.1"  # <From-IP>: SDP c= address
    local_port: int = 5060  # <Local-Port>: sent-by port
    teardown_method: str = "CANCEL"  # <Teardown-Method>: the jar's default


def cases_dir() -> Path | None:
    """``$TRUNKLINE_PROTOS_DIR/cases`` when the variable is set and the folder exists."""
    root = os.environ.get(ENV_VAR)
    if not root:
        return None
    path = Path(root) / "cases"
    return path if path.is_dir() else None


def read_records(data: bytes) -> tuple[bytes, bytes]:
    """Split a case file into its two length-prefixed templates (INVITE, teardown)."""
    records: list[bytes] = []
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        start = space + 1
        records.append(data[start : start + length])
        pos = start + length
    if len(records) != 2:
        raise ValueError(f"expected 2 records, found {len(records)}")
    return records[0], records[1]


def _body_of(message: bytes) -> bytes:
    """The body as a receiver frames it: after the first empty line (CRLF, else bare LF)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = message.find(sep)
        if end >= 0:
            return message[end + len(sep) :]
    return b""


def fill(template: bytes, case: int, target: Target = Target()) -> bytes:
    """Substitute every placeholder; ``<Content-Length>`` is the body length after that."""
    values = {
        b"<To>": target.to,
        b"<From>": target.from_user_host,
        b"<From-Address>": target.from_address,
        b"<From-IP>": target.from_ip,
        b"<Local-Port>": str(target.local_port),
        b"<Branch-ID>": f"{case:07d}",
        b"<Call-ID>": f"protos-{case:07d}",
        b"<CSeq>": str(case + 1),
        b"<Teardown-Method>": target.teardown_method,
    }
    out = template
    for key, value in values.items():
        out = out.replace(key, value.encode())
    if b"<Content-Length>" in out:
        body_len = len(_body_of(out.replace(b"<Content-Length>", b"")))
        out = out.replace(b"<Content-Length>", str(body_len).encode())
    return out


def load_case(directory: Path, case: int, target: Target = Target()) -> tuple[bytes, bytes]:
    """(INVITE, teardown) of one case, ready to send."""
    invite, teardown = read_records((directory / f"{case:07d}").read_bytes())
    return fill(invite, case, target), fill(teardown, case, target)


def iter_cases(directory: Path, target: Target = Target()) -> Iterator[tuple[int, bytes, bytes]]:
    """(case number, INVITE, teardown) for every case file, in order."""
    for path in sorted(directory.iterdir()):
        if path.name.isdigit():
            case = int(path.name)
            invite, teardown = read_records(path.read_bytes())
            yield case, fill(invite, case, target), fill(teardown, case, target)
