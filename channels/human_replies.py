"""Replies written by a person in the inbox (and the inbox's own messages, such as a CSAT question),
delivered on the conversation's own channel.

The inbox asks first whether the channel's window allows a human reply now (a 409 for the staff member
if not, rather than a message that silently never arrives), then hands the stored message over: live
chat pushes it to the visitor's open sockets (in whichever process holds them); other channels send it
from a durable background job (channels.human_reply), with Messenger's HUMAN_AGENT tag between 24 hours
and 7 days for what a person wrote (an automated message, such as the CSAT question, only inside the
24-hour window).
"""

from __future__ import annotations

import asyncio
import logging

from channels.livechat.visitors import VisitorSockets
from channels.window import (
    POLICIES,
    last_customer_message,
    last_customer_message_at,
    may_send_free_form,
    window_closed,
)
from core.db import utcnow
from core.errors import Conflict
from core.jobs import JobQueue
from inbox.models import Conversation, Message
from inbox.store import InboxStore

log = logging.getLogger(__name__)
HUMAN_REPLY_KIND = "channels.human_reply"


class HumanReplies:
    def __init__(self, inbox: InboxStore, jobs: JobQueue, visitors: VisitorSockets) -> None:
        self._inbox = inbox
        self._jobs = jobs
        self._visitors = visitors

    def check(self, tenant_id: str, conversation: Conversation, *, by_human: bool = True) -> None:
        """Raise Conflict when the channel's window forbids this message now (a person's reply may use the
        longer human-agent window; an automated message, such as a CSAT question, may not)."""
        policy = POLICIES.get(conversation.channel)
        if policy is None or policy.free_form is None:
            return
        last = last_customer_message_at(self._inbox.messages(tenant_id, conversation.id))
        if not may_send_free_form(conversation.channel, last, utcnow(), by_human=by_human):
            raise Conflict(window_closed(conversation.channel, by_human=by_human), code="window_closed")

    async def deliver(self, tenant_id: str, conversation: Conversation, message: Message) -> None:
        if conversation.channel == "livechat":
            self._visitors.push(tenant_id, conversation.id, message.id)
            await asyncio.to_thread(self._inbox.update_meta, tenant_id, message.id, delivery="sent")
            return
        if conversation.channel not in POLICIES:  # the playground: nothing to send
            return
        last = last_customer_message(
            await asyncio.to_thread(self._inbox.messages, tenant_id, conversation.id)
        )
        channel_id = last.meta.get("channel_id") if last else None
        if not channel_id:
            return
        payload = {"channel_id": channel_id, "conversation_id": conversation.id, "message_id": message.id}
        await asyncio.to_thread(self._jobs.enqueue, HUMAN_REPLY_KIND, payload, tenant_id=tenant_id)
