"""The inbox for human agents: take a conversation, reply on its channel, note, resolve, give it back.

Delivery is the channel layer's job; it comes in as a Replier (channels/human_replies.py), so the inbox
knows no channel's wire format or window rules beyond "may a person reply now?".
"""

from __future__ import annotations

from typing import Protocol

from fastapi.concurrency import run_in_threadpool

from crm.tickets import TicketStore
from inbox.events import message_ref, note_ref, status_ref
from inbox.hub import StaffHub
from inbox.models import Conversation, ConversationNote, Message
from inbox.store import InboxStore


class Replier(Protocol):
    def check(self, tenant_id: str, conversation: Conversation, *, by_human: bool = True) -> None:
        """Raise Conflict when the channel does not allow this message now (a person's, or an automated one)."""
        ...

    async def deliver(self, tenant_id: str, conversation: Conversation, message: Message) -> None: ...


class InboxService:
    def __init__(self, inbox: InboxStore, tickets: TicketStore, replier: Replier, hub: StaffHub) -> None:
        self.inbox = inbox
        self.handoff = inbox.handoff
        self._tickets = tickets
        self._replier = replier
        self.hub = hub

    # Status changes and customers' messages happen in worker threads too (the agent hands off, a customer
    # asks for the bot back), and in other processes: the composition root hooks these to the store's
    # listeners, and each reaches staff clients through the hub, which takes them from any thread.
    def status_changed(self, conversation: Conversation) -> None:
        self.hub.publish(conversation.tenant_id, status_ref(conversation.id))

    def customer_wrote(self, conversation: Conversation, message: Message) -> None:
        self.hub.publish(
            conversation.tenant_id, message_ref(conversation.id, message.id, conversation.status)
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
        self.hub.publish(tenant_id, message_ref(conversation_id, message.id))
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
        self.hub.publish(tenant_id, note_ref(conversation_id, note.id))
        return note
