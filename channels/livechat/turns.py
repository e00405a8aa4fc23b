"""A live-chat turn recorded so that it is answered exactly once, even across a crash.

The visitor's message is stored first, marked `answered: False`; the agent's reply is stored with
`in_reply_to` the message's id; then the message is marked `answered: True`. A process killed anywhere in
between leaves a state the widget's resend (same `client_id`) repairs:
- message stored, no reply: the turn is run now;
- reply stored, message not yet marked: the stored reply is the answer (not a second one);
- marked answered: the stored reply (if any) is returned again, no turn runs.
Messages stored before this record existed carry no `answered` key and count as answered (they were
answered, or their resend was acknowledged, under the old rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.service import AgentService
from crm.models import Message


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
    def __init__(self, agent: AgentService) -> None:
        self._agent = agent

    def earlier(self, tenant_id: str, conversation_id: str, client_id: str) -> Earlier:
        """The message this client already sent under `client_id` (resent after a reconnect), and its reply."""
        if not client_id:
            return Earlier(None, None)
        messages = self._agent.inbox.messages(tenant_id, conversation_id)
        question = next(
            (m for m in messages if m.role == "customer" and m.meta.get("client_id") == client_id), None
        )
        if question is None:
            return Earlier(None, None)
        reply = next((m for m in messages if m.meta.get("in_reply_to") == question.id), None)
        return Earlier(question, reply)

    def receive(self, tenant_id: str, conversation_id: str, text: str, client_id: str) -> Message:
        """Store the visitor's message, not yet answered (what a crash before the reply leaves)."""
        meta = {"client_id": client_id, "answered": False} if client_id else {"answered": False}
        return self._agent.inbox.add_message(tenant_id, conversation_id, "customer", text, meta)

    def answer(self, tenant_id: str, conversation_id: str, question: Message) -> Message | None:
        """Run the turn for a stored message and mark it answered; the agent's reply, or None while a
        person owns the conversation (they answer instead)."""
        result = self._agent.answer(
            tenant_id, conversation_id, question.text, "livechat", reply_meta={"in_reply_to": question.id}
        )
        self.settle(tenant_id, question)
        return self._agent.inbox.message(tenant_id, result.message_id) if result.message_id else None

    def settle(self, tenant_id: str, question: Message) -> None:
        """Mark a message answered (its reply is stored, or the agent stayed silent)."""
        if question.meta.get("answered") is False:
            self._agent.inbox.update_meta(tenant_id, question.id, answered=True)
