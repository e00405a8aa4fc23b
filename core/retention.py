"""The retention sweep: rows nobody needs any more are deleted, periodically, by a worker.

It runs as a keyed job (`core.retention`): at most one waits in the queue, whichever worker runs that kind
takes it, and each run queues the next one `every` seconds later, so the sweep runs once per period
however many workers there are, and survives restarts. Each package that owns a table registers its own
sweep (app.py wires them): core deletes finished jobs and stale worker heartbeats; channels deletes raw
webhook deliveries that were ingested long ago. Deletes go in batches, each its own short transaction, so
a sweep never holds SQLite's write lock (or many PostgreSQL row locks) for long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, select

from core.db import Database, table_of, utcnow
from core.jobs import JobQueue
from core.models import Job

log = logging.getLogger(__name__)
KIND = "core.retention"
BATCH = 1000

Sweep = Callable[[], int]


def delete_in_batches(db: Database, table: Any, ids: Select[Any]) -> int:
    """Delete the rows whose primary key `ids` selects (a select of the key column, without a limit), a
    batch per transaction, until none is left; returns how many were deleted."""
    deleted = 0
    while True:
        with db.session() as session:
            batch = list(session.scalars(ids.limit(BATCH)))
            if batch:
                session.execute(delete(table).where(table.c.id.in_(batch)))
        deleted += len(batch)
        if len(batch) < BATCH:
            return deleted


class Retention:
    def __init__(self, jobs: JobQueue, every_seconds: float) -> None:
        self._jobs = jobs
        self._every = timedelta(seconds=every_seconds)
        self._sweeps: list[tuple[str, Sweep]] = []
        jobs.register(KIND, self.run)

    def add(self, name: str, sweep: Sweep) -> None:
        self._sweeps.append((name, sweep))

    def schedule(self) -> None:
        """Queue a sweep now unless one is waiting (a worker that runs this kind calls it as it starts)."""
        self._jobs.enqueue_once(KIND, {}, key=KIND)

    def run(self, payload: dict[str, Any]) -> None:
        try:
            for name, sweep in self._sweeps:
                deleted = sweep()
                if deleted:
                    log.info("retention sweep: deleted %d %s", deleted, name)
        finally:  # the next sweep, also after a failed one (the job's retries cover this one)
            self._jobs.enqueue_once(KIND, {}, key=KIND, run_at=utcnow() + self._every)


def done_jobs(db: Database, older_than: timedelta) -> Sweep:
    """Jobs that finished (`done`) longer ago than `older_than`. Queued and running jobs are work still
    to do; failed ones wait for someone to look at them and are kept. No job row is read by anything
    once it is done (a keyed job's uniqueness holds among queued rows only)."""

    def sweep() -> int:
        cutoff = utcnow() - older_than
        ids = select(Job.id).where(
            Job.status == "done",
            Job.created_at < cutoff,  # implied by the next line; lets the (status, created_at) index serve
            Job.updated_at < cutoff,
        )
        return delete_in_batches(db, table_of(Job), ids)

    return sweep
