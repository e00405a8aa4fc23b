"""A job queued in one process wakes a worker in another at once (the bus), not at its next poll."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from core.bus import open_bus
from core.db import Database, make_engine
from core.jobs import WAKE_TOPIC, JobQueue, Worker
from core.migrate import upgrade_to_head
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PARLEY_TEST_DATABASE_URL not set")


def test_a_job_queued_elsewhere_wakes_an_idle_worker_at_once(pg_schema: str) -> None:
    schema = pg_schema
    assert PG_URL
    # Two "processes": each its own engine, queue and bus, wired as app.py wires them.
    here_db = Database(make_engine(PG_URL, schema=schema))
    upgrade_to_head(here_db.engine)
    there_db = Database(make_engine(PG_URL, schema=schema))
    here_bus, there_bus = open_bus(PG_URL, schema), open_bus(PG_URL, schema)
    here, there = JobQueue(here_db), JobQueue(there_db)
    here.on_enqueue(lambda: here_bus.publish(WAKE_TOPIC, {}))
    ran = threading.Event()

    def handler(_: dict[str, Any]) -> None:
        ran.set()

    there.register("test.ping", handler)

    async def scenario() -> float:
        worker = Worker(there, poll_seconds=60)  # on its own it would not look again for a minute
        there_bus.subscribe(WAKE_TOPIC, lambda _: worker.wake())
        worker.start()
        await asyncio.sleep(0.3)  # idle, waiting
        started = time.perf_counter()
        await asyncio.to_thread(here.enqueue, "test.ping", {})
        await asyncio.to_thread(ran.wait, 10)
        elapsed = time.perf_counter() - started
        await worker.stop()
        return elapsed

    try:
        elapsed = asyncio.run(scenario())
    finally:
        here_bus.close()
        there_bus.close()
        here_db.dispose()
        there_db.dispose()
    assert ran.is_set() and elapsed < 5  # woken by the bus; without it, 60 s
