"""One SQLite writer at a time, queued in Python, with requests ahead of background work.

SQLite allows one write transaction at a time. A writer that finds the lock taken sleeps in SQLite's busy
handler (1, 2, 5, ... 100 ms) and retries; meanwhile any other writer may take the lock, so with the
background worker writing back to back, a webhook's write could wait for seconds. This gate takes the
turn in Python instead, just before a transaction's first write: waiting writers wake the moment the
previous one commits, and a writer serving a request goes before waiting background threads.

PostgreSQL locks rows, not the database; it needs none of this.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event

from core.priority import is_background

_WRITES = ("insert", "update", "delete", "replace")


class WriteGate:
    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._holder: int | None = None  # thread id
        self._depth = 0
        self._foreground_waiting = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        background = is_background()
        with self._turn:
            if self._holder == me:  # a nested session on this thread: SQLite itself decides, as before
                self._depth += 1
                return
            if not background:
                self._foreground_waiting += 1
            try:
                while self._holder is not None or (background and self._foreground_waiting):
                    self._turn.wait()
            finally:
                if not background:
                    self._foreground_waiting -= 1
            self._holder, self._depth = me, 1

    def release(self) -> None:
        with self._turn:
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
                self._turn.notify_all()


def install(engine: Engine) -> WriteGate:
    """Take the gate before a transaction's first write; give it back when the transaction ends."""
    gate = WriteGate()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not conn.info.get("write_gate") and statement.lstrip()[:7].lower().startswith(_WRITES):
            gate.acquire()
            conn.info["write_gate"] = True

    def _end(conn: Any) -> None:
        if conn.info.pop("write_gate", False):
            gate.release()

    # The commit event comes just before SQLite's commit: the next writer may meet SQLite's lock for the
    # microseconds that takes, and its busy handler retries after 1 ms.
    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:  # a connection dropped mid-transaction
        if record is not None and record.info.pop("write_gate", False):
            gate.release()

    return gate
