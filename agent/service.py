"""The agent's entry point: one customer message in, its answer out (`AgentService.run`); the inbox decides
whether the agent answers at all and stores what it says (inbox/turns.py)."""

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
from agent.settings import AgentSettingsStore
from core.language import customer_language
from core.metrics import MODEL_ERRORS, MODEL_LATENCY
from core.priority import step_aside

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
class TurnOutcome:
    """What the agent made of one customer message; storing it is the caller's (inbox/turns.py)."""

    reply: str
    sources: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    handoff: bool = False
    route: str = "model"
    intent: str = ""
    """What the agent took the message for (greeting, thanks, goodbye, acknowledgement, human, complaint,
    question)."""


class AgentService:
    def __init__(
        self,
        deps: AgentDeps,
        checkpointer: BaseCheckpointSaver[str],
        close: Callable[[], None],
    ) -> None:
        self.deps = deps
        self.graph = build_graph(deps).compile(checkpointer=checkpointer)
        self._close = close

    @property
    def settings(self) -> AgentSettingsStore:
        """The tenants' agent settings (persona, guardrails, handoff rules)."""
        return self.deps.settings

    def run(self, context: Context, text: str, earlier: list[str] | None = None) -> TurnOutcome:
        """The agent's answer to one customer message in its conversation's memory. `earlier`: what the
        business sent the customer outside this graph since its last turn (a broadcast they are answering),
        so the agent reads the reply in its context. Stores no message: the caller does."""
        config: RunnableConfig = {
            "configurable": {"thread_id": context.conversation_id},
            "recursion_limit": 20,  # about 7 rounds of tool calls (a model correcting a refused call)
            "callbacks": [StepAside(), ModelMetrics()],
        }
        try:
            state = self.graph.invoke(
                {"messages": [*map(AIMessage, earlier or []), HumanMessage(text)], **TURN_RESET},
                config,
                context=context,
                # One checkpoint when the turn ends, not one per step: a turn interrupted half way is run
                # again whole by its job from the previous turn's memory (a half-way checkpoint would hold
                # the question, and the rerun would add it twice), and per-step writes were most of a
                # turn's time with the embedded checkpointer (bench/webhook.py's backlog, profiled).
                durability="exit",
            )
        except Exception:  # a bug or a loop must still leave the customer with an answer and a human
            log.exception("agent turn failed in conversation %s", context.conversation_id)
            self.deps.inbox.hand_off(context.tenant_id, context.conversation_id, "the agent failed", None)
            return TurnOutcome(SAFE_REPLY[customer_language(text)], handoff=True, route="safe_reply")
        sources = [{"id": p["id"], "name": p["name"], "text": p["text"]} for p in state["passages"]]
        if state["route"] in ("declined", "custom_answer", "safe_reply"):
            sources = []
        return TurnOutcome(
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
