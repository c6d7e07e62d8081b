"""Interop fixtures: a factory for running ``trunkline run`` processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.interop.harness import Trunkline, start_trunkline


@pytest.fixture
def trunkline(tmp_path: Path) -> Iterator[Callable[[dict[str, object]], Trunkline]]:
    """Factory: ``trunkline(config_dict)`` starts a server; all are stopped (and must exit 0)."""
    started: list[Trunkline] = []

    def factory(config: dict[str, object]) -> Trunkline:
        tl = start_trunkline(config, tmp_path)
        started.append(tl)
        return tl

    yield factory
    for tl in started:
        code = tl.stop()
        assert code == 0, f"trunkline exited with {code}:\n{tl.log()[-4000:]}"
