"""Claiming a job from a long queue vs a short one, in one run.

A webhook storm leaves hundreds of thousands of queued jobs. For each engine (the embedded SQLite file;
PostgreSQL when PARLEY_BENCH_DATABASE_URL is set) the queue is filled with N jobs, half of them done,
and the worker's loop (claim, run a no-op handler, settle) runs 50 jobs. Prints ms per job at each N and
the ratio to the 1,000-job queue: the claim should not grow with the queue.

    PARLEY_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python bench/job_claim.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, text  # noqa: E402

from core.db import Database, make_engine, new_id, utcnow  # noqa: E402
from core.jobs import JobQueue  # noqa: E402
from core.migrate import upgrade_to_head  # noqa: E402
from core.models import Job  # noqa: E402

SIZES = [1_000, 100_000, 340_000]
JOBS_TIMED = 50


def per_job_ms(db: Database, size: int) -> float:
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(delete(Job))
        rows = [
            {
                "id": new_id(),
                "kind": "noop",
                "key": None,
                "payload": {"n": n},
                "tenant_id": None,
                "status": "done" if n % 2 else "queued",
                "attempts": 0,
                "locked_until": None,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(size)
        ]
        connection.execute(insert(Job), rows)
    queue = JobQueue(db)
    queue.register("noop", lambda payload: None)
    start = time.perf_counter()
    for _ in range(JOBS_TIMED):
        assert queue.run_one()
    return (time.perf_counter() - start) / JOBS_TIMED * 1000


def report(name: str, db: Database) -> None:
    upgrade_to_head(db.engine)
    timings = {size: per_job_ms(db, size) for size in SIZES}
    print(f"{name}:")
    for size, ms in timings.items():
        print(
            f"  {size:7,d} jobs ({size // 2:,} queued)  {ms:6.2f} ms per job  {ms / timings[SIZES[0]]:5.2f}x"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="parley-claim-") as tmp:
        db = Database(make_engine(f"sqlite:///{tmp}/jobs.db"))
        report("SQLite (embedded default)", db)
        db.dispose()
    url = os.environ.get("PARLEY_BENCH_DATABASE_URL")
    if url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            db = Database(make_engine(url, schema=schema))
            report("PostgreSQL", db)
            db.dispose()
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
