"""The durable job queue: claiming, retries with backoff, and resuming work whose worker died."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import Database, make_engine, utcnow
from core.jobs import MAX_ATTEMPTS, JobQueue, RetryLater
from core.migrate import upgrade_to_head
from core.models import Job
from tests.query_plans import select_plans


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))
    upgrade_to_head(database.engine)
    return database


def status(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_jobs_run_once_in_order(db: Database) -> None:
    queue = JobQueue(db)
    seen: list[Any] = []
    queue.register("echo", lambda payload: seen.append(payload["n"]))
    ids = [queue.enqueue("echo", {"n": n}) for n in range(3)]
    assert queue.drain() == 3
    assert seen == [0, 1, 2]
    assert all(status(db, i).status == "done" for i in ids)
    assert queue.drain() == 0


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(db: Database) -> None:
    queue = JobQueue(db)
    calls = []

    def flaky(payload: dict[str, Any]) -> None:
        calls.append(1)
        raise ValueError("boom")

    queue.register("flaky", flaky)
    job_id = queue.enqueue("flaky", {})
    assert queue.run_one()
    job = status(db, job_id)
    assert job.status == "queued" and job.attempts == 1 and "boom" in (job.error or "")
    assert job.locked_until is not None and job.locked_until > utcnow()
    assert not queue.run_one()  # backing off: not ready yet
    for _ in range(MAX_ATTEMPTS - 1):
        with db.session() as session:
            session.execute(
                update(Job).where(Job.id == job_id).values(locked_until=utcnow() - timedelta(seconds=1))
            )
        assert queue.run_one()
    assert status(db, job_id).status == "failed" and len(calls) == MAX_ATTEMPTS


def test_a_job_whose_worker_died_is_resumed_after_its_lease(db: Database) -> None:
    crashed = JobQueue(db, lease_seconds=60)
    job_id = crashed.enqueue("work", {})
    claimed = crashed._claim()  # a worker took it and then died (process killed)
    assert claimed is not None and status(db, job_id).status == "running"

    restarted = JobQueue(db)
    done: list[str] = []
    restarted.register("work", lambda payload: done.append("ok"))
    assert not restarted.run_one()  # the lease still holds: nobody else runs it
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert restarted.run_one() and done == ["ok"]
    assert status(db, job_id).status == "done" and status(db, job_id).attempts == 2


def test_unknown_job_kind_fails_clearly(db: Database) -> None:
    queue = JobQueue(db)
    job_id = queue.enqueue("nobody-handles-this", {})
    queue.run_one()
    assert "no handler registered" in (status(db, job_id).error or "")


def test_retry_later_does_not_use_up_attempts(db: Database) -> None:
    queue = JobQueue(db)
    calls: list[int] = []

    def busy_then_done(payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) <= MAX_ATTEMPTS + 1:
            raise RetryLater(0.0)

    queue.register("busy", busy_then_done)
    job_id = queue.enqueue("busy", {})
    while queue.run_one():
        pass
    assert status(db, job_id).status == "done" and len(calls) == MAX_ATTEMPTS + 2


def test_keyed_jobs_queue_once_and_never_run_at_the_same_time(db: Database) -> None:
    queue, other_worker = JobQueue(db), JobQueue(db)
    runs: list[int] = []

    def drain_channel(payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        if payload["n"] == 0:  # while this run holds the key, new work queues once and waits for it
            assert queue.enqueue_once("drain", {"n": 1}, key="channel-1")
            assert not queue.enqueue_once("drain", {"n": 2}, key="channel-1")
            assert not other_worker.run_one()  # another worker finds nothing it may run

    queue.register("drain", drain_channel)
    other_worker.register("drain", drain_channel)
    assert queue.enqueue_once("drain", {"n": 0}, key="channel-1")
    assert not queue.enqueue_once("drain", {"n": 9}, key="channel-1")  # one is already waiting
    assert queue.drain() == 2
    assert runs == [0, 1]
    assert queue.enqueue_once("drain", {"n": 5}, key="channel-2")  # other keys are independent
    assert queue.enqueue_once("drain", {"n": 6}, key="channel-3")
    assert queue.drain() == 2 and runs == [0, 1, 5, 6]


def test_a_keyed_job_sent_back_to_the_queue_gives_way_to_a_newer_one(db: Database) -> None:
    queue = JobQueue(db)

    def busy(payload: dict[str, Any]) -> None:
        if payload["n"] == 0:
            queue.enqueue_once("busy", {"n": 1}, key="k")
            raise RetryLater(0.0)

    queue.register("busy", busy)
    queue.enqueue_once("busy", {"n": 0}, key="k")
    assert queue.drain() == 2
    with db.session() as session:
        errors = list(session.scalars(select(Job.error).order_by(Job.created_at)))
    assert errors == ["superseded by a queued job with its key", None]


def test_claiming_walks_the_queue_in_index_order(db: Database) -> None:
    """A webhook storm leaves 100,000s of queued jobs: a claim that sorted them all cost 55 ms per job."""
    queue = JobQueue(db)
    queue.register("echo", lambda payload: None)
    for n in range(3):
        queue.enqueue("echo", {"n": n})
    plans = select_plans(db.engine, queue.run_one, "jobs")
    oldest_first = {statement: plan for statement, plan in plans.items() if "ORDER BY" in statement}
    # abandoned leases, then queued jobs of tenants with none running, then queued jobs of any tenant
    assert len(oldest_first) == 3, plans
    for plan in oldest_first.values():
        assert "INDEX ix_jobs_status_created_at (" in plan and "TEMP B-TREE" not in plan, plan


def test_a_worker_for_some_kinds_claims_only_those(db: Database) -> None:
    """`parley worker --kinds`: other kinds wait for another worker, even one whose lease ran out."""
    queue = JobQueue(db)
    seen: list[str] = []
    queue.register("a", lambda payload: seen.append("a"))
    queue.register("b", lambda payload: seen.append("b"))
    queue.enqueue("b", {})
    abandoned = queue.enqueue("b", {})
    with db.session() as session:  # a "b" whose worker died mid-run
        session.execute(
            update(Job)
            .where(Job.id == abandoned)
            .values(status="running", locked_until=utcnow() - timedelta(seconds=1))
        )
    queue.enqueue("a", {})
    only_a = frozenset({"a"})
    assert queue.run_one(only_a) and not queue.run_one(only_a)
    assert seen == ["a"]
    assert queue.drain() == 2 and seen == ["a", "b", "b"]
