"""The compiled core (messages, SDP, transactions) also passes as plain Python, as without mypyc.

The rest of the suite runs against whatever ``scripts/setup`` built, normally the compiled
core. This test copies the sources without the compiled modules and runs the message-layer
and conformance tests on that copy in a child process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trunkline.sip import scanner

ROOT = Path(__file__).resolve().parent.parent.parent
SUITES = [
    "tests/unit/test_message.py",
    "tests/unit/test_message_properties.py",
    "tests/unit/test_message_smoke.py",
    "tests/unit/test_address.py",
    "tests/unit/test_uri.py",
    "tests/unit/test_stream.py",
    "tests/unit/test_scanner.py",
    "tests/unit/test_sdp.py",
    "tests/unit/test_transaction.py",
    "tests/unit/test_transaction_property.py",
    "tests/unit/test_via_rules.py",
    "tests/conformance",
]


@pytest.mark.skipif(not scanner.COMPILED, reason="the suite already runs as plain Python")
def test_message_layer_as_plain_python(tmp_path: Path) -> None:
    skip = shutil.ignore_patterns("*.so", ".compiled", "__pycache__")
    shutil.copytree(ROOT / "trunkline", tmp_path / "trunkline", ignore=skip)
    shutil.copytree(ROOT / "tests", tmp_path / "tests", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    check = "import trunkline.sip.scanner as s, sys; sys.exit(s.COMPILED)"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    assert subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
