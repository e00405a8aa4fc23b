"""Durable background jobs: rows in the database, claimed with a lease, run by a worker.

The embedded default runs one in-process worker (an asyncio task that runs handlers in a thread).
Claiming is an optimistic conditional UPDATE, so several worker processes against PostgreSQL never
run the same job twice at once; a job whose worker died is picked up again when its lease expires,
which is also how work resumes after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.db import Database, utcnow
from core.models import Job

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
BACKGROUND_NICE = 10
_thread_state = threading.local()


class RetryLater(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a handler that cannot run yet (e.g. another worker holds its conversation): retry after
    `seconds` without counting an attempt."""

    def __init__(self, seconds: float = 1.0) -> None:
        super().__init__(f"retry in {seconds} s")
        self.seconds = seconds


MAX_ATTEMPTS = 3


class JobQueue:
    def __init__(self, db: Database, *, lease_seconds: float = 900.0) -> None:
        self._db = db
        self._lease = timedelta(seconds=lease_seconds)
        self._handlers: dict[str, Handler] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def on_enqueue(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        tenant_id: str | None = None,
        session: Session | None = None,
    ) -> str:
        """Queue a job; with `session`, in the caller's transaction (the work and its job commit together)."""
        job = Job(kind=kind, payload=payload, tenant_id=tenant_id, status="queued", attempts=0)
        if session is not None:
            session.add(job)
            session.flush()
            return job.id
        with self._db.session() as own:
            own.add(job)
        for listener in self._listeners:
            listener()
        return job.id

    def notify(self) -> None:
        """Wake the workers after jobs were queued inside a caller's transaction (and it committed)."""
        for listener in self._listeners:
            listener()

    def _claim(self) -> Job | None:
        now = utcnow()
        claimable = or_(
            (Job.status == "queued") & or_(Job.locked_until.is_(None), Job.locked_until <= now),
            (Job.status == "running") & (Job.locked_until < now),  # lease expired: its worker died
        )
        with self._db.session() as session:
            candidates = session.scalars(
                select(Job.id).where(claimable).order_by(Job.created_at).limit(5)
            ).all()
            for job_id in candidates:
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, claimable)
                    .values(status="running", locked_until=now + self._lease, attempts=Job.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    session.commit()
                    return session.get(Job, job_id, populate_existing=True)
        return None

    def run_one(self) -> bool:
        """Claim and run one job; False when nothing was ready."""
        job = self._claim()
        if job is None:
            return False
        handler = self._handlers.get(job.kind)
        try:
            if handler is None:
                raise RuntimeError(f"no handler registered for job kind {job.kind!r}")
            handler(job.payload)
        except RetryLater as later:
            with self._db.session() as session:
                session.execute(
                    update(Job)
                    .where(Job.id == job.id)
                    .values(
                        status="queued",
                        attempts=Job.attempts - 1,
                        locked_until=utcnow() + timedelta(seconds=later.seconds),
                    )
                )
            return True
        except Exception as exc:  # a handler's unexpected failure: retry with backoff, then give up
            log.exception("job %s (%s) failed", job.id, job.kind)
            final = job.attempts >= MAX_ATTEMPTS
            with self._db.session() as session:
                session.execute(
                    update(Job)
                    .where(Job.id == job.id)
                    .values(
                        status="failed" if final else "queued",
                        error=f"{type(exc).__name__}: {exc}",
                        locked_until=None if final else utcnow() + timedelta(seconds=2**job.attempts),
                    )
                )
            return True
        with self._db.session() as session:
            session.execute(update(Job).where(Job.id == job.id).values(status="done", locked_until=None))
        return True

    def drain(self) -> int:
        """Run every ready job synchronously (CLI, benchmarks, tests of the queue itself)."""
        count = 0
        while self.run_one():
            count += 1
        return count


class Worker:
    """The in-process worker of the embedded default: asyncio tasks, each running handlers in a thread."""

    def __init__(self, queue: JobQueue, *, poll_seconds: float = 1.0, concurrency: int = 1) -> None:
        self._queue = queue
        self._poll = poll_seconds
        self._concurrency = concurrency
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        queue.on_enqueue(self.wake)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # Several tasks, each running one job at a time in a thread: different conversations proceed in parallel.
        self._tasks = [
            asyncio.create_task(self._run(), name=f"parley-worker-{i}") for i in range(self._concurrency)
        ]

    def wake(self) -> None:
        # Enqueue may happen in a threadpool thread (sync routes): hop onto the worker's loop.
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        for task in self._tasks:
            await task

    def _run_one_in_background(self) -> bool:
        """Run a job at a lower CPU priority than the API (Linux lets a thread raise its own nice value):
        webhook acknowledgements and API calls come first; background work takes what is left."""
        if not getattr(_thread_state, "niced", False):
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
            _thread_state.niced = True
        return self._queue.run_one()

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            try:
                ran = await asyncio.to_thread(self._run_one_in_background)
            except Exception:  # database hiccup: log, wait, try again
                log.exception("worker loop error")
                ran = False
            if ran:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
