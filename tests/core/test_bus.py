"""The bus (core/bus.py): in-process always; LISTEN/NOTIFY between two buses when PostgreSQL is set."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from core.bus import MAX_PAYLOAD, Bus, InProcessBus, PostgresBus, open_bus
from tests.conftest import PG_URL


class Heard:
    """What a subscriber heard, waited for from the test's thread."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.gaps = 0
        self._changed = threading.Condition()

    def __call__(self, payload: dict[str, Any]) -> None:
        with self._changed:
            self.events.append(payload)
            self._changed.notify_all()

    def gap(self) -> None:
        with self._changed:
            self.gaps += 1
            self._changed.notify_all()

    def wait(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        with self._changed:
            assert self._changed.wait_for(done, timeout), f"heard {self.events}, {self.gaps} gaps"


def test_in_process_bus_calls_subscribers_of_the_topic_with_a_copy() -> None:
    bus = InProcessBus()
    heard, other = Heard(), Heard()
    bus.subscribe("jobs", heard)
    bus.subscribe("inbox", other)
    payload = {"id": "m1", "tags": ["a"]}
    bus.publish("jobs", payload)
    assert heard.events == [payload] and heard.events[0] is not payload  # as decoded from the wire
    assert other.events == []


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus = InProcessBus()
    heard = Heard()

    def broken(_: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    bus.subscribe("t", broken)
    bus.subscribe("t", heard)
    bus.publish("t", {"n": 1})
    assert heard.events == [{"n": 1}]


def test_an_oversized_payload_is_refused_in_process_too() -> None:
    # NOTIFY's limit, enforced where the embedded default runs, so tests on SQLite catch it.
    with pytest.raises(ValueError, match="send ids"):
        InProcessBus().publish("t", {"text": "字" * (MAX_PAYLOAD // 3 + 1)})


def test_sqlite_gets_the_in_process_bus() -> None:
    assert isinstance(open_bus("sqlite:////tmp/x.db"), InProcessBus)


needs_pg = pytest.mark.skipif(not PG_URL, reason="PARLEY_TEST_DATABASE_URL not set")


@pytest.fixture
def pg_buses() -> Iterator[Callable[[], PostgresBus]]:
    """Buses on one fresh channel, as two processes on one schema would have."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    made: list[PostgresBus] = []

    def make() -> PostgresBus:
        bus = open_bus(PG_URL, schema)
        assert isinstance(bus, PostgresBus)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close()


@needs_pg
def test_postgres_bus_reaches_the_other_process_and_its_own(pg_buses: Callable[[], PostgresBus]) -> None:
    a, b = pg_buses(), pg_buses()
    heard_a, heard_b = Heard(), Heard()
    a.subscribe("inbox", heard_a)
    b.subscribe("inbox", heard_b)
    for n in range(3):
        a.publish("inbox", {"n": n, "text": "你好"})
    expected = [{"n": n, "text": "你好"} for n in range(3)]
    heard_b.wait(lambda: len(heard_b.events) == 3)
    heard_a.wait(lambda: len(heard_a.events) == 3)
    assert heard_b.events == expected and heard_a.events == expected  # in order, on both


@needs_pg
def test_postgres_bus_is_quick(pg_buses: Callable[[], PostgresBus]) -> None:
    a, b = pg_buses(), pg_buses()
    heard = Heard()
    b.subscribe("jobs", heard)
    a.publish("jobs", {})  # the first connects
    heard.wait(lambda: len(heard.events) == 1)
    started = time.perf_counter()
    a.publish("jobs", {"n": 2})
    heard.wait(lambda: len(heard.events) == 2)
    assert time.perf_counter() - started < 0.5


@needs_pg
def test_another_schema_hears_nothing(pg_buses: Callable[[], PostgresBus]) -> None:
    assert PG_URL
    mine, elsewhere = pg_buses(), open_bus(PG_URL, "t_someone_else")
    try:
        heard, stray = Heard(), Heard()
        mine.subscribe("t", heard)
        elsewhere.subscribe("t", stray)
        mine.publish("t", {"n": 1})
        heard.wait(lambda: len(heard.events) == 1)
        time.sleep(0.1)
        assert stray.events == []
    finally:
        elsewhere.close()


@needs_pg
def test_postgres_bus_listens_again_after_losing_its_connection(
    pg_buses: Callable[[], PostgresBus],
) -> None:
    assert PG_URL
    a = pg_buses()
    b = PostgresBus(a._conninfo, a.channel, reconnect_seconds=0.05)  # same channel: another process
    try:
        heard = Heard()
        b.subscribe("t", heard)
        b.on_gap(heard.gap)
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # what a database restart or a network cut does to the listener
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'parley-bus-listen' AND query LIKE :listen"
                ),
                {"listen": f'LISTEN "{a.channel}"%'},
            ).all()
        admin.dispose()
        assert killed
        heard.wait(lambda: heard.gaps == 1)  # subscribers are told they may have missed events
        a.publish("t", {"n": 1})
        heard.wait(lambda: heard.events == [{"n": 1}])
    finally:
        b.close()


def test_close_is_prompt_for_every_kind() -> None:
    buses: list[Bus] = [InProcessBus()]
    if PG_URL:
        pg = open_bus(PG_URL, f"t_{uuid.uuid4().hex[:12]}")
        pg.subscribe("t", lambda _: None)
        pg.publish("t", {})
        buses.append(pg)
    for bus in buses:
        started = time.perf_counter()
        bus.close()
        assert time.perf_counter() - started < 0.5
