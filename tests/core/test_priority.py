"""Foreground first: background threads wait for requests in flight, and SQLite writers queue in Python
with request threads ahead of background ones."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from core import priority
from core.db import Database, make_engine
from core.sqlite_writes import WriteGate


def test_background_work_steps_aside_while_a_request_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "MAX_PAUSE_SECONDS", 10.0)  # the cap is not what this test is about
    order: list[str] = []
    request_started, background_done = threading.Event(), threading.Event()

    async def slow_endpoint(scope: object, receive: object, send: object) -> None:
        request_started.set()
        await asyncio.sleep(0.02)  # background_done cannot be set while we are in flight
        order.append("request finished")

    def background() -> None:
        priority.mark_background()
        request_started.wait()
        priority.step_aside()
        order.append("background resumed")
        background_done.set()

    worker = threading.Thread(target=background)
    worker.start()
    asyncio.run(priority.ForegroundMiddleware(slow_endpoint)({"type": "http"}, None, None))  # type: ignore[arg-type]
    worker.join(5)
    assert order == ["request finished", "background resumed"]
    assert priority.in_flight() == 0


def test_foreground_threads_never_step_aside() -> None:
    priority._in_flight += 1  # a request in flight, as the middleware counts it
    try:
        done = threading.Event()

        def request_thread() -> None:
            priority.step_aside()
            done.set()

        threading.Thread(target=request_thread).start()
        assert done.wait(priority.MAX_PAUSE_SECONDS / 5)
    finally:
        priority._in_flight -= 1


def test_a_waiting_request_writer_goes_before_waiting_background_writers() -> None:
    gate = WriteGate()
    gate.acquire()  # a background transaction is writing
    turns: list[str] = []
    queued = threading.Barrier(3)

    def writer(name: str, background: bool) -> None:
        if background:
            priority.mark_background()
        queued.wait()
        gate.acquire()
        turns.append(name)
        gate.release()

    threads = [threading.Thread(target=writer, args=("background", True))]
    threads[0].start()
    threads.append(threading.Thread(target=writer, args=("request", False)))
    threads[1].start()
    queued.wait()
    while gate._foreground_waiting == 0:  # both are queued at the gate
        threading.Event().wait(0.001)
    gate.release()
    for thread in threads:
        thread.join(5)
    assert turns == ["request", "background"]


def test_sqlite_writes_take_the_gate_and_give_it_back(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'gate.db'}"))
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    for outcome in ("commit", "rollback"):
        try:
            with db.session() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                if outcome == "rollback":
                    raise RuntimeError("undo")
        except RuntimeError:
            pass
    # were the gate leaked by either transaction, this second thread's write would wait forever
    wrote = threading.Event()

    def write() -> None:
        with db.session() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        wrote.set()

    threading.Thread(target=write, daemon=True).start()
    assert wrote.wait(5)
    with db.session() as session:
        assert session.scalar(text("SELECT count(*) FROM t")) == 2
