"""Suite-wide guard: never test a compiled core that is older than its sources."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from trunkline.sip import scanner

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    if not scanner.COMPILED:
        return
    stamp = ROOT / "trunkline" / "sip" / ".compiled"
    recorded: dict[str, str] = {}
    if stamp.exists():
        for line in stamp.read_text().splitlines():
            digest, _, name = line.partition("  ")
            recorded[name] = digest
    for name, digest in recorded.items():
        if hashlib.sha256((ROOT / name).read_bytes()).hexdigest() != digest:
            pytest.exit(f"the compiled core is older than {name}: run scripts/compile-core", 2)
    if not recorded:
        pytest.exit("compiled modules without trunkline/sip/.compiled: run scripts/compile-core", 2)
