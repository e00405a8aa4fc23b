"""The inbox for human agents: take a conversation, reply on its channel, note, resolve, give it back.

Delivery is the channel layer's job; it comes in as a Replier (channels/human_replies.py), so the inbox
knows no channel's wire format or window rules beyond "may a person reply now?".
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from fastapi.concurrency import run_in_threadpool

from crm.handoff import ConversationNote
from crm.inbox import InboxStore
from crm.models import Conversation, Message
from crm.tickets import TicketStore
from inbox.hub import StaffHub


class Replier(Protocol):
    def check(self, tenant_id: str, conversation: Conversation, *, by_human: bool = True) -> None:
        """Raise Conflict when the channel does not allow this message now (a person's, or an automated one)."""
        ...

    async def deliver(self, tenant_id: str, conversation: Conversation, message: Message) -> None: ...


def message_event(conversation_id: str, message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "conversation_id": conversation_id,
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "author": message.meta.get("author"),
        "created_at": message.created_at.isoformat(),
    }


def status_event(conversation: Conversation) -> dict[str, Any]:
    return {
        "type": "status",
        "conversation_id": conversation.id,
        "status": conversation.status,
        "assignee": conversation.assignee,
        "team": conversation.handoff_team,
    }


class InboxService:
    def __init__(self, inbox: InboxStore, tickets: TicketStore, replier: Replier, hub: StaffHub) -> None:
        self.inbox = inbox
        self.handoff = inbox.handoff
        self._tickets = tickets
        self._replier = replier
        self.hub = hub
        # Status changes and customers' messages happen in worker threads too (the agent hands off, a
        # customer asks for the bot back): each is pushed to staff clients from the event loop.
        loop = asyncio.get_running_loop()

        def push_soon(tenant_id: str, event: dict[str, Any]) -> None:
            if not loop.is_closed():  # shutting down: nobody is listening any more
                loop.call_soon_threadsafe(lambda: loop.create_task(hub.publish(tenant_id, event)))

        self.handoff.on_change(lambda c: push_soon(c.tenant_id, status_event(c)))
        inbox.on_customer_message(
            lambda c, m: push_soon(c.tenant_id, {**message_event(c.id, m), "status": c.status})
        )

    async def reply(self, tenant_id: str, actor: str, conversation_id: str, text: str) -> Message:
        """A person answers the customer; the conversation becomes theirs (the agent goes quiet)."""
        conversation = await run_in_threadpool(self.inbox.get, tenant_id, conversation_id)
        await run_in_threadpool(self._replier.check, tenant_id, conversation)
        if conversation.status != "human" or not conversation.assignee:
            conversation = await run_in_threadpool(
                self.handoff.assign, tenant_id, actor, conversation_id, conversation.assignee or actor
            )
        meta = {"author": actor, "delivery": "pending"}
        message = await run_in_threadpool(
            self.inbox.add_message, tenant_id, conversation_id, "human", text, meta
        )
        await run_in_threadpool(self._tickets.responded, tenant_id, conversation_id)
        await self._replier.deliver(tenant_id, conversation, message)
        await self.hub.publish(tenant_id, message_event(conversation_id, message))
        return message

    async def assign(
        self, tenant_id: str, actor: str, conversation_id: str, assignee: str, team: str | None
    ) -> Conversation:
        # Staff clients hear of it through the handoff's change listener, like every other move.
        return await run_in_threadpool(self.handoff.assign, tenant_id, actor, conversation_id, assignee, team)

    async def move(self, tenant_id: str, actor: str, conversation_id: str, status: str) -> Conversation:
        return await run_in_threadpool(self.handoff.move, tenant_id, actor, conversation_id, status)

    async def note(self, tenant_id: str, actor: str, conversation_id: str, text: str) -> ConversationNote:
        note = await run_in_threadpool(self.handoff.add_note, tenant_id, actor, conversation_id, text)
        await self.hub.publish(
            tenant_id, {"type": "note", "conversation_id": conversation_id, "id": note.id, "text": note.text}
        )
        return note
