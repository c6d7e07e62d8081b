"""Application timers (proxy Timer C, drain deadlines...) on one heap, driven like the core:
``next_deadline()`` tells the shell when to wake, ``run(now)`` fires what is due."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class TimerHandle:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        # The entry stays in the heap until its deadline; dropping the callback now frees
        # what it refers to (a proxy context and its messages) at once, not minutes later.
        self.callback = _nothing


def _nothing() -> None:
    return None


class TimerHeap:
    """Cancellation is lazy: a cancelled handle is dropped when it reaches the top."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()

    def schedule(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(deadline, callback)
        heapq.heappush(self._heap, (deadline, next(self._seq), handle))
        return handle

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run(self, now: float) -> list[TimerHandle]:
        """Pop every handle due at ``now``; returns them in order (the caller invokes them)."""
        due: list[TimerHandle] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            if not handle.cancelled:
                handle.cancelled = True
                due.append(handle)
        return due

    def __len__(self) -> int:
        return sum(1 for _d, _s, h in self._heap if not h.cancelled)
