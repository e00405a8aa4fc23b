"""Webhook intake: make each verified delivery durable and deduplicated, then let the handler acknowledge.

Deliveries that arrive while a write is in progress are written together in the next transaction (group
commit): a lone delivery is written at once, and under load one transaction and one thread hop serve
many deliveries instead of one each. Each delivery's acknowledgement still waits for its own commit.

Per delivery: the raw event, one row per message id not seen before (INSERT ... ON CONFLICT DO NOTHING on
the channel's unique key, so a retry, a replay or a duplicate inside the delivery claims nothing, and two
racing deliveries of one message cannot both claim it), and a keyed ingest job for its channel. What the
messages mean (contacts, conversations, inbox messages, statuses) is the ingest job's work
(channels/processing.py), off the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from channels.models import Channel, ChannelEvent, ChannelMessage
from core.bulk_insert import insert_rows
from core.db import Database, new_id, table_of, utcnow
from core.jobs import JobQueue

log = logging.getLogger(__name__)
INGEST_KIND = "channels.ingest"
COMMIT_DELAY_SECONDS = 0.002
MAX_BATCH = 1000  # deliveries per transaction (its statements stay well inside the drivers' limits)
_MESSAGES, _EVENTS = table_of(ChannelMessage), table_of(ChannelEvent)
_CLAIM = (
    "id",
    "tenant_id",
    "channel_id",
    "event_id",
    "direction",
    "external_id",
    "status",
    "created_at",
    "updated_at",
)
_EVENT = ("id", "channel_id", "body", "received_at", "processed_at")


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    raw: bytes
    message_ids: list[str]  # the platform's ids, in order, duplicates included
    statuses: int
    unparsed: int = 0  # events that could not be read: recorded when the delivery is ingested
    # platform events' ids (reactions, edits, follows): claimed like messages, so a redelivered one (a
    # follow's welcome, say) is applied once
    event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Receipt:
    messages: int
    stored: int  # message and event ids claimed by this delivery (0 for a retry or a replay)
    statuses: int
    unparsed: int = 0
    events: int = 0


# A delivery waiting for the writer, with the future its request awaits and that future's event loop.
_Waiting = tuple[Delivery, "asyncio.Future[Receipt]", asyncio.AbstractEventLoop]


class DeliveryIntake:
    """Group commit on one writer thread of its own. Requests hand their delivery over and await a future;
    the thread takes everything waiting, writes it in one transaction and settles the futures on their
    event loops (one hop per loop per batch). A thread of its own instead of a threadpool call per batch:
    under load the handover is a queue append, not a task, a capacity limiter and a thread hop each."""

    def __init__(self, db: Database, jobs: JobQueue) -> None:
        self._db = db
        self._jobs = jobs
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False
        # The writer thread's own connection, kept between batches: taking one from the pool and giving
        # it back (with its reset) cost more than a small batch's inserts.
        self._connection: Connection | None = None

    async def store(self, delivery: Delivery) -> Receipt:
        """Durably store a delivery; returns once its transaction committed (raises if it could not)."""
        if self._closed:
            raise RuntimeError("the delivery intake is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        if self._writer is None:
            self._start_writer()
        self._waiting.put((delivery, future, loop))
        return await future

    def close(self) -> None:
        """Write what is waiting, then stop the writer thread (the app stopping)."""
        self._closed = True
        if self._writer is not None:
            self._waiting.put(None)
            self._writer.join()
            self._writer = None

    def _start_writer(self) -> None:
        with self._start:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_forever, name="parley-intake", daemon=True)
                self._writer.start()

    def _write_forever(self) -> None:
        try:
            self._write_until_closed()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _write_until_closed(self) -> None:
        siblings = 0  # deliveries in the last batch: more than one means they are arriving together
        while True:
            first = self._waiting.get()
            if siblings > 1 and first is not None:
                # Commit delay: under a stream of deliveries, let the batch fill a moment longer. A
                # transaction's own cost is most of a small batch's (CPU per delivery: 141 µs alone, 44 in
                # a batch of 6, 24 in one of 32), and it is CPU the requests need; a couple of milliseconds
                # on an acknowledgement is nothing beside Meta's 250 ms. A lone delivery is written at once.
                time.sleep(COMMIT_DELAY_SECONDS)
            batch, stopping = ([first] if first is not None else []), first is None
            while not stopping and len(batch) < MAX_BATCH:  # what arrived while the last batch was written
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            siblings = len(batch)
            if batch:
                try:
                    self._write_and_settle(batch)
                except Exception:  # never let the writer die: every later delivery would wait forever
                    log.exception("delivery intake: settling a batch of %d failed", len(batch))
            if stopping:
                return

    def _write_and_settle(self, batch: list[_Waiting]) -> None:
        outcomes: list[Receipt | BaseException]
        try:
            outcomes = list(self._write_batch([delivery for delivery, _, _ in batch]))
        except Exception:  # one bad delivery must not fail the others: write them one by one
            log.warning("group write of %d deliveries failed; writing each alone", len(batch))
            outcomes = []
            for delivery, _, _ in batch:
                try:
                    outcomes.extend(self._write_batch([delivery]))
                except Exception as exc:
                    outcomes.append(exc)
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], Receipt | BaseException]]
        ] = {}
        for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop was closed: nobody waits there any more
                loop.call_soon_threadsafe(_settle_all, settled)
        if any(isinstance(o, Receipt) and (o.stored or o.statuses or o.unparsed) for o in outcomes):
            self._jobs.notify()

    def _write_batch(self, deliveries: list[Delivery]) -> list[Receipt]:
        """Three statements for the whole batch, however many deliveries it holds: claim every message id
        (ids already known claim nothing), store every event, queue each channel's ingest."""
        now = utcnow()
        event_ids = [new_id() for _ in deliveries]
        claims = [
            (new_id(), d.channel.tenant_id, d.channel.id, event_id, "in", external_id, "received", now, now)
            for d, event_id in zip(deliveries, event_ids, strict=True)
            for external_id in dict.fromkeys([*d.message_ids, *d.event_ids])
        ]
        if self._connection is None:
            self._connection = self._db.engine.connect()
        try:
            return self._write_in(self._connection, deliveries, event_ids, claims, now)
        except Exception:  # the connection may be what failed: the next batch takes a fresh one
            self._connection.close()
            self._connection = None
            raise

    def _write_in(
        self,
        connection: Connection,
        deliveries: list[Delivery],
        event_ids: list[str],
        claims: list[tuple[Any, ...]],
        now: datetime,
    ) -> list[Receipt]:
        with connection.begin():
            stored: Counter[str] = Counter()
            if claims:
                stored.update(claim[3] for claim in claims)  # each delivery claims its ids ...
                if insert_rows(connection, _MESSAGES, _CLAIM, claims, ignore_conflicts=True) < len(claims):
                    # ... unless some were known already (a retry, a replay, a duplicate storm): then
                    # count what this batch's events did claim
                    claimed = select(_MESSAGES.c.event_id).where(_MESSAGES.c.event_id.in_(event_ids))
                    stored = Counter(connection.scalars(claimed))
            events, channels = [], {}
            for delivery, event_id in zip(deliveries, event_ids, strict=True):
                # a delivery that brings nothing new (a retry, a replay) needs no ingesting
                to_ingest = bool(stored[event_id] or delivery.statuses or delivery.unparsed)
                body = delivery.raw.decode("utf-8", "replace")
                # received_at is the arrival order ingest follows (one batch: event ids break the tie)
                events.append((event_id, delivery.channel.id, body, now, None if to_ingest else now))
                if to_ingest:
                    channels[delivery.channel.id] = delivery.channel.tenant_id
            insert_rows(connection, _EVENTS, _EVENT, events)
            for channel_id, tenant_id in channels.items():
                self._jobs.enqueue_once(
                    INGEST_KIND,
                    {"channel_id": channel_id},
                    key=f"{INGEST_KIND}:{channel_id}",
                    tenant_id=tenant_id,
                    session=connection,
                )
        return [
            Receipt(
                messages=len(delivery.message_ids),
                stored=stored[event_id],
                statuses=delivery.statuses,
                unparsed=delivery.unparsed,
                events=len(delivery.event_ids),
            )
            for delivery, event_id in zip(deliveries, event_ids, strict=True)
        ]


def claim(connection: Connection, channel: Channel, event_id: str, external_ids: list[str]) -> list[str]:
    """Claim message or event ids for a delivery outside the intake (a retried unparsed event,
    channels/unparsed_retry.py): returns the ids of the claim rows made, none for an id claimed before."""
    now = utcnow()
    rows = [
        (new_id(), channel.tenant_id, channel.id, event_id, "in", external_id, "received", now, now)
        for external_id in dict.fromkeys(external_ids)
    ]
    if not rows:
        return []
    insert_rows(connection, _MESSAGES, _CLAIM, rows, ignore_conflicts=True)
    made = [row[0] for row in rows]
    return list(connection.scalars(select(_MESSAGES.c.id).where(_MESSAGES.c.id.in_(made))))


def _settle_all(settled: list[tuple[asyncio.Future[Receipt], Receipt | BaseException]]) -> None:
    for future, outcome in settled:
        # done already: its request was cancelled (the client hung up); the delivery is stored all the same
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
