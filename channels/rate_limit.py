"""An outbound send-rate ceiling per channel account, shared by every sender of that account."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

# A sender that must know whether a request left (a broadcast, to never send twice after a failure) sets
# this in its task: it is called when the send's slot comes, right before the request goes out.
departing: ContextVar[Callable[[], None] | None] = ContextVar("departing", default=None)


HEADROOM = 0.98


class RateLimiter:
    """Never exceed the number's throughput: each send reserves the next free slot, 1/rate apart.

    Slots are reserved under a thread lock (senders may run on several threads and event loops);
    the wait itself is an asyncio sleep.
    """

    def __init__(self, per_second: int) -> None:
        # 2% under the ceiling: a request delayed on its way (a busy event loop, the GIL) must not land in
        # the same second as the next 80 on the platform's side.
        self._interval = 1.0 / (per_second * HEADROOM)
        self._next = 0.0
        self._lock = threading.Lock()
        self._streak = 0  # rate-limit answers in a row

    def slow_down(self) -> None:
        """The platform said "too fast". A stray refusal costs its own slot and nothing more; from the second
        in a row every sender is held back, twice as long each time (one slot, two, four, ... at most about
        3 s), so a real overload backs off quickly."""
        with self._lock:
            self._streak = min(self._streak + 1, 9)
            if self._streak > 1:
                self._next = max(self._next, time.monotonic()) + self._interval * 2 ** (self._streak - 2)

    def recovered(self) -> None:
        self._streak = 0

    async def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)
        callback = departing.get()
        if callback is not None:
            callback()
