"""Fixtures for transport tests; every async test runs on asyncio's loop and on uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from trunkline.transport import TlsSettings, TransportLayer, TransportLimits

from .helpers import Certs, Recorder, make_certs


def pytest_asyncio_loop_factories(config: Any, item: Any) -> Mapping[str, Callable[[], Any]]:
    factories: dict[str, Callable[[], Any]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories


LayerFactory = Callable[..., tuple[TransportLayer, Recorder]]


@pytest.fixture
async def make_layer() -> AsyncIterator[LayerFactory]:
    """``make_layer(limits=..., client_tls=...)`` -> (layer, recorder); closed after the test."""
    made: list[TransportLayer] = []

    def factory(
        limits: TransportLimits | None = None, client_tls: TlsSettings | None = None
    ) -> tuple[TransportLayer, Recorder]:
        user = Recorder()
        layer = TransportLayer(user, limits or TransportLimits(), client_tls=client_tls)
        made.append(layer)
        return layer, user

    yield factory
    for layer in made:
        await layer.close()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))
