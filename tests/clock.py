"""A clock a test moves by hand: patched in for a module's `utcnow` (leases, heartbeats, expiry)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.db import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
