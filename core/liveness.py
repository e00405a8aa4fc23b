"""Which workers are alive, across processes: each running worker writes a heartbeat row every few seconds.

/readyz reads the rows to tell whether every job kind has a live worker somewhere (the app's own, or
`parley worker` processes on other machines); a worker that stops removes its row, one that dies stops
beating and its row ages out (the retention sweep deletes rows a day old).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from core.db import Database, utcnow
from core.models import WorkerHeartbeat

STALE_AFTER_BEATS = 3  # a worker that missed this many beats counts as gone


def worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LiveWorker:
    id: str
    kinds: list[str] | None  # None = every kind
    beat_at: datetime


class WorkerBeats:
    def __init__(self, db: Database, every_seconds: float) -> None:
        self._db = db
        self.every = every_seconds

    def beat(self, worker: str, kinds: list[str] | None) -> None:
        now = utcnow()
        with self._db.session() as session:
            updated = session.execute(
                update(WorkerHeartbeat)
                .where(WorkerHeartbeat.id == worker)
                .values(beat_at=now)
                .execution_options(synchronize_session=False)
            )
            if updated.rowcount == 0:  # type: ignore[attr-defined]
                session.add(WorkerHeartbeat(id=worker, kinds=kinds, started_at=now, beat_at=now))

    def gone(self, worker: str) -> None:
        with self._db.session() as session:
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.id == worker))

    def live(self) -> list[LiveWorker]:
        since = utcnow() - timedelta(seconds=self.every * STALE_AFTER_BEATS)
        with self._db.session() as session:
            rows = session.execute(
                select(WorkerHeartbeat.id, WorkerHeartbeat.kinds, WorkerHeartbeat.beat_at).where(
                    WorkerHeartbeat.beat_at >= since
                )
            ).all()
        return [LiveWorker(row.id, row.kinds, row.beat_at) for row in rows]

    def uncovered(self, kinds: Iterable[str]) -> list[str]:
        """The job kinds no live worker runs (every kind, when no worker is alive)."""
        covered: set[str] = set()
        for worker in self.live():
            if worker.kinds is None:
                return []
            covered.update(worker.kinds)
        return sorted(set(kinds) - covered)

    def prune(self, older_than: timedelta) -> int:
        with self._db.session() as session:
            result = session.execute(
                delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < utcnow() - older_than)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
