"""One send-rate budget per number, shared by every process that sends through it.

A platform's ceiling is per number (WhatsApp: 80 messages/s), not per process: N worker processes each
pacing themselves would send N times the ceiling. So the budget is a row in the database holding the
time the number's next send may go out. A send reserves its slot with one atomic statement,

    UPDATE send_budgets SET next_free = max(next_free, now) + 1/rate WHERE id = :number
    RETURNING next_free, now

and waits until the slot it got (next_free - 1/rate). The row lock orders concurrent reservations, so
slots are 1/rate apart whichever process took them. `now` is the database's clock, read as the statement
runs: senders on several machines need not agree on the time, and the wait is a duration on one clock.
A send reserved but never made leaves its slot unused, which only ever sends less.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import ColumnElement, Double, func, update

from channels.models import SendBudget
from channels.rate_limit import RateLimiter
from core.db import Database, insert_ignoring_duplicates, table_of

JULIAN_DAY_OF_THE_EPOCH = 2440587.5  # 1970-01-01T00:00Z


class SharedRateLimiter(RateLimiter):
    """A RateLimiter whose slots live in the `send_budgets` row `key`. The back-off streak stays per
    process (each process counts the refusals it was given); the hold-back it causes reaches everyone."""

    def __init__(self, db: Database, key: str, per_second: int) -> None:
        super().__init__(per_second)
        self._db = db
        self.key = key

    async def _reserve(self) -> float:
        # A worker thread: the event loop keeps sending (and sleeping towards) other slots meanwhile.
        return await asyncio.to_thread(self.reserve)

    def reserve(self) -> float:
        """Take the next free slot; when it comes, on time.monotonic()'s clock.

        The slot is placed on this process's clock the moment the database answers, before the commit and
        the way back to the event loop: time lost after that (a busy loop, a slow commit) must not push
        the send towards the next sender's slot, and the late check in `wait` sees it as late."""
        next_free, now, answered = self._advance(self._interval)
        return answered + max(0.0, next_free - self._interval - now)

    def _hold_back(self, seconds: float) -> None:
        # Called from a send's coroutine after the platform refused it: a short blocking write, rare.
        self._advance(seconds)

    def _advance(self, step: float) -> tuple[float, float, float]:
        """next_free = max(next_free, now) + step, atomically; (the new next_free, now, and when the
        answer came on time.monotonic()'s clock)."""
        table = table_of(SendBudget)
        now = self._now()
        greatest = func.greatest if self._db.is_postgres else func.max  # SQLite's two-argument max()
        statement = (
            update(table)
            .where(table.c.id == self.key)
            .values(next_free=greatest(table.c.next_free, now) + step)
            .returning(table.c.next_free, now)
        )
        with self._db.session() as session:
            row = session.execute(statement).first()
            if row is None:  # the number's first send anywhere: create its row, then reserve as usual
                session.execute(
                    insert_ignoring_duplicates(session, SendBudget).values(id=self.key, next_free=0.0)
                )
                row = session.execute(statement).one()
            answered = time.monotonic()
        return float(row[0]), float(row[1]), answered

    def _now(self) -> ColumnElement[Any]:
        if self._db.is_postgres:
            # clock_timestamp(), not now(): now() is the transaction's start, which a wait for the row
            # lock would leave behind.
            return func.extract("epoch", func.clock_timestamp()).cast(Double)
        # SQLite (one machine): its own clock too, read when the statement runs (after the wait for the
        # write lock, which a time taken in Python before it would leave behind), to the millisecond.
        return (func.julianday("now") - JULIAN_DAY_OF_THE_EPOCH) * 86400.0


class SendBudgets:
    """The limiter for each budget: shared through the database when there is one, else in this process.

    One limiter object per (budget, rate) in this process, so its back-off streak spans its senders."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db
        self._limiters: dict[tuple[str, int], RateLimiter] = {}

    def limiter(self, key: str, per_second: int) -> RateLimiter:
        if (key, per_second) not in self._limiters:
            self._limiters[(key, per_second)] = (
                SharedRateLimiter(self._db, key, per_second) if self._db else RateLimiter(per_second)
            )
        return self._limiters[(key, per_second)]
