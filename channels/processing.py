"""Durable, at-least-once processing of channel messages, the same for every channel adapter.

Receiving happens in the webhook request (channels/intake.py): the raw delivery and the message ids it
claims are stored, with a keyed ingest job, before the platform gets its acknowledgement.
Ingesting (a background job, one run per channel at a time): deliveries in arrival order become inbox
messages in their conversations, each answerable one with a reply job; statuses update sent messages;
platform events (reactions, edits, follows) change what is stored and are never answered
(channels/platform_events.py).
Replying (a background job per conversation): the conversation's unanswered customer messages are
answered oldest first; each reply is stored before it is sent and marked after, so a crash between
receiving and replying produces the reply once and sends it once on restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import channel_state
from channels import unparsed as unparsed_events
from channels.base import Adapter, Inbound, Parsed, SendError, StatusUpdate, count_send
from channels.http_pool import HttpPool
from channels.human_replies import HUMAN_REPLY_KIND, last_customer_message, sent_at
from channels.intake import INGEST_KIND
from channels.models import Channel, ChannelEvent, ChannelMessage
from channels.platform_events import PlatformEvents
from channels.store import ChannelStore
from channels.window import POLICIES, may_send_free_form
from core.audit import AuditLog
from core.db import Database, utcnow
from core.heartbeat import Heartbeat
from core.jobs import BEATS_PER_LEASE, JobQueue, RetryLater
from inbox.models import Conversation, Message
from inbox.store import ContactInfo
from inbox.turns import Turns

log = logging.getLogger(__name__)
T = TypeVar("T")
JOB_KIND = "channels.reply"
INGEST_BATCH = 100
# A conversation is held this long without renewal; the heartbeat renews it while a turn runs, so after a
# crash (kill -9) its waiting messages are answered within seconds, not after a lease outlasting any turn.
LEASE_SECONDS = 15.0
STATUS_RANK = {"pending": 0, "sent": 1, "failed": 1, "delivered": 2, "read": 3}


@dataclass
class Applied:
    """What applying a delivery stored: its new customer messages, and how many welcomes it queued."""

    stored: list[tuple[Conversation, Message]] = field(default_factory=list)
    welcomes: int = 0


def forward(current: str, new: str) -> bool:
    """Statuses only move forward (sent -> delivered -> read); failed only overrides pending or sent."""
    if new == "failed":
        return current in ("pending", "sent")
    return STATUS_RANK.get(new, -1) > STATUS_RANK.get(current, -1)


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
        http: HttpPool,
    ) -> None:
        self._db = db
        self._http = http
        self._channels = channels
        self._inbox = inbox = turns.inbox
        self._turns = turns
        self._jobs = jobs
        self.adapters = adapters
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
        """Send a person's inbox reply (or an automated message from the inbox, such as a CSAT question):
        free-form in the window; Messenger's HUMAN_AGENT tag up to 7 days, for what a person wrote only."""
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
        blocked = self._no_send_reason(channel, conversation)
        if blocked:
            self._inbox.update_meta(tenant, message.id, delivery="skipped", delivery_error=blocked)
            return
        adapter = self.adapters[channel.kind]
        secrets = self._channels.secrets(channel)
        to = str(own_to) if own_to else str(last.meta.get("to")) if last else ""
        opened = [sent_at(last)] if last else []
        if isinstance(window_from, str):
            opened.append(datetime.fromisoformat(window_from))
        last_at, now = max(opened, default=None), utcnow()
        try:
            if may_send_free_form(channel.kind, last_at, now):
                external_id = _send(
                    self._http, channel.kind, adapter.send_text(channel.config, secrets, to, message.text)
                )
            elif (
                message.role == "human"
                and may_send_free_form(channel.kind, last_at, now, by_human=True)
                and hasattr(adapter, "send_human_text")
            ):
                external_id = _send(
                    self._http,
                    channel.kind,
                    adapter.send_human_text(channel.config, secrets, to, message.text),
                )
            else:
                self._inbox.update_meta(
                    tenant, message.id, delivery="skipped", delivery_error="window closed"
                )
                return
        except SendError as exc:
            if exc.retryable:
                raise
            self._inbox.update_meta(tenant, message.id, delivery="failed", delivery_error=exc.reason)
            return
        self._record_out(channel, conversation, message.id, external_id, "sent", None, None)
        self._inbox.update_meta(tenant, message.id, delivery="sent", external_id=external_id)

    def _deliver(
        self, channel: Channel, conversation: str, question: Message, reply: Message, history: list[Message]
    ) -> None:
        tenant = channel.tenant_id
        adapter = self.adapters[channel.kind]
        secrets = self._channels.secrets(channel)
        last_customer = max(
            (
                datetime.fromisoformat(m.meta["sent_at"])
                for m in history
                if m.role == "customer" and m.meta.get("sent_at")
            ),
            default=None,
        )
        to = str(question.meta.get("to"))
        blocked = self._no_send_reason(channel, conversation)
        if blocked:  # the customer unfollowed since writing: the reply stays in the inbox, unsent
            self._inbox.update_meta(tenant, reply.id, delivery="skipped", delivery_error=blocked)
            return
        try:
            if may_send_free_form(channel.kind, last_customer, utcnow()):
                external_id = _send(
                    self._http, channel.kind, adapter.send_text(channel.config, secrets, to, reply.text)
                )
            else:  # the agent never attempts a free-form send outside the window
                outside = getattr(adapter, "send_outside_window", None)
                sent = (
                    _send(self._http, channel.kind, outside(channel.config, secrets, to)) if outside else None
                )
                if sent is None:
                    policy = POLICIES[channel.kind]
                    hint = "; configure a fallback template" if policy.outside == "template" else ""
                    hours = policy.hours()
                    self._inbox.update_meta(
                        tenant,
                        reply.id,
                        delivery="skipped",
                        delivery_error=(
                            f"window closed: free-form messages only within {hours} hours of the customer's "
                            f"last message{hint}"
                        ),
                    )
                    return
                external_id = sent
        except SendError as exc:
            if exc.retryable:
                raise  # the job backs off and retries; the reply is stored, so it is not produced again
            self._inbox.update_meta(tenant, reply.id, delivery="failed", delivery_error=exc.reason)
            self._record_out(
                channel, conversation, reply.id, f"failed:{reply.id}", "failed", exc.code, exc.reason
            )
            return
        self._record_out(channel, conversation, reply.id, external_id, "sent", None, None)
        self._inbox.update_meta(tenant, reply.id, delivery="sent", external_id=external_id)

    def _no_send_reason(self, channel: Channel, conversation_id: str) -> str | None:
        """Why nothing may be sent in the conversation now (channels/channel_state.py), or None."""
        with self._db.session() as session:
            found = session.get(Conversation, conversation_id)
            if found is None:
                return None
            return channel_state.no_send_reason(session, channel.id, found.contact_id)

    def _record_out(
        self,
        channel: Channel,
        conversation: str,
        message_id: str,
        external_id: str,
        status: str,
        code: int | None,
        error: str | None,
    ) -> None:
        with self._db.session() as session:
            record = session.scalar(
                select(ChannelMessage).where(
                    ChannelMessage.channel_id == channel.id,
                    ChannelMessage.direction == "out",
                    ChannelMessage.external_id == external_id,
                )
            )
            if record is None:
                session.add(
                    ChannelMessage(
                        tenant_id=channel.tenant_id,
                        channel_id=channel.id,
                        conversation_id=conversation,
                        message_id=message_id,
                        direction="out",
                        external_id=external_id,
                        status=status,
                        error_code=code,
                        error=error,
                    )
                )
            else:  # a status webhook arrived first: keep whichever status is further along
                record.conversation_id, record.message_id = conversation, message_id
                if forward(record.status, status):
                    record.status = status


def _send(http: HttpPool, kind: str, sending: Coroutine[Any, Any, T]) -> T:
    """Run a send on the worker thread's loop (channels/http_pool.py), counted in the sends metric
    (a send that returns None sent nothing: a template the channel does not have)."""
    try:
        result = http.run_send(sending)
    except SendError as exc:
        count_send(kind, exc)
        raise
    if result is not None:
        count_send(kind, None)
    return result
