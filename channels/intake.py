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
import logging
from collections import Counter
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import insert

from channels.models import Channel, ChannelEvent, ChannelMessage
from core.db import Database, insert_ignoring_duplicates, new_id, table_of, utcnow
from core.jobs import JobQueue

log = logging.getLogger(__name__)
INGEST_KIND = "channels.ingest"


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    raw: bytes
    message_ids: list[str]  # the platform's ids, in order, duplicates included
    statuses: int


@dataclass(frozen=True)
class Receipt:
    messages: int
    stored: int  # message ids claimed by this delivery (0 for a retry or a replay)
    statuses: int


class DeliveryIntake:
    def __init__(self, db: Database, jobs: JobQueue) -> None:
        self._db = db
        self._jobs = jobs
        self._waiting: list[tuple[Delivery, asyncio.Future[Receipt]]] = []
        self._writer: asyncio.Task[None] | None = None  # held: the loop keeps only weak references to tasks

    async def store(self, delivery: Delivery) -> Receipt:
        """Durably store a delivery; returns once its transaction committed (raises if it could not)."""
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        return await future

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                receipts = await run_in_threadpool(self._write_batch, [delivery for delivery, _ in batch])
            except Exception:  # one bad delivery must not fail the others: write them one by one
                log.warning("group write of %d deliveries failed; writing each alone", len(batch))
                receipts = []
                for delivery, future in batch:
                    try:
                        receipts.extend(await run_in_threadpool(self._write_batch, [delivery]))
                    except Exception as exc:
                        _settle(future, error=exc)
                        continue
                    _settle(future, receipts[-1])
            else:
                for (_, future), receipt in zip(batch, receipts, strict=True):
                    _settle(future, receipt)
            if any(receipt.stored or receipt.statuses for receipt in receipts):
                self._jobs.notify()

    def _write_batch(self, deliveries: list[Delivery]) -> list[Receipt]:
        """Three statements for the whole batch, however many deliveries it holds: claim every message id
        (the ones already known come back unclaimed), store every event, queue each channel's ingest."""
        event_ids = [new_id() for _ in deliveries]
        claims = [
            {
                "id": new_id(),
                "tenant_id": delivery.channel.tenant_id,
                "channel_id": delivery.channel.id,
                "event_id": event_id,
                "direction": "in",
                "external_id": external_id,
                "status": "received",
            }
            for delivery, event_id in zip(deliveries, event_ids, strict=True)
            for external_id in dict.fromkeys(delivery.message_ids)
        ]
        with self._db.engine.begin() as connection:
            stored: Counter[str] = Counter()
            if claims:
                claim = insert_ignoring_duplicates(connection, ChannelMessage).returning(
                    table_of(ChannelMessage).c.event_id
                )
                stored.update(row.event_id for row in connection.execute(claim, claims))
            events, channels = [], {}
            for delivery, event_id in zip(deliveries, event_ids, strict=True):
                to_ingest = bool(stored[event_id] or delivery.statuses)
                events.append(
                    {
                        "id": event_id,
                        "channel_id": delivery.channel.id,
                        "body": delivery.raw.decode("utf-8", "replace"),
                        "received_at": utcnow(),  # arrival order: the order ingest follows
                        # a delivery that brings nothing new (a retry, a replay) needs no ingesting
                        "processed_at": None if to_ingest else utcnow(),
                    }
                )
                if to_ingest:
                    channels[delivery.channel.id] = delivery.channel.tenant_id
            connection.execute(insert(table_of(ChannelEvent)), events)
            for channel_id, tenant_id in channels.items():
                self._jobs.enqueue_once(
                    INGEST_KIND,
                    {"channel_id": channel_id},
                    key=f"{INGEST_KIND}:{channel_id}",
                    tenant_id=tenant_id,
                    session=connection,
                )
        return [
            Receipt(messages=len(delivery.message_ids), stored=stored[event_id], statuses=delivery.statuses)
            for delivery, event_id in zip(deliveries, event_ids, strict=True)
        ]


def _settle(
    future: asyncio.Future[Receipt], receipt: Receipt | None = None, error: Exception | None = None
) -> None:
    if future.done():  # the request was cancelled (its client hung up); the delivery is stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(receipt)  # type: ignore[arg-type]
