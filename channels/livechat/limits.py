"""How many agent turns live chat runs for one visitor and for one network address.

A visitor's burst of 200 messages ran 200 agent turns in 7.3 s (with a paid model, a direct cost), and a
new session costs nothing to open; so turns are counted per visitor (their session token) and per address
(a visitor who opens a new session for every message), each in a sliding window.

Per process, in memory: with several server processes each counts its own share (issue 17 moves shared
live-chat state to the database or Redis). Used from the event loop only, so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingWindow:
    """At most `limit` events per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._swept = clock()

    def wait(self, key: str) -> float:
        """Seconds until one more event is allowed for the key (0 when it is allowed now)."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and events[0] <= now - self.window:
            events.popleft()
        return 0.0 if len(events) < self.limit else events[0] + self.window - now

    def record(self, key: str) -> None:
        now = self._clock()
        self._events.setdefault(key, deque(maxlen=self.limit)).append(now)
        if now - self._swept >= self.window:  # keys seen once and never again must not pile up
            self._swept = now
            idle = [k for k, events in self._events.items() if not events or events[-1] <= now - self.window]
            for k in idle:
                del self._events[k]

    def __len__(self) -> int:
        return len(self._events)


class TurnLimits:
    """Agent turns per minute, per visitor and per address."""

    def __init__(self, per_visitor: int, per_address: int, clock: Clock = time.monotonic) -> None:
        self.visitors = SlidingWindow(per_visitor, 60.0, clock)
        self.addresses = SlidingWindow(per_address, 60.0, clock)

    def take(self, visitor: str, address: str) -> int:
        """Count one turn and return 0, or return the whole seconds to wait and count nothing (a turn refused
        by one limit must not use up the other)."""
        wait = max(self.visitors.wait(visitor), self.addresses.wait(address))
        if wait > 0:
            return max(1, math.ceil(wait))
        self.visitors.record(visitor)
        self.addresses.record(address)
        return 0
