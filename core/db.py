"""Database engine, sessions and the declarative base shared by every package's tables.

SQLite (embedded default) and PostgreSQL run the same code; only the URL differs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, DateTime, Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core import sqlite_writes
from core.priority import step_aside


def new_id() -> str:
    """A UUIDv7 (RFC 9562) as 32 hex digits: 48 bits of Unix milliseconds, then 74 bits of sequence.

    Time-ordered on purpose: each new row's key lands at the right-hand end of a table's B-tree instead
    of on a random page. With random (v4) keys every insert dirtied pages all over the primary key and
    each index on an id, and SQLite wrote them all to its WAL at each commit: storing a webhook delivery
    took about twice the CPU (measured on the delivery intake, batches of 32). PostgreSQL's indexes gain
    the same locality.

    The sequence starts at a random 73-bit value each millisecond and steps on by a random amount for
    each further id in that millisecond (RFC 9562's "monotonic random" method): ids made one after
    another in this process sort in that order, and stay unguessable enough to be ids. They are never
    secrets: keys and tokens come from `secrets`.
    """
    global _last_ms, _last_seq
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:  # the same millisecond (or the clock stepped back): count on from the last id
            ms, seq = _last_ms, _last_seq + 1 + (int.from_bytes(os.urandom(2)) << 16)
            if seq >> 74:  # the millisecond's sequence ran out: borrow the next millisecond
                ms, seq = ms + 1, int.from_bytes(os.urandom(10)) >> 7
        else:
            seq = int.from_bytes(os.urandom(10)) >> 7
        _last_ms, _last_seq = ms, seq
    # RFC 9562 layout: unix_ts_ms(48) ver=7(4) rand_a(12) var=0b10(2) rand_b(62)
    value = ms << 80 | 0x7 << 76 | (seq >> 62) << 64 | 0b10 << 62 | (seq & (1 << 62) - 1)
    return f"{value:032x}"


_id_lock = threading.Lock()
_last_ms, _last_seq = 0, 0


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both engines (SQLite drops the zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # Stored in UTC: SQLite keeps the wall clock and drops the offset, so 17:00+08:00 must become 09:00.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """The model's Core table. An insert on it is a plain Core statement: executed with a parameter list it
    skips the ORM's bulk-insert handling of an entity (a Session executing it does not autoflush first)."""
    return cast(Table, model.__table__)


def insert_ignoring_duplicates(bind: Session | Connection, model: type[Base]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id on either engine: a row whose unique key exists is
    skipped, and the result has a row only when the insert happened (rowcount is not reliable for this on
    every driver), with no read before the write and no failed transaction."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    table = table_of(model)
    return module.insert(table).on_conflict_do_nothing().returning(table.c.id)


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """Create an engine; `schema` pins PostgreSQL's search_path (tests isolate themselves that way)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while the worker writes; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL is still crash-safe for the application (a killed process loses nothing
            # committed); only an OS crash or power cut may drop the last commits. It saves an fsync per
            # commit, which webhook acknowledgements feel.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        sqlite_writes.install(engine)

    else:
        connect_args: dict[str, Any] = {}
        if schema:
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args
        )
    _step_aside_when_holding_nothing(engine)
    return engine


_held = threading.local()  # connections the current thread has checked out, across every engine


def _step_aside_when_holding_nothing(engine: Engine) -> None:
    """A session starting is where background work yields to requests (core/priority.py), unless its
    thread already holds a connection: a nested session may sit inside a transaction that holds SQLite's
    write lock or PostgreSQL row locks, and waiting there would make requests wait for those locks."""

    @event.listens_for(engine, "checkout")
    def _checkout(*_: Any) -> None:
        if not getattr(_held, "count", 0):
            step_aside()
        _held.count = getattr(_held, "count", 0) + 1

    @event.listens_for(engine, "checkin")
    def _checkin(*_: Any) -> None:
        _held.count = max(getattr(_held, "count", 0) - 1, 0)


class Database:
    """Owns the engine and hands out sessions that commit on success and roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._factory = sessionmaker(engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
