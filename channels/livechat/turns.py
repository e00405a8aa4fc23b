"""A live-chat turn recorded so that it is answered exactly once, even across a crash.

The visitor's message is stored first, marked `answered: False`; the agent's reply is stored with
`in_reply_to` the message's id; then the message is marked `answered: True`. A process killed anywhere in
between leaves a state the widget's resend (same `client_id`) repairs:
- message stored, no reply: the turn is run now;
- reply stored, message not yet marked: the stored reply is the answer (not a second one);
- marked answered: the stored reply (if any) is returned again, no turn runs.
Messages stored before this record existed carry no `answered` key and count as answered (they were
answered, or their resend was acknowledged, under the old rule).

A turn holds the conversation's reply lease (inbox/store.py, renewed by a heartbeat) and looks again, under
it, for a reply stored meanwhile: the resend, a second socket in another process and the sweep on start
(channels/livechat/recovery.py) may all try to answer one message, and it is answered once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.errors import Conflict
from core.heartbeat import Heartbeat
from core.jobs import BEATS_PER_LEASE
from inbox.models import Message
from inbox.turns import Turns

# As a channel's reply job holds a conversation (channels/processing.py): short, renewed while the turn
# runs, so a turn cut short by a crash frees the conversation within seconds.
LEASE_SECONDS = 15.0
WAIT_SECONDS = 120.0  # for another turn of the conversation to finish (it renews its lease while it runs)


@dataclass(frozen=True)
class Earlier:
    """What a conversation already holds for one client_id."""

    question: Message | None
    reply: Message | None  # the agent's stored reply to it, if any

    @property
    def answered(self) -> bool:
        if self.question is None:
            return False
        return self.question.meta.get("answered") is not False or self.reply is not None


class LiveTurns:
    def __init__(self, turns: Turns) -> None:
        self._turns = turns
        self._inbox = turns.inbox

    def earlier(self, tenant_id: str, conversation_id: str, client_id: str) -> Earlier:
        """The message this client already sent under `client_id` (resent after a reconnect), and its reply."""
        if not client_id:
            return Earlier(None, None)
        messages = self._inbox.messages(tenant_id, conversation_id)
        question = next(
            (m for m in messages if m.role == "customer" and m.meta.get("client_id") == client_id), None
        )
        if question is None:
            return Earlier(None, None)
        reply = next((m for m in messages if m.meta.get("in_reply_to") == question.id), None)
        return Earlier(question, reply)

    def stored(self, tenant_id: str, message_id: str) -> Message:
        return self._inbox.message(tenant_id, message_id)

    def receive(self, tenant_id: str, conversation_id: str, text: str, client_id: str) -> Message:
        """Store the visitor's message, not yet answered (what a crash before the reply leaves)."""
        meta = {"client_id": client_id, "answered": False} if client_id else {"answered": False}
        return self._inbox.add_message(tenant_id, conversation_id, "customer", text, meta)

    def answer(self, tenant_id: str, conversation_id: str, question: Message) -> Message | None:
        """Run the turn for a stored message and mark it answered; the agent's reply, or None while a
        person owns the conversation (they answer instead). Answered meanwhile by another (a resend in
        another process, the sweep on start): that answer, and no second turn."""
        inbox = self._inbox
        holder = self._lease(conversation_id)
        try:
            with Heartbeat(
                lambda: inbox.renew_lease(conversation_id, holder, LEASE_SECONDS),
                every=LEASE_SECONDS / BEATS_PER_LEASE,
            ):
                messages = inbox.messages(tenant_id, conversation_id)
                reply = next((m for m in messages if m.meta.get("in_reply_to") == question.id), None)
                current = next((m for m in messages if m.id == question.id), question)
                if reply is not None or current.meta.get("answered") is not False:
                    self.settle(tenant_id, current)
                    return reply
                result = self._turns.answer(
                    tenant_id,
                    conversation_id,
                    question.text,
                    "livechat",
                    reply_meta={"in_reply_to": question.id},
                )
                self.settle(tenant_id, current)
        finally:
            inbox.release(conversation_id, holder)
        return result.message

    def _lease(self, conversation_id: str) -> str:
        """The conversation's reply lease, once another turn of it (in any process) has finished."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (holder := self._inbox.lease(conversation_id, LEASE_SECONDS)) is None:
            if time.monotonic() > deadline:
                raise Conflict("another turn of this conversation is still running; send the message again")
            time.sleep(0.05)
        return holder

    def settle(self, tenant_id: str, question: Message) -> None:
        """Mark a message answered (its reply is stored, or the agent stayed silent)."""
        if question.meta.get("answered") is False:
            self._inbox.update_meta(tenant_id, question.id, answered=True)
