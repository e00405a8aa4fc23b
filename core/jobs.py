"""Durable background jobs: rows in the database, claimed with a lease, run by a worker.

The embedded default runs one in-process worker (an asyncio task that runs handlers in a thread).
Claiming is an optimistic conditional UPDATE, so several worker processes against PostgreSQL never
run the same job twice at once; a job whose worker died is picked up again when its lease expires,
which is also how work resumes after a restart. Leases are short (seconds) and a running job's lease is
renewed by a heartbeat (core/heartbeat.py): a crash is recovered from within a lease, yet a job that
runs for an hour is never taken for dead while its worker lives.

Queueing a job wakes this process's worker at once, and app.py sends the wake-up over the bus
(core/bus.py, WAKE_TOPIC) to the workers of every other process; each worker also polls every second,
so a wake-up lost with a connection delays a job by at most that.

Claims are fair across tenants: the oldest job of the tenant with the fewest jobs running goes first.

A job may carry a key: at most one job per key waits in the queue (enqueueing another is a no-op) and
jobs with one key never run at the same time. A handler that drains "everything pending for X" under
the key X therefore runs once per burst, in order, however many times it was asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.bulk_insert import insert_rows
from core.db import Database, new_id, table_of, utcnow
from core.heartbeat import Heartbeat
from core.liveness import WorkerBeats, worker_id
from core.metrics import JOB_DURATION, JOBS_FINISHED
from core.models import Job
from core.priority import BackgroundShare, mark_background, step_aside

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
LEASE_SECONDS = 15.0  # how soon a dead worker's job is taken over; live ones renew theirs
FAIR_WINDOW = 20  # queued jobs of busy tenants weighed against each other on a claim
BEATS_PER_LEASE = 3  # a renewal may fail twice (a busy database) before the lease runs out
WAKE_TOPIC = "jobs.queued"  # on the bus: a job was queued in some process
_JOBS = table_of(Job)
# A job's row, in the order driver-SQL inserts take its values (core/bulk_insert.py).
JOB_ROW_COLUMNS = (
    "id",
    "kind",
    "key",
    "payload",
    "tenant_id",
    "status",
    "attempts",
    "locked_until",
    "created_at",
    "updated_at",
)


class JobQueue:
    def __init__(self, db: Database, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._db = db
        self._lease = timedelta(seconds=lease_seconds)
        self._handlers: dict[str, Handler] = {}
        self._leases: dict[str, timedelta] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, kind: str, handler: Handler, *, lease_seconds: float | None = None) -> None:
        """`lease_seconds`: how long a run may go without renewing its lease before it counts as dead
        (default: the queue's). The lease is renewed while the handler runs, so this bounds how soon
        work resumes after a crash, not how long a run may take."""
        self._handlers[kind] = handler
        if lease_seconds is not None:
            self._leases[kind] = timedelta(seconds=lease_seconds)

    def kinds(self) -> list[str]:
        """The job kinds with a handler, sorted."""
        return sorted(self._handlers)

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

    def enqueue_once(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str,
        tenant_id: str | None = None,
        session: Session | Connection | None = None,
        run_at: datetime | None = None,
    ) -> bool:
        """Queue a keyed job unless one with `key` is already waiting (then False: that one will do it).
        `run_at`: not before then; a waiting job with the key is brought forward to it if later.
        With `session`, in the caller's transaction; call notify() after it commits."""
        now = utcnow()
        row = (new_id(), kind, key, payload, tenant_id, "queued", 0, run_at, now, now)

        def queue(bind: Session | Connection) -> bool:
            # Driver SQL (core/bulk_insert.py): the webhook intake queues an ingest run with every batch.
            connection = bind.connection() if isinstance(bind, Session) else bind
            if insert_rows(connection, _JOBS, JOB_ROW_COLUMNS, [row], ignore_conflicts=True):
                return True
            if run_at is not None:
                bind.execute(
                    update(Job)
                    .where(
                        Job.key == key,
                        Job.status == "queued",
                        or_(Job.locked_until.is_(None), Job.locked_until > run_at),
                    )
                    .values(locked_until=run_at)
                    .execution_options(synchronize_session=False)
                )
            return False

        if session is not None:
            return queue(session)
        with self._db.session() as own:
            queued = queue(own)
        self.notify()
        return queued

    def notify(self) -> None:
        """Wake the workers after jobs were queued inside a caller's transaction (and it committed)."""
        for listener in self._listeners:
            listener()

    def _claim(self, kinds: frozenset[str] | None = None) -> Job | None:
        now = utcnow()
        ready = (Job.status == "queued") & or_(Job.locked_until.is_(None), Job.locked_until <= now)
        abandoned = (Job.status == "running") & (Job.locked_until < now)  # lease expired: its worker died
        if kinds is not None:  # a worker for some kinds only (`parley worker --kinds`)
            ready = ready & Job.kind.in_(sorted(kinds))
            abandoned = abandoned & Job.kind.in_(sorted(kinds))
        sibling = aliased(Job)
        key_busy = exists().where(
            sibling.key == Job.key,
            sibling.id != Job.id,
            sibling.status == "running",
            sibling.locked_until >= now,
        )
        key_free = or_(Job.key.is_(None), ~key_busy)
        with self._db.session() as session:
            # Reads of one status each, so each walks the (status, created_at) index and stops after a
            # few rows: one WHERE with the two OR-ed made the database sort every queued job on each claim.
            candidates = [
                *session.execute(
                    select(Job.id, Job.kind).where(abandoned, key_free).order_by(Job.created_at).limit(5)
                ),
                *self._fair_ready(session, ready & key_free, now),
            ]
            for job_id, kind in candidates:
                lease = self._leases.get(kind, self._lease)
                claimed = session.execute(
                    update(Job)
                    .where(Job.id == job_id, or_(ready, abandoned), key_free)
                    .values(status="running", locked_until=now + lease, attempts=Job.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    session.commit()
                    return session.get(Job, job_id, populate_existing=True)
        return None

    @staticmethod
    def _fair_ready(session: Session, ready: Any, now: datetime) -> list[tuple[str, str]]:
        """Ready jobs in a fair order: the oldest job of the tenant with the fewest jobs running first, so
        one tenant's pile of uploads (or a broadcast's runs) cannot keep every worker from another's.
        Jobs of no tenant count as a tenant with none running."""
        running = {
            tenant: count
            for tenant, count in session.execute(
                select(Job.tenant_id, func.count())
                .where(Job.status == "running", Job.locked_until >= now)
                .group_by(Job.tenant_id)
            )
            if tenant is not None
        }
        idle_tenants = or_(Job.tenant_id.is_(None), Job.tenant_id.not_in(list(running)))
        first = session.execute(
            select(Job.id, Job.kind).where(ready, idle_tenants).order_by(Job.created_at).limit(5)
        ).all()
        rest = session.execute(
            select(Job.id, Job.kind, Job.tenant_id).where(ready).order_by(Job.created_at).limit(FAIR_WINDOW)
        ).all()
        # sorted() is stable: within a count, the oldest job first.
        busy_first = sorted(rest, key=lambda row: running.get(row.tenant_id, 0))
        return [(row[0], row[1]) for row in first] + [(row.id, row.kind) for row in busy_first]

    def run_one(self, kinds: frozenset[str] | None = None) -> bool:
        """Claim and run one job (of `kinds`, when given); False when nothing was ready."""
        job = self._claim(kinds)
        if job is None:
            return False
        started = time.perf_counter()
        try:
            outcome = self._run(job)
        finally:
            JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
        JOBS_FINISHED.labels(job.kind, outcome).inc()
        return True

    def _run(self, job: Job) -> str:
        """Run a claimed job and settle it; returns the outcome (done, later, retry, failed)."""
        handler = self._handlers.get(job.kind)
        lease = self._leases.get(job.kind, self._lease)
        try:
            if handler is None:
                raise RuntimeError(f"no handler registered for job kind {job.kind!r}")
            with Heartbeat(lambda: self.renew(job, lease), every=lease.total_seconds() / BEATS_PER_LEASE):
                handler(job.payload)
        except RetryLater as later:
            self._settle(
                job,
                status="queued",
                attempts=Job.attempts - 1,
                locked_until=utcnow() + timedelta(seconds=later.seconds),
            )
            return "later"
        except Exception as exc:  # a handler's unexpected failure: retry with backoff, then give up
            log.exception("job %s (%s) failed", job.id, job.kind)
            final = job.attempts >= MAX_ATTEMPTS
            self._settle(
                job,
                status="failed" if final else "queued",
                error=f"{type(exc).__name__}: {exc}",
                locked_until=None if final else utcnow() + timedelta(seconds=2**job.attempts),
            )
            return "failed" if final else "retry"
        self._settle(job, status="done", locked_until=None)
        return "done"

    def renew(self, job: Job, lease: timedelta) -> bool:
        """Extend a running job's lease; False if it is no longer this run's (its lease ran out and another
        worker claimed it: each claim counts an attempt, so the attempt number tells the runs apart)."""
        with self._db.session() as session:
            renewed = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == "running", Job.attempts == job.attempts)
                .values(locked_until=utcnow() + lease)
                .execution_options(synchronize_session=False)
            )
            return renewed.rowcount == 1  # type: ignore[attr-defined]

    def _settle(self, job: Job, **values: Any) -> None:
        try:
            with self._db.session() as session:
                session.execute(update(Job).where(Job.id == job.id).values(**values))
        except IntegrityError:
            # A keyed job going back to the queue while a newer job with its key waits there: the newer one
            # does the same work, so this one is finished.
            with self._db.session() as session:
                session.execute(
                    update(Job)
                    .where(Job.id == job.id)
                    .values(status="done", locked_until=None, error="superseded by a queued job with its key")
                )

    def drain(self) -> int:
        """Run every ready job synchronously (CLI, benchmarks, tests of the queue itself)."""
        count = 0
        while self.run_one():
            count += 1
        return count


class Worker:
    """The in-process worker of the embedded default (and of `parley worker`): asyncio tasks, each running
    handlers in a thread. `kinds`: run only jobs of these kinds (None: every kind). With `beats`, it
    records a heartbeat every few seconds while it runs, for /readyz (core/liveness.py). With `background`
    (the app's share of the CPU), its threads step aside for the app's requests (core/priority.py)."""

    def __init__(
        self,
        queue: JobQueue,
        *,
        poll_seconds: float = 1.0,
        concurrency: int = 1,
        kinds: list[str] | None = None,
        beats: WorkerBeats | None = None,
        background: BackgroundShare | None = None,
    ) -> None:
        self._queue = queue
        self._background = background  # the app's account its threads charge (core/priority.py)
        self.kinds = sorted(set(kinds)) if kinds else None
        self._only = frozenset(self.kinds) if self.kinds else None
        self._beats = beats
        self.id = worker_id()
        self._poll = poll_seconds
        self._concurrency = concurrency
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._threads: ThreadPoolExecutor | None = None
        self._stopping = False
        self._stopped: asyncio.Event | None = None
        queue.on_enqueue(self.wake)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Threads of its own: they are niced and marked background, which must not leak to other work.
        self._threads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="parley-worker")
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        # Several tasks, each running one job at a time in a thread: different conversations proceed in parallel.
        self._tasks = [
            asyncio.create_task(self._run(), name=f"parley-worker-{i}") for i in range(self._concurrency)
        ]
        if self._beats is not None:
            # the first beat before start returns, so /readyz is ready as soon as the app is up
            try:
                self._beats.beat(self.id, self.kinds)
            except Exception:
                log.exception("recording the worker's heartbeat failed")
            self._tasks.append(asyncio.create_task(self._beat(), name="parley-worker-heartbeat"))

    def wake(self) -> None:
        # Enqueue may happen in a threadpool thread (sync routes): hop onto the worker's loop.
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        if self._stopped is not None:
            self._stopped.set()
        for task in self._tasks:
            await task
        if self._threads is not None:
            self._threads.shutdown(wait=True)

    def _run_one_in_background(self) -> bool:
        """Run a job behind the API: at a lower CPU priority (Linux lets a thread raise its own nice value)
        and stepping aside for requests in flight (core/priority.py): webhook acknowledgements and API
        calls come first; background work takes what is left."""
        if not getattr(_thread_state, "niced", False):
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
            mark_background(self._background)
            _thread_state.niced = True
        step_aside()
        return self._queue.run_one(self._only)

    async def _beat(self) -> None:
        assert self._beats is not None and self._stopped is not None
        beats = self._beats
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=beats.every)
            if self._stopping:
                break
            try:
                await asyncio.to_thread(beats.beat, self.id, self.kinds)
            except Exception:  # database hiccup: /readyz sees the beat missing if it lasts
                log.exception("recording the worker's heartbeat failed")
        with contextlib.suppress(Exception):
            await asyncio.to_thread(beats.gone, self.id)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            try:
                assert self._loop is not None and self._threads is not None
                ran = await self._loop.run_in_executor(self._threads, self._run_one_in_background)
            except Exception:  # database hiccup: log, wait, try again
                log.exception("worker loop error")
                ran = False
            if ran:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
