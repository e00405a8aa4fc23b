"""Fair claiming: one tenant's pile of jobs does not keep another tenant's job waiting for a worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import Database, make_engine
from core.jobs import JobQueue
from core.migrate import upgrade_to_head


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))
    upgrade_to_head(database.engine)
    return database


def claim_tenant(queue: JobQueue) -> str | None:
    job = queue._claim()
    assert job is not None
    return job.tenant_id


def test_a_tenant_with_nothing_running_goes_before_an_older_pile(db: Database) -> None:
    queue = JobQueue(db)
    for n in range(4):  # tenant A uploads four big files
        queue.enqueue("knowledge.ingest", {"n": n}, tenant_id="A")
    queue.enqueue("knowledge.ingest", {"n": 0}, tenant_id="B")  # then B uploads one
    assert claim_tenant(queue) == "A"  # A's first upload starts (the oldest job)
    assert claim_tenant(queue) == "B"  # the next worker takes B's, not A's second
    assert claim_tenant(queue) == "A"  # with both running one, the oldest waiting job is next


def test_the_tenant_with_fewest_running_jobs_goes_first(db: Database) -> None:
    queue = JobQueue(db)
    for n in range(3):
        queue.enqueue("work", {"n": n}, tenant_id="A")
    queue.enqueue("work", {}, tenant_id="B")
    queue.enqueue("work", {}, tenant_id="C")
    queue.enqueue("work", {}, tenant_id="B")
    order = [claim_tenant(queue) for _ in range(6)]
    # A starts; B and C (none running) before A's second; then B (one running) ties with A, whose job is older.
    assert order == ["A", "B", "C", "A", "B", "A"]


def test_jobs_of_no_tenant_are_not_held_back(db: Database) -> None:
    queue = JobQueue(db)
    queue.enqueue("work", {}, tenant_id="A")
    queue.enqueue("work", {}, tenant_id="A")
    queue.enqueue("maintenance", {})
    assert [claim_tenant(queue) for _ in range(3)] == ["A", None, "A"]
