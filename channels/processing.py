"""Durable, at-least-once processing of channel messages.

Receiving (in the webhook request): each inbound message is stored with its platform id, its inbox
message and a reply job in one transaction, so a message is either wholly stored or not at all; a
platform id seen before (retries, replays, duplicates inside one delivery) is skipped.
Replying (a background job per conversation): the conversation's unanswered customer messages are
answered oldest first; each reply is stored before it is sent and marked after, so a crash between
receiving and replying produces the reply once and sends it once on restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent.service import AgentService
from channels import whatsapp
from channels.models import Channel, ChannelEvent, ChannelMessage
from channels.store import ChannelStore
from channels.window import may_send_free_form
from config import Settings
from core.db import Database, utcnow
from core.jobs import JobQueue
from crm.inbox import ContactInfo, InboxStore
from crm.models import Message

log = logging.getLogger(__name__)
JOB_KIND = "channels.reply"


class WhatsAppProcessor:
    def __init__(
        self,
        db: Database,
        channels: ChannelStore,
        inbox: InboxStore,
        agent: AgentService,
        jobs: JobQueue,
        settings: Settings,
    ) -> None:
        self._db = db
        self._channels = channels
        self._inbox = inbox
        self._agent = agent
        self._jobs = jobs
        self._settings = settings
        self._clients: dict[str, whatsapp.WhatsAppClient] = {}
        jobs.register(JOB_KIND, self.run_reply)

    # --- receiving ----------------------------------------------------------------------------------
    def receive(self, channel: Channel, raw: bytes, payload: dict[str, Any]) -> dict[str, int]:
        inbound, statuses = whatsapp.parse(payload)
        with self._db.session() as session:
            session.add(ChannelEvent(channel_id=channel.id, body=raw.decode("utf-8", "replace")))
        stored = 0
        for message in inbound:
            stored += self._store(channel, message)
        for status in statuses:
            self._apply_status(channel, status)
        if stored:
            self._jobs.notify()
        return {"messages": len(inbound), "stored": stored, "statuses": len(statuses)}

    def _store(self, channel: Channel, message: whatsapp.Inbound) -> int:
        with self._db.session() as session:
            seen = session.scalar(
                select(ChannelMessage.id).where(
                    ChannelMessage.channel_id == channel.id,
                    ChannelMessage.direction == "in",
                    ChannelMessage.external_id == message.external_id,
                )
            )
        if seen:
            return 0
        external = f"whatsapp:{message.sender}"
        conversation = self._inbox.latest(channel.tenant_id, external, "whatsapp") or self._inbox.open(
            channel.tenant_id,
            None,
            ContactInfo(external_id=external, name=message.name, phone=message.phone),
            "whatsapp",
        )
        meta = {
            "channel_id": channel.id,
            "external_id": message.external_id,
            "kind": message.kind,
            "sent_at": message.sent_at.isoformat(),
            "answerable": message.answerable,
            "to": message.phone or message.sender,
            **message.data,
        }
        try:
            with self._db.session() as session:
                record = Message(
                    tenant_id=channel.tenant_id,
                    conversation_id=conversation.id,
                    role="customer",
                    text=message.text,
                    meta=meta,
                )
                session.add(record)
                session.flush()
                session.add(
                    ChannelMessage(
                        tenant_id=channel.tenant_id,
                        channel_id=channel.id,
                        conversation_id=conversation.id,
                        message_id=record.id,
                        direction="in",
                        external_id=message.external_id,
                        status="received",
                    )
                )
                if message.answerable:
                    self._jobs.enqueue(
                        JOB_KIND,
                        {"channel_id": channel.id, "conversation_id": conversation.id},
                        tenant_id=channel.tenant_id,
                        session=session,
                    )
        except IntegrityError:
            return 0  # stored a moment ago by a concurrent delivery of the same message
        return 1

    def _apply_status(self, channel: Channel, status: whatsapp.StatusUpdate) -> None:
        """Statuses arrive out of order and `delivered` may be skipped: only ever move forward."""
        with self._db.session() as session:
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
                        error=self._reason(status),
                    )
                )
                return
            if _forward(record.status, status.status):
                record.status = status.status
                record.updated_at = utcnow()
                if status.status == "failed":
                    record.error_code, record.error = status.error_code, self._reason(status)

    @staticmethod
    def _reason(status: whatsapp.StatusUpdate) -> str | None:
        if status.status != "failed":
            return None
        return whatsapp.SendError(status.error_code, status.error or "").reason

    # --- replying -----------------------------------------------------------------------------------
    def _client(self, channel: Channel) -> whatsapp.WhatsAppClient:
        if channel.id not in self._clients:
            secrets = self._channels.secrets(channel)
            per_second = int(
                channel.config.get("messages_per_second", self._settings.whatsapp_messages_per_second)
            )
            self._clients[channel.id] = whatsapp.WhatsAppClient(
                self._settings.whatsapp_api_base,
                channel.config["phone_number_id"],
                secrets["access_token"],
                per_second=per_second,
            )
        return self._clients[channel.id]

    def run_reply(self, payload: dict[str, Any]) -> None:
        channel = self._channels.get(payload["channel_id"])
        tenant, conversation = channel.tenant_id, payload["conversation_id"]
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
                result = self._agent.answer(
                    tenant,
                    conversation,
                    message.text,
                    "whatsapp",
                    reply_meta={"in_reply_to": message.id, "delivery": "pending"},
                )
                reply = next(
                    m for m in self._inbox.messages(tenant, conversation) if m.id == result.message_id
                )
            if reply.meta.get("delivery") == "pending":
                self._deliver(channel, conversation, message, reply, messages)
            self._inbox.update_meta(tenant, message.id, answered=True)

    def _deliver(
        self, channel: Channel, conversation: str, question: Message, reply: Message, history: list[Message]
    ) -> None:
        tenant = channel.tenant_id
        last_customer = max(
            (
                datetime.fromisoformat(m.meta["sent_at"])
                for m in history
                if m.role == "customer" and m.meta.get("sent_at")
            ),
            default=None,
        )
        to = str(question.meta.get("to"))
        client = self._client(channel)
        try:
            if may_send_free_form("whatsapp", last_customer, utcnow()):
                wamid = asyncio.run(client.send_text(to, reply.text, reply_to=None))
            elif channel.config.get("fallback_template"):
                template = channel.config["fallback_template"]
                wamid = asyncio.run(
                    client.send_template(to, template["name"], template.get("language", "en"), [])
                )
            else:  # the agent never attempts a free-form send outside the window
                self._inbox.update_meta(
                    tenant,
                    reply.id,
                    delivery="skipped",
                    delivery_error="window closed: no free-form message after 24 hours and no "
                    "fallback template is configured",
                )
                return
        except whatsapp.SendError as exc:
            if exc.retryable:
                raise  # the job backs off and retries; the reply is stored, so it is not produced again
            self._inbox.update_meta(tenant, reply.id, delivery="failed", delivery_error=exc.reason)
            self._record_out(
                channel, conversation, reply.id, f"failed:{reply.id}", "failed", exc.code, exc.reason
            )
            return
        self._record_out(channel, conversation, reply.id, wamid, "sent", None, None)
        self._inbox.update_meta(tenant, reply.id, delivery="sent", external_id=wamid)

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
                if _forward(record.status, status):
                    record.status = status


def _forward(current: str, new: str) -> bool:
    rank = whatsapp.STATUS_RANK
    if new == "failed":
        return current in ("pending", "sent")
    return rank.get(new, -1) > rank.get(current, -1)
