"""The LangGraph checkpointer: conversation memory keyed by conversation id.

SQLite file in the data dir for the embedded default; PostgresSaver on the same PostgreSQL
database when PARLEY_DATABASE_URL points at one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from langgraph.checkpoint.base import BaseCheckpointSaver

from config import Settings


def make_checkpointer(
    settings: Settings, *, schema: str | None = None
) -> tuple[BaseCheckpointSaver[str], Callable[[], None]]:
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        options = f"-csearch_path={schema}" if schema else None
        conn = psycopg.connect(
            dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row, options=options
        )
        saver = PostgresSaver(conn)
        saver.setup()
        return saver, conn.close
    from langgraph.checkpoint.sqlite import SqliteSaver

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.data_dir / "checkpoints.db", check_same_thread=False)
    # SqliteSaver writes every step of every turn through this one connection, under one lock, and
    # commits each: in SQLite's default journal each commit waits for several fsyncs, and the turns of
    # every worker queued behind them (a backlog was answered at 29 a second, its workers mostly idle).
    # WAL with NORMAL sync is the main database's setting (core/db.py): a killed process loses nothing.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    sqlite_saver = SqliteSaver(connection)
    sqlite_saver.setup()
    return sqlite_saver, connection.close
