"""Logging that hostile traffic cannot turn into a flood: one line per key and interval."""

from __future__ import annotations

import logging


class RateLimitedLog:
    __slots__ = ("_interval", "_logger", "_state")

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self._logger = logger
        self._interval = interval
        self._state: dict[str, tuple[float, int]] = {}  # key -> (window start, suppressed)

    def warning(self, key: str, now: float, message: str, *args: object) -> None:
        start, suppressed = self._state.get(key, (-1e18, 0))
        if now - start < self._interval:
            self._state[key] = (start, suppressed + 1)
            return
        if suppressed:
            message += " (%d similar suppressed)"
            args = (*args, suppressed)
        if len(self._state) > 1024:
            self._state.clear()
        self._state[key] = (now, 0)
        self._logger.warning(message, *args)
