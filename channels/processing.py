"""Durable, at-least-once processing of channel messages, the same for every channel adapter.

Receiving happens in the webhook request (channels/intake.py): the raw delivery and the message ids it
claims are stored, with a keyed ingest job, before the platform gets its acknowledgement.
Ingesting (a background job, one run per channel at a time): deliveries in arrival order become inbox
messages in their conversations, each answerable one with a reply job; statuses update sent messages;
platform events (reactions, edits, follows) change what is stored and are never answered
(channels/platform_events.py).
Replying (a background job per conversation): the conversation's unanswered customer messages are
answered oldest first; each reply is stored before it is sent (through the outbox, channels/outbox.py)
and marked after, so a crash between receiving and replying produces the reply once and sends it once on
restart. Messages from the inbox (a person's reply, a CSAT question, a welcome) are sent by their own job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import unparsed as unparsed_events
from channels.base import Adapter, Inbound, Parsed, StatusUpdate
from channels.human_replies import HUMAN_REPLY_KIND
from channels.intake import INGEST_KIND
from channels.models import Channel, ChannelEvent, ChannelMessage
from channels.outbox import Outbox, Purpose, forward
from channels.platform_events import PlatformEvents
from channels.store import ChannelStore
from channels.window import customer_wrote_at, last_customer_message, last_customer_message_at
from core.audit import AuditLog
from core.db import Database, utcnow
from core.heartbeat import Heartbeat
from core.jobs import BEATS_PER_LEASE, JobQueue, RetryLater
from inbox.models import Conversation, Message
from inbox.store import ContactInfo
from inbox.turns import Turns

log = logging.getLogger(__name__)
JOB_KIND = "channels.reply"
INGEST_BATCH = 100
# A conversation is held this long without renewal; the heartbeat renews it while a turn runs, so after a
# crash (kill -9) its waiting messages are answered within seconds, not after a lease outlasting any turn.
LEASE_SECONDS = 15.0


@dataclass
class Applied:
    """What applying a delivery stored: its new customer messages, and how many welcomes it queued."""

    stored: list[tuple[Conversation, Message]] = field(default_factory=list)
    welcomes: int = 0


class ChannelProcessor:
    def __init__(
        self,
        db: Database,
        channels: ChannelStore,
        turns: Turns,
        jobs: JobQueue,
        adapters: dict[str, Adapter],
        audit: AuditLog | None = None,
        *,
        outbox: Outbox,
    ) -> None:
        self._db = db
        self._channels = channels
        self._inbox = inbox = turns.inbox
        self._turns = turns
        self._jobs = jobs
        self.adapters = adapters
        self.outbox = outbox
        self._events = PlatformEvents(inbox, audit or AuditLog(db), turns.agent_settings.get)
        # Called inside the ingest transaction (channels/broadcast_replies.py records broadcast outcomes).
        self.status_listeners: list[Callable[[Session, Channel, StatusUpdate], None]] = []
        self.inbound_listeners: list[Callable[[Session, Channel, Inbound, Conversation, Message], None]] = []
        jobs.register(INGEST_KIND, self.run_ingest)
        jobs.register(JOB_KIND, self.run_reply)
        jobs.register(HUMAN_REPLY_KIND, self.run_human_reply)

    # --- ingesting (a background job per channel, one run at a time, deliveries in arrival order) --------
    def run_ingest(self, payload: dict[str, Any]) -> None:
        """Ingest up to INGEST_BATCH waiting deliveries; if more wait, queue the next run (jobs stay short,
        so a restart or a shutdown never waits for a whole backlog)."""
        channel = self._channels.get(payload["channel_id"])
        with self._db.session() as session:
            pending = session.scalars(
                select(ChannelEvent.id)
                .where(ChannelEvent.channel_id == channel.id, ChannelEvent.processed_at.is_(None))
                .order_by(ChannelEvent.received_at, ChannelEvent.id)
                .limit(INGEST_BATCH)
            ).all()
        for event_id in pending:
            self._ingest(channel, event_id)
        if len(pending) == INGEST_BATCH:
            self._jobs.enqueue_once(
                INGEST_KIND, payload, key=f"{INGEST_KIND}:{channel.id}", tenant_id=channel.tenant_id
            )

    def _ingest(self, channel: Channel, event_id: str) -> None:
        """One delivery in one transaction: its claimed messages into the inbox (each with a reply job) and
        its statuses; marked processed in the same transaction, so a crash repeats it whole or not at all."""
        with self._db.session() as session:
            event = session.get(ChannelEvent, event_id)
            if event is None or event.processed_at is not None:
                return
            parsed = self.adapters[channel.kind].parse(event.body.encode())
            claimed = {
                row.external_id: row
                for row in session.scalars(
                    select(ChannelMessage).where(
                        ChannelMessage.event_id == event_id, ChannelMessage.message_id.is_(None)
                    )
                )
            }
            applied = self.apply(session, channel, parsed, claimed)
            unparsed_events.record(session, channel, event_id, parsed.unparsed)
            event.processed_at = utcnow()
        self.announce(applied)

    def apply(
        self, session: Session, channel: Channel, parsed: Parsed, claimed: dict[str, ChannelMessage]
    ) -> Applied:
        """What a delivery brought, in the caller's transaction: each message and platform event whose
        claim row is in `claimed` (an id is claimed once, so each is applied once; the rest came in an
        earlier delivery) and every status (statuses only move forward: one applied again changes
        nothing). The caller announces the result once its transaction committed."""
        applied = Applied()
        for message in parsed.inbound:
            row = claimed.pop(message.external_id, None)
            if row is not None:  # otherwise an earlier delivery brought it
                applied.stored.append(self._store(session, channel, message, row))
        for platform_event in parsed.events:  # never answered: applied to what is stored
            row = claimed.pop(platform_event.external_id, None)
            welcome = self._events.apply(session, channel, platform_event, row) if row else None
            if welcome is not None:
                applied.welcomes += 1
                self._jobs.enqueue(
                    HUMAN_REPLY_KIND,
                    {
                        "channel_id": channel.id,
                        "conversation_id": welcome.conversation_id,
                        "message_id": welcome.id,
                    },
                    tenant_id=channel.tenant_id,
                    session=session,
                )
        for status in parsed.statuses:
            self._apply_status(session, channel, status)
        return applied

    def announce(self, applied: Applied) -> None:
        """After the transaction that applied a delivery committed: the inbox hears of the new messages,
        the workers of their reply jobs."""
        for conversation, record in applied.stored:
            self._inbox.announce(conversation, record)
        if applied.stored or applied.welcomes:
            self._jobs.notify()

    def _store(
        self, session: Session, channel: Channel, message: Inbound, row: ChannelMessage
    ) -> tuple[Conversation, Message]:
        contact = ContactInfo(
            external_id=f"{channel.kind}:{message.sender}", name=message.name, phone=message.phone
        )
        conversation = self._inbox.conversation_for(session, channel.tenant_id, contact, channel.kind)
        meta = {
            **message.data,  # first, so an adapter's data never overwrites the processor's own keys
            "channel_id": channel.id,
            "external_id": message.external_id,
            "kind": message.kind,
            "sent_at": message.sent_at.isoformat(),
            "answerable": message.answerable,
            "to": message.reply_to or message.sender,
        }
        record = Message(
            tenant_id=channel.tenant_id,
            conversation_id=conversation.id,
            role="customer",
            text=message.text,
            meta=meta,
        )
        session.add(record)
        session.flush()
        self._inbox.contacted(session, conversation.contact_id, message.sent_at)
        for listener in self.inbound_listeners:
            listener(session, channel, message, conversation, record)
        row.conversation_id, row.message_id = conversation.id, record.id
        if message.answerable:
            self._jobs.enqueue(
                JOB_KIND,
                {"channel_id": channel.id, "conversation_id": conversation.id},
                tenant_id=channel.tenant_id,
                session=session,
            )
        return conversation, record

    def _apply_status(self, session: Session, channel: Channel, status: StatusUpdate) -> None:
        for listener in self.status_listeners:
            listener(session, channel, status)
        record = session.scalar(
            select(ChannelMessage).where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.direction == "out",
                ChannelMessage.external_id == status.external_id,
            )
        )
        if record is None:  # the status beat our own record of the send: keep it for when that lands
            session.add(
                ChannelMessage(
                    tenant_id=channel.tenant_id,
                    channel_id=channel.id,
                    direction="out",
                    external_id=status.external_id,
                    status=status.status,
                    error_code=status.error_code,
                    error=status.error,
                )
            )
            session.flush()
            return
        if forward(record.status, status.status):
            record.status = status.status
            record.updated_at = utcnow()
            if status.status == "failed":
                record.error_code, record.error = status.error_code, status.error

    # --- replying -----------------------------------------------------------------------------------
    def run_reply(self, payload: dict[str, Any]) -> None:
        channel = self._channels.get(payload["channel_id"])
        conversation = payload["conversation_id"]
        # One worker at a time per conversation keeps its replies in order; others work in parallel.
        holder = self._inbox.lease(conversation, LEASE_SECONDS)
        if holder is None:
            raise RetryLater(0.5)
        try:
            with Heartbeat(
                lambda: self._inbox.renew_lease(conversation, holder, LEASE_SECONDS),
                every=LEASE_SECONDS / BEATS_PER_LEASE,
            ):
                self._reply_all(channel, conversation)
        finally:
            self._inbox.release(conversation, holder)

    def _reply_all(self, channel: Channel, conversation: str) -> None:
        tenant = channel.tenant_id
        messages = self._inbox.messages(tenant, conversation)
        replies = {
            m.meta.get("in_reply_to"): m for m in messages if m.role == "agent" and m.meta.get("in_reply_to")
        }
        for message in messages:
            if (
                message.role != "customer"
                or not message.meta.get("answerable")
                or message.meta.get("answered")
            ):
                continue
            reply = replies.get(message.id)
            if reply is None:  # produce the reply once; a retry after a crash finds it stored
                broadcast = message.meta.get("broadcast")  # the customer is answering one of ours
                result = self._turns.answer(
                    tenant,
                    conversation,
                    message.text,
                    channel.kind,
                    reply_meta={"in_reply_to": message.id, "delivery": "pending"},
                    earlier=[broadcast["text"]] if broadcast else None,
                )
                if result.message is None:  # a person owns the conversation: the agent stays silent
                    self._inbox.update_meta(tenant, message.id, answered=True, silent=True)
                    continue
                reply = result.message
            if reply.meta.get("delivery") == "pending":
                self._deliver(channel, conversation, message, reply, messages)
            self._inbox.update_meta(tenant, message.id, answered=True)

    def run_human_reply(self, payload: dict[str, Any]) -> None:
        """Send a person's inbox reply, or an automated message from the inbox (a CSAT question, a welcome),
        through the outbox: a person's may use the longer human-agent window, an automated one may not."""
        channel = self._channels.get(payload["channel_id"])
        tenant, conversation = channel.tenant_id, payload["conversation_id"]
        message = self._inbox.message(tenant, payload["message_id"])
        if message.meta.get("delivery") != "pending":
            return  # sent before a crash: not again
        last = last_customer_message(self._inbox.messages(tenant, conversation))
        # A welcome after a follow goes where the follow came from; the follow opened the window.
        own_to, window_from = message.meta.get("to"), message.meta.get("window_from")
        if last is None and not own_to:
            return
        to = str(own_to) if own_to else str(last.meta.get("to")) if last else ""
        opened = [customer_wrote_at(last)] if last else []
        if isinstance(window_from, str):
            opened.append(datetime.fromisoformat(window_from))
        purpose: Purpose = "human" if message.role == "human" else "automated"
        self.outbox.deliver(channel, conversation, message, to, purpose, max(opened, default=None))

    def _deliver(
        self, channel: Channel, conversation: str, question: Message, reply: Message, history: list[Message]
    ) -> None:
        """The agent's reply (or an interceptor's: an opt-out confirmation) to `question`."""
        to = str(question.meta.get("to"))
        self.outbox.deliver(channel, conversation, reply, to, "reply", last_customer_message_at(history))
