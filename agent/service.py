"""One customer turn end to end: persist the message, run the graph, persist and return the reply."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import LLMResult
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.context import Context
from agent.graph import build_graph
from agent.nodes import SAFE_REPLY, AgentDeps
from core.language import customer_language
from core.metrics import AGENT_TURN_DURATION, AGENT_TURNS, HANDOFFS, MODEL_ERRORS, MODEL_LATENCY
from core.priority import step_aside
from core.tracing import Tracing
from inbox.handoff import HUMAN_OWNED
from inbox.models import Message
from inbox.store import ContactInfo, InboxStore

log = logging.getLogger(__name__)


class StepAside(BaseCallbackHandler):
    """Between graph steps, a turn run by the background worker lets HTTP requests in flight go first."""

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, **kwargs: Any) -> None:
        step_aside()


class ModelMetrics(BaseCallbackHandler):
    """Times each chat model call of a turn and counts the ones that fail (core/metrics.py)."""

    def __init__(self) -> None:
        self._started: dict[UUID, tuple[str, float]] = {}

    def on_chat_model_start(
        self, serialized: dict[str, Any] | None, messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        name = (serialized or {}).get("name") or ((serialized or {}).get("id") or ["model"])[-1]
        self._started[run_id] = (str(name), time.perf_counter())

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        started = self._started.pop(run_id, None)
        if started is not None:
            MODEL_LATENCY.labels(started[0]).observe(time.perf_counter() - started[1])

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        started = self._started.pop(run_id, None)
        if started is not None:
            MODEL_LATENCY.labels(started[0]).observe(time.perf_counter() - started[1])
            MODEL_ERRORS.labels(started[0], type(error).__name__).inc()


BOT_BACK = {
    "en": "I'm back. How can I help you?",
    "zh": "我回來了，有甚麼可以幫你？",
}

# Fields one turn works out; reset at the start of every turn (the messages are kept).
TURN_RESET: dict[str, Any] = {
    "intent": "",
    "question": "",
    "alternative": [],
    "hits": [],
    "answerable": True,
    "gate_reason": "",
    "passages": [],
    "reply": "",
    "route": "",
    "handoff": False,
    "handoff_reason": "",
    "actions": [],
    "canary": "",
}


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


class AgentService:
    def __init__(
        self,
        deps: AgentDeps,
        checkpointer: BaseCheckpointSaver[str],
        close: Callable[[], None],
        *,
        tracing: Tracing | None = None,
    ) -> None:
        self.deps = deps
        self._tracing = tracing or Tracing()
        self.graph = build_graph(deps).compile(checkpointer=checkpointer)
        self._close = close
        # Replies that come before the agent (a rating the customer was asked for): the first that
        # returns a stored message answers the turn.
        self.interceptors: list[Callable[[str, str, str, dict[str, Any]], Message | None]] = []

    @property
    def inbox(self) -> InboxStore:
        return self.deps.inbox

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
            result = self._answer(tenant_id, conversation_id, message, channel, reply_meta, earlier)
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
        reply_meta: dict[str, Any] | None = None,
        earlier: list[str] | None = None,
    ) -> TurnResult:
        """Run one turn for a customer message already stored; store and return the agent's reply.
        `earlier`: what the business sent the customer outside this graph since its last turn (a broadcast
        they are answering), so the agent reads the reply in its context.

        While a person owns the conversation the agent stays silent (an empty reply, nothing stored),
        unless the customer asks for the bot back and the tenant allows it."""
        for intercept in self.interceptors:
            handled = intercept(tenant_id, conversation_id, message, reply_meta or {})
            if handled is not None:
                return TurnResult(conversation_id, handled.id, handled.text, route="intercepted")
        conversation = self.inbox.get(tenant_id, conversation_id)
        settings = self.deps.settings.get(tenant_id)
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
                tenant_id, conversation.id, "agent", back, {"route": "bot_back", **(reply_meta or {})}
            )
            return TurnResult(conversation.id, saved.id, back, route="bot_back")
        context = Context(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            services=self.deps.tool_services,
            channel=channel,
            settings=settings,
        )
        config: RunnableConfig = {
            "configurable": {"thread_id": conversation.id},
            "recursion_limit": 20,  # about 7 rounds of tool calls (a model correcting a refused call)
            "callbacks": [StepAside(), ModelMetrics()],
        }
        try:
            state = self.graph.invoke(
                {"messages": [*map(AIMessage, earlier or []), HumanMessage(message)], **TURN_RESET},
                config,
                context=context,
                # One checkpoint when the turn ends, not one per step: a turn interrupted half way is run
                # again whole by its job from the previous turn's memory (a half-way checkpoint would hold
                # the question, and the rerun would add it twice), and per-step writes were most of a
                # turn's time with the embedded checkpointer (bench/webhook.py's backlog, profiled).
                durability="exit",
            )
        except Exception:  # a bug or a loop must still leave the customer with an answer and a human
            log.exception("agent turn failed in conversation %s", conversation.id)
            reply = SAFE_REPLY[customer_language(message)]
            self.inbox.hand_off(tenant_id, conversation.id, "the agent failed", None)
            state = {
                "reply": reply,
                "handoff": True,
                "actions": [],
                "passages": [],
                "route": "safe_reply",
                "intent": "",
            }
        sources = [{"id": p["id"], "name": p["name"], "text": p["text"]} for p in state["passages"]]
        if state["route"] in ("declined", "custom_answer", "safe_reply"):
            sources = []
        meta = {
            "sources": sources,
            "actions": state["actions"],
            "handoff": state["handoff"],
            "route": state["route"],
            **(reply_meta or {}),
        }
        saved = self.inbox.add_message(tenant_id, conversation.id, "agent", state["reply"], meta)
        return TurnResult(
            conversation_id=conversation.id,
            message_id=saved.id,
            reply=state["reply"],
            sources=sources,
            actions=state["actions"],
            handoff=state["handoff"],
            route=state["route"],
            intent=state["intent"],
        )

    def forget(self, conversation_ids: list[str]) -> None:
        """Delete the conversations' memory (their checkpoints): used when a contact is erased."""
        checkpointer = self.graph.checkpointer
        if isinstance(checkpointer, BaseCheckpointSaver):
            for conversation_id in conversation_ids:
                checkpointer.delete_thread(conversation_id)

    def close(self) -> None:
        self._close()
