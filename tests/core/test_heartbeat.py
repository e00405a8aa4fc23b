"""Heartbeat leases: a running job keeps its lease however long it runs; a dead worker's job is taken over
within one short lease. The clock is the test's, so nothing here depends on how fast the machine is."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import jobs as jobs_module
from core.db import Database, make_engine
from core.heartbeat import Heartbeat
from core.jobs import LEASE_SECONDS, JobQueue
from core.migrate import upgrade_to_head
from core.models import Job
from tests.clock import Clock


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))
    upgrade_to_head(database.engine)
    return database


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(jobs_module, "utcnow", fake)
    return fake


def test_a_heartbeat_renews_until_its_block_ends() -> None:
    renewed = threading.Event()
    calls: list[int] = []

    def renew() -> bool:
        calls.append(1)
        if len(calls) >= 3:
            renewed.set()
        return True

    with Heartbeat(renew, every=0.001) as beat:
        assert renewed.wait(60)
    after = len(calls)
    assert beat.beats >= 3 and not beat.lost
    assert len(calls) == after  # stopped with the block


def test_a_heartbeat_stops_when_the_lease_is_lost() -> None:
    with Heartbeat(lambda: False, every=0.001) as beat:
        beat._thread.join(60)  # it stops by itself after the first refused renewal
    assert beat.lost and beat.beats == 1


def test_a_long_job_keeps_its_lease_and_no_second_worker_starts_it(db: Database, clock: Clock) -> None:
    queue, other_worker = JobQueue(db), JobQueue(db)
    renewals = threading.Semaphore(0)
    renew = queue.renew

    def counted(job: Job, lease: timedelta) -> bool:
        result = renew(job, lease)
        renewals.release()
        return result

    queue.renew = counted  # type: ignore[method-assign]
    starts: list[str] = []
    second_worker_ran: list[bool] = []

    def long_job(payload: dict[str, Any]) -> None:
        starts.append("run")
        for _ in range(3):  # three leases' time passes; the heartbeat renews after each
            clock.advance(LEASE_SECONDS + 1)
            assert renewals.acquire(timeout=60)
            second_worker_ran.append(other_worker.run_one())

    queue.register("index", long_job)
    other_worker.register("index", long_job)
    queue.enqueue("index", {})
    assert queue.run_one()
    assert starts == ["run"] and second_worker_ran == [False, False, False]


def test_a_dead_workers_job_is_taken_over_within_one_short_lease(db: Database, clock: Clock) -> None:
    crashed = JobQueue(db)
    job_id = crashed.enqueue("reply", {})
    assert crashed._claim() is not None  # claimed, then the process was killed: no heartbeat any more
    restarted = JobQueue(db)
    done: list[str] = []
    restarted.register("reply", lambda payload: done.append("answered"))
    assert not restarted.run_one()  # the lease still holds
    clock.advance(LEASE_SECONDS + 0.5)  # seconds, not minutes
    assert restarted.run_one() and done == ["answered"]
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "done"


def test_a_run_whose_lease_was_taken_over_learns_it_on_renewal(db: Database, clock: Clock) -> None:
    first, second = JobQueue(db), JobQueue(db)
    first.enqueue("work", {})
    job = first._claim()
    assert job is not None
    clock.advance(LEASE_SECONDS + 1)  # the first worker stalled past its lease
    assert second._claim() is not None  # and another took the job over
    assert not first.renew(job, timedelta(seconds=LEASE_SECONDS))
