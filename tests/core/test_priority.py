"""Foreground first: under load background threads get a bounded share of the CPU, and SQLite writers queue
in Python with request threads ahead of background ones."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from core import priority
from core.db import Database, make_engine
from core.sqlite_writes import WriteGate


class FakeClocks:
    """One background thread's CPU clock and the wall clock, advanced by the test; sleeping moves the
    wall clock on."""

    def __init__(self) -> None:
        self.cpu, self.now, self.slept = 0.0, 100.0, 0.0
        self.requests_until = float("inf")  # requests are being served until then

    def work(self, seconds: float) -> None:
        self.cpu += seconds
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def account(self, share: float) -> priority.BackgroundShare:
        return priority.BackgroundShare(
            share,
            cpu=lambda: self.cpu,
            clock=lambda: self.now,
            sleep=self.sleep,
            is_busy=lambda: self.now < self.requests_until,
        )


def on_a_fresh_thread(work: Callable[[], None]) -> None:
    """The account keeps each thread's CPU mark: every test's background work starts on a new thread."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)


def test_under_load_background_work_gets_its_share_of_the_cpu() -> None:
    clocks = FakeClocks()
    account = clocks.account(0.1)
    result: list[float] = []

    def background() -> None:
        account.step()  # the first step only sets this thread's mark
        for _ in range(50):
            clocks.work(0.004)  # 4 ms of CPU between step points (a graph step, a session)
            account.step()
        result.append(clocks.cpu / (clocks.now - 100.0))

    on_a_fresh_thread(background)
    assert 0.09 <= result[0] <= 0.11  # 10 % of one CPU while requests are being served


def test_when_the_requests_stop_background_work_runs_freely_and_its_debt_is_forgiven() -> None:
    clocks = FakeClocks()
    account = clocks.account(0.1)
    waits: list[float] = []

    def background() -> None:
        account.step()
        clocks.work(0.05)  # a long step: 50 ms in debt, which would cost 450 ms at 10 %
        clocks.requests_until = clocks.now + 0.1  # the requests stop 100 ms from now
        waits.append(account.step())
        clocks.work(0.05)
        waits.append(account.step())  # nothing is being served: no wait, nothing owed

    on_a_fresh_thread(background)
    assert 0.1 <= waits[0] < 0.15  # waited until the requests stopped, not the full 450 ms
    assert waits[1] == 0.0


def test_waiting_on_the_network_costs_no_share() -> None:
    clocks = FakeClocks()
    account = clocks.account(0.1)
    waits: list[float] = []

    def background() -> None:
        account.step()
        clocks.now += 2.0  # two seconds waiting for a network model: wall time, no CPU
        waits.append(account.step())

    on_a_fresh_thread(background)
    assert waits == [0.0]


def test_a_request_counts_as_busy_while_it_is_in_flight() -> None:
    foreground, other = priority.Foreground(), priority.Foreground()

    async def endpoint(scope: object, receive: object, send: object) -> None:
        assert foreground.busy() and foreground.in_flight == 1
        assert not other.busy()  # another app's requests are its own

    middleware = priority.ForegroundMiddleware(endpoint, foreground)
    asyncio.run(middleware({"type": "http"}, None, None))  # type: ignore[arg-type]
    assert not foreground.busy() and foreground.in_flight == 0


def test_a_late_event_loop_serving_requests_counts_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests waiting in the sockets are not in flight yet: a late loop is how they show."""
    now = [1000.0]
    monkeypatch.setattr(priority.time, "monotonic", lambda: now[0])
    foreground = priority.Foreground()
    watch = priority.LoopWatch(foreground, clock=lambda: now[0])
    watch.observe(lag=0.05, requests_came=False)  # late, but only the worker's own GIL use: no requests
    assert not foreground.busy()
    watch.observe(lag=0.001, requests_came=True)  # requests, and the loop on time
    assert not foreground.busy()
    watch.observe(lag=0.05, requests_came=True)
    assert foreground.busy()
    now[0] += priority.PRESSURE_HOLD_SECONDS + 0.001
    assert not foreground.busy()


def test_the_loop_watch_notices_a_loop_held_up() -> None:
    foreground = priority.Foreground()

    async def serve_while_the_loop_is_held() -> bool:
        watch = priority.LoopWatch(foreground)
        watch.start()
        await asyncio.sleep(0)  # the watch is waiting for its first wake-up
        foreground.served += 1  # a request came in ...
        time.sleep(0.05)  # ... and the loop could not run for 50 ms (a GIL held elsewhere)
        await asyncio.sleep(priority.WATCH_PERIOD_SECONDS * 2)
        await watch.stop()
        return foreground.busy()

    assert asyncio.run(serve_while_the_loop_is_held())


def test_foreground_threads_never_step_aside() -> None:
    clocks = FakeClocks()
    account = clocks.account(0.1)

    def foreground() -> None:  # a thread nobody marked: it charges no account
        clocks.work(10.0)  # deep in debt, were it charged
        priority.step_aside()
        clocks.work(10.0)
        priority.step_aside()

    on_a_fresh_thread(foreground)
    assert clocks.slept == 0.0

    def background() -> None:  # the same work on a worker's thread waits for its share
        priority.mark_background(account)
        priority.step_aside()
        clocks.work(0.01)
        priority.step_aside()

    on_a_fresh_thread(background)
    assert clocks.slept > 0.0


def test_the_share_is_a_fraction_of_one_cpu() -> None:
    for share in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            priority.BackgroundShare(share, is_busy=lambda: True)


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
