"""The turn router: every customer message goes through here before the agent sees it.

customer message -> interceptors (a CSAT rating, an opt-out confirmation) -> does a person own the
conversation? (the agent stays silent, unless the customer asks for the bot back) -> the agent
(`AgentService.run`), whose reply is stored here. Channels and the chat API call this, never the agent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.context import Context
from agent.service import AgentService
from agent.settings import AgentSettingsStore
from core.language import customer_language
from core.metrics import AGENT_TURN_DURATION, AGENT_TURNS, HANDOFFS
from core.tracing import Tracing
from inbox.handoff import HUMAN_OWNED
from inbox.models import Message
from inbox.store import ContactInfo, InboxStore

BOT_BACK = {
    "en": "I'm back. How can I help you?",
    "zh": "我回來了，有甚麼可以幫你？",
}

# (tenant_id, conversation_id, text, reply_meta) -> the stored reply that answers the turn, or None
Interceptor = Callable[[str, str, str, dict[str, Any]], Message | None]


@dataclass
class TurnResult:
    conversation_id: str
    message_id: str
    reply: str
    customer_message_id: str = ""
    sources: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    handoff: bool = False
    route: str = "model"
    intent: str = ""
    """What the agent took the message for (greeting, thanks, goodbye, acknowledgement, human, complaint,
    question); "" when the agent did not run (a person owns the conversation, an interceptor answered)."""
    message: Message | None = None
    """The stored reply (None when nothing was said: a person owns the conversation)."""


class Turns:
    def __init__(self, inbox: InboxStore, agent: AgentService, *, tracing: Tracing | None = None) -> None:
        self.inbox = inbox
        self.agent = agent
        self._tracing = tracing or Tracing()
        # Replies that come before the agent (a rating the customer was asked for): the first that
        # returns a stored message answers the turn.
        self.interceptors: list[Interceptor] = []

    @property
    def agent_settings(self) -> AgentSettingsStore:
        """The tenants' agent settings (the channels read a tenant's languages and welcome from them)."""
        return self.agent.settings

    def chat(
        self,
        tenant_id: str,
        message: str,
        conversation_id: str | None = None,
        contact: ContactInfo | None = None,
        channel: str = "playground",
        customer_meta: dict[str, Any] | None = None,
    ) -> TurnResult:
        """Store the customer's message and answer it."""
        conversation = self.inbox.open(tenant_id, conversation_id, contact, channel)
        customer = self.inbox.add_message(tenant_id, conversation.id, "customer", message, customer_meta)
        result = self.answer(tenant_id, conversation.id, message, channel)
        result.customer_message_id = customer.id
        return result

    def answer(
        self,
        tenant_id: str,
        conversation_id: str,
        message: str,
        channel: str,
        reply_meta: dict[str, Any] | None = None,
        earlier: list[str] | None = None,
    ) -> TurnResult:
        """Run one turn for a customer message already stored (see `_answer`), counted, timed and traced."""
        started = time.perf_counter()
        with self._tracing.span("agent.turn", channel=channel, conversation_id=conversation_id) as span:
            result = self._answer(tenant_id, conversation_id, message, channel, reply_meta or {}, earlier)
            if span is not None:
                span.set_attribute("agent.route", result.route)
                span.set_attribute("agent.handoff", result.handoff)
        AGENT_TURN_DURATION.labels(channel).observe(time.perf_counter() - started)
        AGENT_TURNS.labels(channel, result.route or "none").inc()
        if result.handoff and result.route != "silent":  # silent: a person already owns it
            HANDOFFS.labels(channel, result.route or "none").inc()
        return result

    def _answer(
        self,
        tenant_id: str,
        conversation_id: str,
        message: str,
        channel: str,
        reply_meta: dict[str, Any],
        earlier: list[str] | None,
    ) -> TurnResult:
        """Run one turn for a customer message already stored; store and return the reply.

        While a person owns the conversation the agent stays silent (an empty reply, nothing stored),
        unless the customer asks for the bot back and the tenant allows it."""
        for intercept in self.interceptors:
            handled = intercept(tenant_id, conversation_id, message, reply_meta)
            if handled is not None:
                return TurnResult(
                    conversation_id, handled.id, handled.text, route="intercepted", message=handled
                )
        conversation = self.inbox.get(tenant_id, conversation_id)
        settings = self.agent.settings.get(tenant_id)
        if conversation.status == "resolved":
            self.inbox.handoff.customer_returned(tenant_id, conversation.id)
        elif conversation.status in HUMAN_OWNED:
            rules = settings.handoff
            asked = any(k.lower() in message.lower() for k in rules.bot_return_keywords)
            if not (rules.customer_can_return_to_bot and asked):
                return TurnResult(conversation.id, "", "", handoff=True, route="silent")
            self.inbox.handoff.move(tenant_id, "customer", conversation.id, "bot")
            back = BOT_BACK[customer_language(message)]
            saved = self.inbox.add_message(
                tenant_id, conversation.id, "agent", back, {"route": "bot_back", **reply_meta}
            )
            return TurnResult(conversation.id, saved.id, back, route="bot_back", message=saved)
        context = Context(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            services=self.agent.deps.tool_services,
            channel=channel,
            settings=settings,
        )
        outcome = self.agent.run(context, message, earlier)
        meta = {
            "sources": outcome.sources,
            "actions": outcome.actions,
            "handoff": outcome.handoff,
            "route": outcome.route,
            **reply_meta,
        }
        saved = self.inbox.add_message(tenant_id, conversation.id, "agent", outcome.reply, meta)
        return TurnResult(
            conversation_id=conversation.id,
            message_id=saved.id,
            reply=outcome.reply,
            sources=outcome.sources,
            actions=outcome.actions,
            handoff=outcome.handoff,
            route=outcome.route,
            intent=outcome.intent,
            message=saved,
        )
