"""Sending broadcasts: a durable job per broadcast that works through its recipient rows.

Each run sends for at most RUN_SECONDS and queues the next, so a restart resumes within a short lease.
A recipient is marked `sending` (committed) before its message goes out and settled after; a run that
finds `sending` rows left by a dead run marks them `uncertain` and never sends them again: nobody gets a
broadcast twice. Messages go through the outbox (channels/outbox.py, reached through
crm/broadcasts/sending.py), which sends at the channel account's ceiling and never above it, on a budget
shared with every other sender through the number. While one batch is on the wire the next is claimed
and the previous one settled, so the database never leaves the ceiling idle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session

from core.db import Database, utcnow
from core.errors import NotFound
from core.jobs import JobQueue
from crm.broadcasts.models import SEND_KIND, TAG_PREFIX, Broadcast, Content, Recipient, send_key
from crm.broadcasts.personalise import MissingValue, render
from crm.broadcasts.sending import Line, Media, Outbox, Outcome, Outgoing, Template
from crm.broadcasts.store import BroadcastStore
from crm.models import Contact

log = logging.getLogger(__name__)
RUN_SECONDS = 5.0
LEASE_SECONDS = 30.0  # > a run plus a send's timeout: a live run is never taken for dead
MAX_ATTEMPTS = 5
SENT = ("sent", "delivered", "read")


@dataclass
class Claimed:
    """One claimed recipient and what to send them (or why not)."""

    row_id: str
    to: str
    route: str  # text | media | template | skip
    outgoing: Outgoing | None = None
    last_customer: datetime | None = None
    skip: str = ""
    attempts: int = 0
    started: bool = False


class BroadcastSender:
    def __init__(
        self,
        db: Database,
        broadcasts: BroadcastStore,
        outbox: Outbox,
        jobs: JobQueue,
    ) -> None:
        self._db = db
        self._broadcasts = broadcasts
        self._outbox = outbox
        self._jobs = jobs
        jobs.register(SEND_KIND, self.run, lease_seconds=LEASE_SECONDS)

    # --- the job ------------------------------------------------------------------------------------
    def run(self, payload: dict[str, Any]) -> None:
        with self._db.session() as session:
            broadcast = session.get(Broadcast, payload["broadcast_id"])
        if broadcast is None:
            return  # deleted
        if broadcast.status == "scheduled":
            if broadcast.send_at and broadcast.send_at > utcnow():  # rescheduled later: wait for it
                self._requeue(broadcast, broadcast.send_at)
                return
            if not self._start(broadcast):
                return
            broadcast.status = "sending"
        if broadcast.status == "sent" and self._reopen(broadcast):  # the agent enrolled someone since
            broadcast.status = "sending"
        if broadcast.status != "sending":
            return  # paused or cancelled: resume queues a new run
        try:
            line: Line | None = self._outbox.line(broadcast.channel_id, broadcast.tenant_id)
        except NotFound:
            self._fail_all(broadcast.id, "the broadcast's channel was deleted")
            line = None
        if line is not None:
            if not broadcast.audience_ready:
                self._broadcasts.recipients.write(broadcast)
            self._abandon_in_flight(broadcast.id)
            self._outbox.run(self._send_for(broadcast, line, time.monotonic() + RUN_SECONDS))
        self._next_run(broadcast)

    def _start(self, broadcast: Broadcast) -> bool:
        with self._db.session() as session:
            started = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast.id, Broadcast.status == "scheduled")
                .values(status="sending", updated_at=utcnow())
            )
            return bool(started.rowcount)  # type: ignore[attr-defined]

    def _reopen(self, broadcast: Broadcast) -> bool:
        with self._db.session() as session:
            reopened = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast.id, Broadcast.status == "sent", _waiting(broadcast.id))
                .values(status="sending", finished_at=None, updated_at=utcnow())
            )
            return bool(reopened.rowcount)  # type: ignore[attr-defined]

    def _requeue(self, broadcast: Broadcast, at: datetime | None) -> None:
        self._jobs.enqueue_once(
            SEND_KIND,
            {"broadcast_id": broadcast.id},
            key=send_key(broadcast.id),
            tenant_id=broadcast.tenant_id,
            run_at=at,
        )

    def _next_run(self, broadcast: Broadcast) -> None:
        """Queue the next run for the next due recipient, or mark the broadcast sent when none is left."""
        with self._db.session() as session:
            status = session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast.id))
            if status != "sending":
                return
            next_due = session.scalar(
                select(func.min(Recipient.due_at)).where(
                    Recipient.broadcast_id == broadcast.id, Recipient.status.in_(("pending", "sending"))
                )
            )
            if next_due is None:  # (unless someone was enrolled in the meantime)
                session.execute(
                    update(Broadcast)
                    .where(
                        Broadcast.id == broadcast.id, Broadcast.status == "sending", ~_waiting(broadcast.id)
                    )
                    .values(status="sent", finished_at=utcnow(), updated_at=utcnow())
                )
                return
        self._requeue(broadcast, next_due if next_due > utcnow() else None)

    def _abandon_in_flight(self, broadcast_id: str) -> None:
        with self._db.session() as session:
            session.execute(
                update(Recipient)
                .where(Recipient.broadcast_id == broadcast_id, Recipient.status == "sending")
                .values(
                    status="uncertain",
                    error="the sender stopped while sending; not sent again, to avoid a duplicate",
                )
            )

    def _requeue_unsent(self, row_ids: list[str]) -> None:
        if not row_ids:
            return
        with self._db.session() as session:
            session.execute(
                update(Recipient)
                .where(Recipient.id.in_(row_ids), Recipient.status == "sending")
                .values(status="pending", attempts=Recipient.attempts - 1)
            )

    def _fail_all(self, broadcast_id: str, reason: str) -> None:
        with self._db.session() as session:
            session.execute(
                update(Recipient)
                .where(Recipient.broadcast_id == broadcast_id, Recipient.status == "pending")
                .values(status="failed", error=reason)
            )

    # --- sending ------------------------------------------------------------------------------------
    async def _send_for(self, broadcast: Broadcast, line: Line, deadline: float) -> None:
        content = Content.model_validate(broadcast.content)
        size = line.batch_size
        on_wire: deque[tuple[list[Claimed], list[asyncio.Task[Outcome]]]] = deque()
        try:
            while True:
                batch = (
                    None
                    if time.monotonic() > deadline
                    else await asyncio.to_thread(self._claim, broadcast, line, content, size)
                )
                if batch:
                    tasks = [asyncio.create_task(self._send(line, item)) for item in batch]
                    on_wire.append((batch, tasks))
                # Settle earlier batches while this one is on the wire (all of them once nothing is left).
                while on_wire and (len(on_wire) > 1 or batch is None):
                    done, tasks = on_wire.popleft()
                    results = await asyncio.gather(*tasks)
                    await asyncio.to_thread(self._settle, line, done, results)
                if batch is None:
                    return
        finally:  # failing midway: what never reached the platform goes back to the queue
            for waiting, tasks in on_wire:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                unsent = [item.row_id for item in waiting if not item.started]
                await asyncio.to_thread(self._requeue_unsent, unsent)

    @staticmethod
    async def _send(line: Line, item: Claimed) -> Outcome:
        assert item.outgoing is not None  # claimed to be sent
        # The outbox calls back the moment the request leaves: a send cancelled before then certainly
        # never reached the platform and may go again.
        return await line.send(
            item.to, item.outgoing, "broadcast", item.last_customer, lambda: setattr(item, "started", True)
        )

    # --- the database side of a batch -----------------------------------------------------------------
    def _claim(self, broadcast: Broadcast, line: Line, content: Content, size: int) -> list[Claimed] | None:
        """Due recipients -> `sending`, with what each gets decided from the channel's rules; those a rule
        stops are settled as skipped in the same transaction. None: nothing is due (or the broadcast was
        paused or cancelled since the last batch)."""
        now = utcnow()
        with self._db.session() as session:
            if session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast.id)) != "sending":
                return None
            rows = list(
                session.scalars(
                    select(Recipient)
                    .where(
                        Recipient.broadcast_id == broadcast.id,
                        Recipient.status == "pending",
                        Recipient.due_at <= now,
                    )
                    .order_by(Recipient.due_at, Recipient.id)
                    .limit(size)
                )
            )
            if not rows:
                return None
            ids = [r.contact_id for r in rows]
            if line.broadcasts_per_month:
                _serialise_claims(session, ids)
            contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
            last_seen = line.last_customer_messages_at(session, ids)
            this_month = self._sent_this_month(session, ids, line, now)
            batch: list[Claimed] = []
            for row in rows:
                item = self._plan(
                    row, contacts.get(row.contact_id), content, line, last_seen, this_month, now
                )
                if item.route == "skip":
                    row.status, row.error = "skipped", item.skip
                else:
                    row.status, row.route, row.attempts = "sending", item.route, row.attempts + 1
                    item.attempts = row.attempts
                    batch.append(item)
            return batch

    def _plan(
        self,
        row: Recipient,
        contact: Contact | None,
        content: Content,
        line: Line,
        last_seen: dict[str, datetime],
        this_month: dict[str, int],
        now: datetime,
    ) -> Claimed:
        def skip(reason: str) -> Claimed:
            return Claimed(row_id=row.id, to=row.address or "", route="skip", skip=reason)

        if contact is None or contact.opted_out:
            return skip("the contact opted out of broadcasts")
        kind = line.kind
        if not row.address:
            return skip(f"the contact cannot be reached on {kind} (no {kind} id or phone)")
        per_month = line.broadcasts_per_month
        if per_month and this_month.get(contact.id, 0) >= per_month:
            return skip(f"{kind} allows {per_month} broadcasts per follower per month")
        text = render(content.text, contact) if content.text else ""
        last_customer = last_seen.get(contact.id)
        tag = f"{TAG_PREFIX}{row.id}"  # the row, for a status whose message id a crash lost

        def planned(route: str, outgoing: Outgoing) -> Claimed:
            return Claimed(row.id, row.address or "", route, outgoing, last_customer)

        if line.window_open(last_customer, now) and (text or content.media):
            media = Media(content.media.kind, content.media.link) if content.media else None
            # WhatsApp sends media as such; other channels send the link with the text (the outbox).
            route = "media" if media and kind == "whatsapp" else "text"
            return planned(route, Outgoing(text=text, media=media, tag=tag))
        if content.template and kind == "whatsapp":
            try:
                parameters = [render(v, contact, strict=True) for v in content.template.variables]
            except MissingValue as missing:
                return skip(f"template parameter: {missing}")
            template = Template(content.template.name, content.template.language, parameters)
            return planned("template", Outgoing(template=template, tag=tag))
        return skip(line.window_closed())

    @staticmethod
    def _sent_this_month(
        session: Session, contact_ids: list[str], line: Line, now: datetime
    ) -> dict[str, int]:
        if not line.broadcasts_per_month:
            return {}
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        rows = session.execute(
            select(Recipient.contact_id, func.count())
            .where(
                Recipient.contact_id.in_(contact_ids),
                Recipient.channel_id == line.channel_id,
                # in flight too: two broadcasts claiming at once must not both take the last one
                Recipient.status.in_((*SENT, "sending", "uncertain")),
                func.coalesce(Recipient.sent_at, Recipient.due_at) >= month,
            )
            .group_by(Recipient.contact_id)
        ).all()
        return {contact: int(count) for contact, count in rows}

    def _settle(self, line: Line, batch: list[Claimed], results: list[Outcome]) -> None:
        now = utcnow()
        with self._db.session() as session:
            # The records status webhooks update (channels/processing.py), and what those already said.
            early = line.record(session, [sent.external_id for sent in results if sent.status == "sent"])
            for item, outcome in zip(batch, results, strict=True):
                values: dict[str, Any]
                if outcome.status == "sent":
                    values = {
                        "status": "sent",
                        "external_id": outcome.external_id,
                        "sent_at": now,
                        "error": None,
                    }
                    status = early.get(outcome.external_id)
                    if status is not None:  # its status webhook came first
                        values["status"] = status
                        values.update(_status_times(status, now))
                elif outcome.status == "skipped":  # the window closed since the claim
                    values = {"status": "skipped", "error": outcome.reason}
                elif outcome.status == "retry" and item.attempts < MAX_ATTEMPTS:
                    wait = (
                        outcome.retry_after if outcome.retry_after is not None else min(60, 2**item.attempts)
                    )
                    backoff = timedelta(seconds=wait)
                    values = {"status": "pending", "due_at": now + backoff, "error": outcome.reason}
                else:
                    reason = outcome.reason or "no answer from the platform"
                    if outcome.status == "retry":
                        reason = f"gave up after {item.attempts} attempts: {reason}"
                    values = {"status": "failed", "error": reason, "error_code": outcome.code}
                session.execute(
                    update(Recipient)
                    .where(Recipient.id == item.row_id, Recipient.status.in_(("sending", "uncertain")))
                    .values(**values)
                )


def _waiting(broadcast_id: str) -> ColumnElement[bool]:
    """Recipients of the broadcast still to be sent."""
    return exists().where(
        Recipient.broadcast_id == broadcast_id, Recipient.status.in_(("pending", "sending"))
    )


def _status_times(status: str, at: datetime) -> dict[str, datetime]:
    if status == "read":
        return {"delivered_at": at, "read_at": at}
    if status == "delivered":
        return {"delivered_at": at}
    return {}


def _serialise_claims(session: Session, contact_ids: list[str]) -> None:
    """Counting a follower's broadcasts this month and claiming the next one must be one step: two broadcasts
    claiming at once would each count three and both send a fourth. So lock the contacts first, and another
    claim for them waits until this one committed: row locks in id order on PostgreSQL (no deadlock between
    two claimers), the database's write lock on SQLite (a no-op write, before anything is counted)."""
    if session.get_bind().dialect.name == "postgresql":
        locked = select(Contact.id).where(Contact.id.in_(contact_ids)).order_by(Contact.id).with_for_update()
        session.execute(locked)
    else:
        session.execute(
            update(Contact).where(Contact.id.in_(contact_ids)).values(opted_out=Contact.opted_out)
        )
