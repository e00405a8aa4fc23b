"""Driver-SQL multi-row inserts (core/bulk_insert.py) store exactly what SQLAlchemy's own insert stores,
on SQLite and on PostgreSQL: timestamps in UTC, JSON, NULLs; duplicates skipped and not counted;
batches split at the driver's parameter limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from core.bulk_insert import insert_rows
from core.db import Database, make_engine, new_id, table_of
from core.jobs import JOB_ROW_COLUMNS
from core.migrate import upgrade_to_head
from core.models import Job

COLUMNS = JOB_ROW_COLUMNS
JOBS = table_of(Job)


@pytest.fixture
def db(tmp_path: Path, database: tuple[str | None, str | None]) -> Iterator[Database]:
    url, schema = database
    db = Database(make_engine(url or f"sqlite:///{tmp_path / 'bulk.db'}", schema=schema))
    upgrade_to_head(db.engine)
    yield db
    db.dispose()


def jobs(db: Database) -> list[Job]:
    with db.session() as session:
        return list(session.scalars(select(Job)))


def stored(db: Database) -> dict[str, tuple[object, ...]]:
    with db.session() as session:
        jobs = session.scalars(select(Job)).all()
        return {
            j.id: (j.kind, j.key, j.payload, j.tenant_id, j.status, j.attempts, j.locked_until, j.created_at)
            for j in jobs
        }


def test_rows_are_stored_as_sqlalchemy_stores_them(db: Database) -> None:
    hong_kong = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 2, 17, 30, 15, 123456, tzinfo=hong_kong)  # stored as 09:30:15 UTC
    rows: list[tuple[Any, ...]] = [
        (new_id(), "k", None, {"text": "你好", "n": [1, 2]}, "t1", "queued", 0, None, at, at),
        (new_id(), "k", "key-1", {}, None, "queued", 2, at, at, at),
    ]
    reference: list[dict[str, Any]] = [dict(zip(COLUMNS, (new_id(), *row[1:]), strict=True)) for row in rows]
    with db.engine.begin() as connection:
        insert_rows(connection, JOBS, COLUMNS, rows)
        connection.execute(insert(JOBS), [{**r, "key": r["key"] and r["key"] + "-ref"} for r in reference])
    ours = stored(db)
    for row, ref in zip(rows, reference, strict=True):
        mine, orm = ours[row[0]], ours[ref["id"]]
        assert mine[0] == orm[0] and mine[2:] == orm[2:]  # all but the key, which tells them apart
    assert ours[rows[1][0]][7] == datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
    assert ours[rows[0][0]][2] == {"text": "你好", "n": [1, 2]} and ours[rows[0][0]][6] is None


def test_conflicts_are_skipped_and_only_inserted_rows_counted(db: Database) -> None:
    now = datetime.now(UTC)

    def job(key: str) -> tuple[object, ...]:
        return (new_id(), "k", key, {}, None, "queued", 0, None, now, now)

    with db.engine.begin() as connection:
        first = insert_rows(connection, JOBS, COLUMNS, [job("a"), job("b")], ignore_conflicts=True)
        # "a" is queued already (the unique queued key): skipped, and not counted
        again = insert_rows(connection, JOBS, COLUMNS, [job("a"), job("c")], ignore_conflicts=True)
    assert (first, again) == (2, 1)
    assert sorted(str(job.key) for job in jobs(db)) == ["a", "b", "c"]


def test_a_batch_beyond_the_parameter_limit_is_split(db: Database) -> None:
    now = datetime.now(UTC)
    limit = db.engine.dialect.insertmanyvalues_max_parameters // len(COLUMNS)
    rows: list[tuple[Any, ...]] = [
        (new_id(), "k", f"key-{n}", {}, None, "queued", 0, None, now, now) for n in range(limit * 2 + 3)
    ]
    with db.engine.begin() as connection:
        inserted = insert_rows(connection, JOBS, COLUMNS, rows)
    assert inserted == len(rows) and len(stored(db)) == len(rows)
