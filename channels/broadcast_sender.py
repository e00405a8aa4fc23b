"""Sending broadcasts: a durable job per broadcast that works through its recipient rows.

Each run sends for at most RUN_SECONDS and queues the next, so a restart resumes within a short lease.
A recipient is marked `sending` (committed) before its message goes out and settled after; a run that
finds `sending` rows left by a dead run marks them `uncertain` and never sends them again: nobody gets a
broadcast twice. Sends go out at the channel's ceiling and never above it: WhatsApp's client paces each
number itself and slows down when Meta answers "too fast"; other channels get a limiter here. Either
budget is shared by every process sending through the number (channels/send_budget.py). While one
batch is on the wire the next is claimed and the previous one settled, so the database never leaves
the ceiling idle.
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

from channels.base import Adapter, SendError, count_send
from channels.http_pool import HttpPool
from channels.models import Channel, ChannelMessage
from channels.processing import forward
from channels.rate_limit import RateLimiter, departing
from channels.send_budget import SendBudgets
from channels.store import ChannelStore
from channels.window import POLICIES, may_send_free_form
from core.db import Database, insert_ignoring_duplicates, new_id, utcnow
from core.errors import NotFound
from core.jobs import JobQueue
from crm.broadcasts.models import SEND_KIND, Broadcast, Content, Recipient, send_key
from crm.broadcasts.personalise import MissingValue, render
from crm.broadcasts.store import BroadcastStore
from crm.models import Contact
from inbox.models import Conversation, Message

log = logging.getLogger(__name__)
RUN_SECONDS = 5.0
LEASE_SECONDS = 30.0  # > a run plus a send's timeout: a live run is never taken for dead
MAX_ATTEMPTS = 5
SENT = ("sent", "delivered", "read")
TAG_PREFIX = "broadcast:"


@dataclass
class Outgoing:
    """One claimed recipient and what to send them (or why not)."""

    row_id: str
    to: str
    route: str  # text | media | template | skip
    text: str = ""
    template: tuple[str, str, list[str]] | None = None  # name, language, body parameters
    media: tuple[str, str] | None = None  # kind, link
    skip: str = ""
    attempts: int = 0
    started: bool = False


class BroadcastSender:
    def __init__(
        self,
        db: Database,
        broadcasts: BroadcastStore,
        channels: ChannelStore,
        adapters: dict[str, Adapter],
        jobs: JobQueue,
        budgets: SendBudgets | None = None,
        *,
        http: HttpPool,
    ) -> None:
        self._db = db
        self._http = http
        self._broadcasts = broadcasts
        self._channels = channels
        self._adapters = adapters
        self._jobs = jobs
        self._budgets = budgets or SendBudgets()
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
            channel = self._channels.get(broadcast.channel_id, broadcast.tenant_id)
        except NotFound:
            self._fail_all(broadcast.id, "the broadcast's channel was deleted")
            channel = None
        if channel is not None:
            if not broadcast.audience_ready:
                self._broadcasts.recipients.write(broadcast)
            self._abandon_in_flight(broadcast.id)
            self._http.run_send(self._send_for(broadcast, channel, time.monotonic() + RUN_SECONDS))
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
    def _rate(self, channel: Channel) -> int:
        """The channel's ceiling: the adapter's when it knows it (WhatsApp's setting), else the channel's
        config or the policy table's default."""
        adapter: Any = self._adapters[channel.kind]
        if hasattr(adapter, "per_second"):
            return int(adapter.per_second(channel.config))
        return int(channel.config.get("messages_per_second") or POLICIES[channel.kind].sends_per_second)

    def _limiter(self, channel: Channel) -> RateLimiter | None:
        if getattr(self._adapters[channel.kind], "paces_itself", False):
            return None
        return self._budgets.limiter(f"channel:{channel.id}", self._rate(channel))

    def _batch_size(self, channel: Channel) -> int:
        return max(1, min(50, self._rate(channel) // 8))  # about an eighth of a second of sends

    async def _send_for(self, broadcast: Broadcast, channel: Channel, deadline: float) -> None:
        content = Content.model_validate(broadcast.content)
        secrets = self._channels.secrets(channel)
        limiter = self._limiter(channel)
        size = self._batch_size(channel)
        on_wire: deque[tuple[list[Outgoing], list[asyncio.Task[tuple[str | None, SendError | None]]]]] = (
            deque()
        )
        try:
            while True:
                batch = (
                    None
                    if time.monotonic() > deadline
                    else await asyncio.to_thread(self._claim, broadcast, channel, content, size)
                )
                if batch:
                    tasks = [
                        asyncio.create_task(self._send(channel, secrets, limiter, item)) for item in batch
                    ]
                    on_wire.append((batch, tasks))
                # Settle earlier batches while this one is on the wire (all of them once nothing is left).
                while on_wire and (len(on_wire) > 1 or batch is None):
                    done, tasks = on_wire.popleft()
                    results = await asyncio.gather(*tasks)
                    await asyncio.to_thread(self._settle, channel, done, results)
                if batch is None:
                    return
        finally:  # failing midway: what never reached the platform goes back to the queue
            for waiting, tasks in on_wire:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                unsent = [item.row_id for item in waiting if not item.started]
                await asyncio.to_thread(self._requeue_unsent, unsent)

    async def _send(
        self, channel: Channel, secrets: dict[str, Any], limiter: RateLimiter | None, item: Outgoing
    ) -> tuple[str | None, SendError | None]:
        sent, error = await self._attempt(channel, secrets, limiter, item)
        count_send(channel.kind, error)
        return sent, error

    async def _attempt(
        self, channel: Channel, secrets: dict[str, Any], limiter: RateLimiter | None, item: Outgoing
    ) -> tuple[str | None, SendError | None]:
        adapter: Any = self._adapters[channel.kind]
        # Whichever limiter paces this send (ours, or the adapter's own) marks the moment it leaves: a send
        # cancelled before then certainly never reached the platform and may go again.
        departing.set(lambda: setattr(item, "started", True))
        if limiter is not None:
            await limiter.wait()
        # Where the platform echoes a tag in its status webhooks, the row's id goes along: a message whose
        # outcome a crash lost is still found (channels/broadcast_replies.py).
        tag = {"tag": f"{TAG_PREFIX}{item.row_id}"} if getattr(adapter, "echoes_tags", False) else {}
        try:
            if item.route == "template" and item.template:
                name, language, parameters = item.template
                return await adapter.send_template(
                    channel.config, secrets, item.to, name, language, parameters, **tag
                ), None
            if item.route == "media" and item.media:
                kind, link = item.media
                return await adapter.send_media(
                    channel.config, secrets, item.to, kind, link, item.text, **tag
                ), None
            return await adapter.send_text(channel.config, secrets, item.to, item.text, **tag), None
        except SendError as exc:
            return None, exc
        except Exception as exc:  # a bug or an unexpected answer: recorded on the recipient, not a crash
            log.exception("broadcast send to %s failed", item.to)
            return None, SendError(f"unexpected error: {type(exc).__name__}: {exc}", retryable=True)

    # --- the database side of a batch -----------------------------------------------------------------
    def _claim(
        self, broadcast: Broadcast, channel: Channel, content: Content, size: int
    ) -> list[Outgoing] | None:
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
            if POLICIES[channel.kind].broadcasts_per_month:
                _serialise_claims(session, ids)
            contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}
            last_seen = self._last_customer_messages(session, ids, channel.kind)
            this_month = self._sent_this_month(session, ids, channel, now)
            batch: list[Outgoing] = []
            for row in rows:
                item = self._plan(
                    row, contacts.get(row.contact_id), content, channel, last_seen, this_month, now
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
        channel: Channel,
        last_seen: dict[str, datetime],
        this_month: dict[str, int],
        now: datetime,
    ) -> Outgoing:
        def skip(reason: str) -> Outgoing:
            return Outgoing(row_id=row.id, to=row.address or "", route="skip", skip=reason)

        if contact is None or contact.opted_out:
            return skip("the contact opted out of broadcasts")
        if not row.address:
            return skip(f"the contact cannot be reached on {channel.kind} (no {channel.kind} id or phone)")
        policy = POLICIES[channel.kind]
        if policy.broadcasts_per_month and this_month.get(contact.id, 0) >= policy.broadcasts_per_month:
            return skip(
                f"{channel.kind} allows {policy.broadcasts_per_month} broadcasts per follower per month"
            )
        text = render(content.text, contact) if content.text else ""
        window_open = may_send_free_form(channel.kind, last_seen.get(contact.id), now)
        if window_open and (text or content.media):
            if content.media and channel.kind == "whatsapp":
                media = (content.media.kind, content.media.link)
                return Outgoing(row_id=row.id, to=row.address, route="media", text=text, media=media)
            if content.media:  # other channels: the link goes with the text
                text = f"{text}\n\n{content.media.link}".strip()
            return Outgoing(row_id=row.id, to=row.address, route="text", text=text)
        if content.template and channel.kind == "whatsapp":
            try:
                parameters = [render(v, contact, strict=True) for v in content.template.variables]
            except MissingValue as missing:
                return skip(f"template parameter: {missing}")
            template = (content.template.name, content.template.language, parameters)
            return Outgoing(row_id=row.id, to=row.address, route="template", template=template)
        hours = policy.hours()
        outside = (
            "only an approved template may be sent" if policy.outside == "template" else "nothing may be sent"
        )
        return skip(f"window closed: the customer last wrote over {hours} hours ago; {outside}")

    @staticmethod
    def _last_customer_messages(session: Session, contact_ids: list[str], kind: str) -> dict[str, datetime]:
        rows = session.execute(
            select(Conversation.contact_id, func.max(Message.created_at))
            .join(Message, Message.conversation_id == Conversation.id)
            .where(
                Conversation.contact_id.in_(contact_ids),
                Conversation.channel == kind,
                Message.role == "customer",
            )
            .group_by(Conversation.contact_id)
        ).all()
        return {contact: at for contact, at in rows if at is not None}

    @staticmethod
    def _sent_this_month(
        session: Session, contact_ids: list[str], channel: Channel, now: datetime
    ) -> dict[str, int]:
        if not POLICIES[channel.kind].broadcasts_per_month:
            return {}
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        rows = session.execute(
            select(Recipient.contact_id, func.count())
            .where(
                Recipient.contact_id.in_(contact_ids),
                Recipient.channel_id == channel.id,
                # in flight too: two broadcasts claiming at once must not both take the last one
                Recipient.status.in_((*SENT, "sending", "uncertain")),
                func.coalesce(Recipient.sent_at, Recipient.due_at) >= month,
            )
            .group_by(Recipient.contact_id)
        ).all()
        return {contact: int(count) for contact, count in rows}

    def _settle(
        self, channel: Channel, batch: list[Outgoing], results: list[tuple[str | None, SendError | None]]
    ) -> None:
        now = utcnow()
        with self._db.session() as session:
            early = self._early_statuses(session, channel, [external for external, _ in results if external])
            records: list[dict[str, Any]] = []  # the records status webhooks update (channels/processing.py)
            for item, (external, error) in zip(batch, results, strict=True):
                values: dict[str, Any]
                if external:
                    values = {"status": "sent", "external_id": external, "sent_at": now, "error": None}
                    status = early.get(external)
                    if status is None:
                        records.append(
                            {
                                "id": new_id(),
                                "tenant_id": channel.tenant_id,
                                "channel_id": channel.id,
                                "direction": "out",
                                "external_id": external,
                                "status": "sent",
                            }
                        )
                    elif forward("sent", status):  # its status webhook came first
                        values["status"] = status
                        values.update(_status_times(status, now))
                elif error is not None and error.retryable and item.attempts < MAX_ATTEMPTS:
                    wait = error.retry_after if error.retry_after is not None else min(60, 2**item.attempts)
                    backoff = timedelta(seconds=wait)
                    values = {"status": "pending", "due_at": now + backoff, "error": error.reason}
                else:
                    reason = error.reason if error else "no answer from the platform"
                    if error is not None and error.retryable:
                        reason = f"gave up after {item.attempts} attempts: {reason}"
                    values = {
                        "status": "failed",
                        "error": reason,
                        "error_code": error.code if error else None,
                    }
                session.execute(
                    update(Recipient)
                    .where(Recipient.id == item.row_id, Recipient.status.in_(("sending", "uncertain")))
                    .values(**values)
                )
            if records:  # one statement for the batch's sends
                session.connection().execute(insert_ignoring_duplicates(session, ChannelMessage), records)

    @staticmethod
    def _early_statuses(session: Session, channel: Channel, external_ids: list[str]) -> dict[str, str]:
        if not external_ids:
            return {}
        rows = session.execute(
            select(ChannelMessage.external_id, ChannelMessage.status).where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.direction == "out",
                ChannelMessage.external_id.in_(external_ids),
            )
        ).all()
        return {external: status for external, status in rows}


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
