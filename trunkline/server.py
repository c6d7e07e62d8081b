"""``trunkline run``: build the stack and the application from a config, serve until
SIGTERM/SIGINT, then drain: refuse new calls, let live transactions finish, exit cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable

from trunkline.config.schema import Config
from trunkline.proxy import Proxy
from trunkline.sip.scanner import COMPILED
from trunkline.stack import SipStack

log = logging.getLogger("trunkline")

DRAIN_TIMEOUT = 32.0  # 64*T1: the longest a non-INVITE transaction may still need
# RFC timers keep ~100 transactions alive per call/s for 32 s: the collector's default
# thresholds walk that heap far too often (bench/proxy_inproc.py: 559 -> 382 µs per call).
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Move start-up objects out of the collector's way and collect young objects rarely."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def serve(config: Config, *, on_ready: Callable[[SipStack], None] | None = None) -> int:
    loop = asyncio.get_running_loop()
    stack = SipStack(config, loop)
    proxy = Proxy(stack, config)
    stack.app = proxy
    try:
        bound = await stack.start()
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        await stack.close()
        return 2
    tune_gc()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    log.info("listening on %s", ", ".join(str(e) for e in bound))
    if not COMPILED:
        log.warning("SIP core not compiled: parsing runs as plain Python (scripts/compile-core)")
    print("trunkline ready: " + " ".join(str(e) for e in bound), flush=True)
    if on_ready is not None:
        on_ready(stack)
    await stop.wait()
    log.info("draining: %d transactions alive", len(stack.transactions))
    proxy.draining = True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stack.wait_idle(), DRAIN_TIMEOUT)
    await stack.close()
    log.info("stopped")
    return 0


def run(config: Config) -> int:
    logging.basicConfig(
        level=config.log.level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # uvloop is optional: the default loop works, only slower
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(serve(config))
