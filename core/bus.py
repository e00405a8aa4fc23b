"""Events between the processes that share a database: `publish(topic, payload)`, `subscribe(topic, handler)`.

For what must reach another process at once: a job queued (wake the workers there), a message for a socket
another process holds, a channel deleted (drop its cached secrets there). Events are nudges, not records: a
process that is down or reconnecting misses them. So a payload only names rows (ids and a few small fields;
the receiver loads what it shows) and every subscriber has a fallback: workers also poll, socket clients
reload on reconnect, and a cache is dropped whole after a gap (`on_gap`).

Every process hears its own events too, so one code path serves one process and many. Chosen by the database:
- SQLite (the embedded default, one process): `InProcessBus` calls the handlers in the publisher's thread.
- PostgreSQL: `PostgresBus`, LISTEN/NOTIFY on one channel per database schema, over two connections of its
  own (a listener thread and a sender thread), reconnecting when either is lost. Nothing else to run.

Handlers run in the bus's thread (or the publisher's): they must be quick and thread-safe, handing real
work to their own event loop. A payload is JSON of at most MAX_PAYLOAD bytes (NOTIFY's limit is 8000) in
both implementations, so an oversized one fails on SQLite in tests too, not first in production.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
MAX_PAYLOAD = 7900  # bytes of the encoded event (topic included); PostgreSQL refuses NOTIFY payloads of 8000
RECONNECT_SECONDS = 1.0
_STOP = object()


class Bus(Protocol):
    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Tell every process (this one included); never blocks on the network, never raises for it."""
        ...

    def subscribe(self, topic: str, handler: Handler) -> None: ...

    def on_gap(self, handler: Callable[[], None]) -> None:
        """`handler` runs when events may have been missed (the listener lost its connection)."""
        ...

    def close(self) -> None: ...


def encode(topic: str, payload: dict[str, Any]) -> str:
    raw = json.dumps({"t": topic, "p": payload}, separators=(",", ":"), ensure_ascii=False)
    if len(raw.encode()) > MAX_PAYLOAD:
        raise ValueError(
            f"bus event {topic!r} is {len(raw.encode())} bytes, over {MAX_PAYLOAD}: send ids, load the rows"
        )
    return raw


class _Handlers:
    """Handlers by topic, called one by one; one failing does not stop the others."""

    def __init__(self) -> None:
        self._by_topic: dict[str, list[Handler]] = {}
        self._gap: list[Callable[[], None]] = []

    def add(self, topic: str, handler: Handler) -> None:
        # A new list each time: the listener thread may be iterating the old one.
        self._by_topic[topic] = [*self._by_topic.get(topic, ()), handler]

    def add_gap(self, handler: Callable[[], None]) -> None:
        self._gap = [*self._gap, handler]

    def dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
            topic, payload = event["t"], event["p"]
        except (ValueError, KeyError, TypeError):
            log.warning("bus: ignored a malformed event %.200r", raw)
            return
        for handler in self._by_topic.get(topic, ()):
            try:
                handler(payload)
            except Exception:
                log.exception("bus: a handler of %r failed", topic)

    def gap(self) -> None:
        for handler in self._gap:
            try:
                handler()
            except Exception:
                log.exception("bus: a gap handler failed")


class InProcessBus:
    """One process: handlers run at once, in the publisher's thread, on a decoded copy of the payload
    (what they would get from PostgreSQL)."""

    def __init__(self) -> None:
        self._handlers = _Handlers()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._handlers.dispatch(encode(topic, payload))

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.add(topic, handler)

    def on_gap(self, handler: Callable[[], None]) -> None:
        self._handlers.add_gap(handler)  # never called: nothing is missed within one process

    def close(self) -> None:
        pass


class PostgresBus:
    """LISTEN/NOTIFY on `channel`. Started on first use; `subscribe` returns once the listener listens, so
    what is published after it is heard. Publishing queues the event for the sender thread, which sends
    what has gathered in one transaction (PostgreSQL folds identical events of a transaction into one:
    a burst of job wake-ups costs one)."""

    def __init__(self, conninfo: str, channel: str, *, reconnect_seconds: float = RECONNECT_SECONDS) -> None:
        self._conninfo = conninfo
        self.channel = channel
        self._reconnect = reconnect_seconds
        self._handlers = _Handlers()
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._start_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        raw = encode(topic, payload)
        self._start()
        self._outbox.put(raw)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.add(topic, handler)
        self._start()
        if not self._listening.wait(timeout=10):
            log.warning("bus: not listening on %s yet (still trying): events may be missed", self.channel)

    def on_gap(self, handler: Callable[[], None]) -> None:
        self._handlers.add_gap(handler)

    def close(self) -> None:
        self._stopping.set()
        self._outbox.put(_STOP)  # the sender sends what is queued, then wakes the listener so it stops now
        for thread in self._threads:
            thread.join(timeout=5)

    def _start(self) -> None:
        with self._start_lock:
            if self._threads or self._stopping.is_set():
                return
            self._threads = [
                threading.Thread(target=self._listen, name="parley-bus-listen", daemon=True),
                threading.Thread(target=self._send, name="parley-bus-send", daemon=True),
            ]
            for thread in self._threads:
                thread.start()

    def _connect(self, role: str) -> Any:
        import psycopg  # only with PostgreSQL

        return psycopg.connect(self._conninfo, autocommit=True, application_name=f"parley-bus-{role}")

    def _listen(self) -> None:
        from psycopg import sql

        connected_before = False
        while not self._stopping.is_set():
            try:
                with self._connect("listen") as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._listening.set()
                    if connected_before:  # events published while we were away were not heard
                        log.info("bus: listening on %s again", self.channel)
                        self._handlers.gap()
                    connected_before = True
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if self._stopping.is_set():
                                break
                            if note.payload:  # the empty one is close()'s wake-up
                                self._handlers.dispatch(note.payload)
            except Exception as exc:  # the connection was lost (or never made): try again shortly
                self._listening.clear()
                if self._stopping.is_set():
                    break
                log.warning("bus: listener on %s lost its connection (%s); reconnecting", self.channel, exc)
                self._stopping.wait(self._reconnect)

    def _send(self) -> None:
        conn: Any = None
        while True:
            batch = [self._outbox.get()]
            while len(batch) < 500:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            events = [item for item in batch if isinstance(item, str)]
            if stop:
                events.append("")
            for attempt in range(2):  # once more on a fresh connection; then dropped (subscribers fall back)
                try:
                    if conn is None or conn.closed:
                        conn = self._connect("send")
                    with conn.transaction(), conn.cursor() as cursor:
                        cursor.executemany("SELECT pg_notify(%s, %s)", [(self.channel, e) for e in events])
                    break
                except Exception as exc:
                    log.warning("bus: sending %d events failed (%s)", len(events), exc)
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 0 and not stop:
                        self._stopping.wait(self._reconnect)
            if stop:
                if conn is not None:
                    conn.close()
                return


def open_bus(database_url: str, schema: str | None = None) -> Bus:
    """The bus for this database: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL. Processes on one
    PostgreSQL schema share a channel; another schema (tests isolate themselves so) hears nothing of it."""
    if not database_url.startswith("postgresql"):
        return InProcessBus()
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    channel = f"parley_{schema}" if schema else "parley"
    return PostgresBus(url.render_as_string(hide_password=False), channel[:63])
