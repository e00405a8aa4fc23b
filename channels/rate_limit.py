"""An outbound send-rate ceiling per channel account, shared by every sender of that account.

`RateLimiter` keeps the budget in this process; channels/send_budget.py keeps it in the database, so
every process that sends through one number draws on one budget.
"""

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
# A send that wakes later than this after its slot takes a new one. Sends then leave within this much of
# their slots, so a second holds at most (1 s + LATE_SECONDS) / slot interval of them: under the ceiling
# at any rate while LATE_SECONDS stays under the headroom's 2% of a second.
LATE_SECONDS = 0.01
MAX_STREAK = 9  # back-off doubles up to 2**7 slots (about 3 s at 40/s)


class RateLimiter:
    """Never exceed the number's throughput: each send reserves the next free slot, 1/rate apart.

    Slots are reserved under a thread lock (senders may run on several threads and event loops);
    the wait itself is an asyncio sleep. Subclasses keep the slots elsewhere by overriding `_reserve`
    and `_hold_back`.
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
            self._streak = min(self._streak + 1, MAX_STREAK)
            streak = self._streak
        if streak > 1:
            self._hold_back(self._interval * 2 ** (streak - 2))

    def recovered(self) -> None:
        self._streak = 0

    async def wait(self) -> None:
        while True:
            slot = await self._reserve()
            if slot > time.monotonic():
                await asyncio.sleep(slot - time.monotonic())
            # Woken too late (a busy event loop, a process the OS left waiting): going now could land within
            # the headroom of the next sender's slot, in another process perhaps, and put one send too many
            # in a second. The missed slot goes unused and this send takes a new one.
            if time.monotonic() - slot <= LATE_SECONDS:
                break
        callback = departing.get()
        if callback is not None:
            callback()

    async def _reserve(self) -> float:
        """Reserve the next free slot; when it comes, on time.monotonic()'s clock."""
        with self._lock:
            slot = max(time.monotonic(), self._next)
            self._next = slot + self._interval
        return slot

    def _hold_back(self, seconds: float) -> None:
        """No send before `seconds` past the last one reserved (or past now, if that is later)."""
        with self._lock:
            self._next = max(self._next, time.monotonic()) + seconds
