"""The graph's nodes. Each reads the typed runtime context (tenant, conversation) and the state,
and returns a partial state update. Services come in through AgentDeps."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime

from agent import evidence, guardrails
from agent.context import Context
from agent.custom_answers import CustomAnswerMatcher
from agent.gate import AnswerabilityGate
from agent.intent import IntentClassifier, negated_request
from agent.prompt import system_prompt
from agent.settings import AgentSettings, AgentSettingsStore
from agent.standalone import candidates
from agent.state import State
from core.db import utcnow
from core.language import customer_language
from crm.working_hours import WorkingHours
from knowledge.embeddings import Embedder
from knowledge.services import KnowledgeServices, SearchHit
from tools.base import ToolServices
from tools.ports import Conversations

log = logging.getLogger(__name__)
SMALL_TALK = ("greeting", "thanks", "goodbye", "acknowledgement")

# Passages offered to the model, best first; the gate (agent/gate.py) decides whether they answer at all.
PASSAGES = 3
SAFE_REPLY = {
    "en": "Sorry, I can't answer that right now. I've asked a colleague to help you.",
    "zh": "抱歉，我暫時未能回答，已請同事跟進。",
}


Rewriter = Callable[[str, list[tuple[str, str]], str], list[str]]
"""(message, conversation as (speaker, text), previous standalone question) -> standalone readings of
the message, the likelier first; retrieval keeps the one whose best passage matches closest."""
ALTERNATIVE_MARGIN = 0.01  # the second reading must match this much closer to replace the first


def offline_rewriter(message: str, history: list[tuple[str, str]], previous: str) -> list[str]:
    return candidates(message, previous)


@dataclass
class AgentDeps:
    knowledge: KnowledgeServices
    settings: AgentSettingsStore
    inbox: Conversations  # the inbox's store, through what the agent writes of a conversation
    model: BaseChatModel
    tools: list[BaseTool]
    tool_services: ToolServices
    """Handed to every turn in its Context, where the tools read it."""
    embedder: Embedder
    working_hours: Callable[[str], WorkingHours] = field(default=lambda tenant_id: WorkingHours())
    rewriter: Rewriter = offline_rewriter
    """Writes each turn's standalone question (carry-over offline, a model call with PARLEY_LLM=openai)."""
    custom_answers: CustomAnswerMatcher = field(init=False)
    """Matches the business's custom answers; keeps their questions' vectors (one per app)."""

    def __post_init__(self) -> None:
        self.custom_answers = CustomAnswerMatcher(self.embedder)


AFTER_HOURS = {
    "en": " Our team is away now; a colleague will reply from {when}.",
    "zh": "同事現正休息，會於{when}起回覆你。",
}


def after_hours_note(hours: WorkingHours, language: str, now: datetime) -> str:
    """When a person will answer, if nobody is at work now ("" during working hours)."""
    opening = hours.next_opening(now)
    if opening is None or opening == now:
        return ""
    local = opening.astimezone(hours.zone)
    when = (
        local.strftime("%a %d %b %H:%M") + f" ({hours.timezone})"
        if language == "en"
        else f"{local.month}月{local.day}日 {local:%H:%M}（{hours.timezone}）"
    )
    return AFTER_HOURS[language].format(when=when)


def usable_hits(knowledge: KnowledgeServices, tenant_id: str, query: str, k: int = 5) -> list[SearchHit]:
    """The knowledge an answer may stand on: the best hits, without injected instructions."""
    hits = knowledge.search(tenant_id, query, k=k)
    clean = set(guardrails.clean_passages([h.text for h in hits]))
    return [h for h in hits if h.text in clean]


def passages(hits: list[SearchHit]) -> list[dict[str, Any]]:
    return [{"id": h.source_id, "name": h.source_name, "text": h.text, "score": h.score} for h in hits]


def _question(state: State) -> str:
    return next((str(m.content) for m in reversed(state.messages) if isinstance(m, HumanMessage)), "")


FOLLOW_UP_COSINE = 0.03  # how much closer another passage must be to replace the one answered before


def _previous_first(hits: list[SearchHit], previous: list[str]) -> list[SearchHit]:
    """A follow-up about the subject before it is most likely answered where that subject was: the passage
    that answered the previous question goes first unless another matches clearly better."""
    if not hits or not previous:
        return hits
    for i, hit in enumerate(hits[1:], start=1):
        if hit.chunk_id in previous and hits[0].dense - hit.dense <= FOLLOW_UP_COSINE:
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


def _history(state: State) -> list[tuple[str, str]]:
    """The conversation before this turn's message, as (speaker, text)."""
    earlier = state.messages[:-1] if state.messages else []
    return [
        ("customer" if isinstance(m, HumanMessage) else "agent", str(m.content))
        for m in earlier
        if isinstance(m, HumanMessage | AIMessage) and str(m.content).strip()
    ]


def _previous_reply(state: State) -> str:
    """The agent's reply before this turn's message ("" on a first turn)."""
    return next((text for who, text in reversed(_history(state)) if who == "agent"), "")


def _this_turn(state: State) -> list[Any]:
    last_human = max((i for i, m in enumerate(state.messages) if isinstance(m, HumanMessage)), default=-1)
    return list(state.messages[last_human + 1 :])


class AgentNodes:
    def __init__(self, deps: AgentDeps) -> None:
        self.deps = deps
        self._bound = deps.model.bind_tools(deps.tools)
        self._intents = IntentClassifier(deps.embedder, deps.knowledge.queries)
        self._gate = AnswerabilityGate(deps.knowledge)

    @staticmethod
    def _settings(runtime: Runtime[Context]) -> AgentSettings:
        return runtime.context.settings

    # --- input guardrails ---------------------------------------------------------------------------
    def guard_input(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        question = _question(state)
        language = customer_language(question)
        earlier = [str(m.content) for m in state.messages[:-1] if isinstance(m, HumanMessage)]
        previous = earlier[-1] if earlier else ""
        verdict = guardrails.check_input(question, self._settings(runtime), language, previous)
        if verdict.tripped:
            log.info(
                "input guardrail %s (%s) in conversation %s",
                verdict.kind,
                verdict.detail,
                runtime.context.conversation_id,
            )
            return {
                "language": language,
                "reply": verdict.reply,
                "route": "declined",
                "messages": [AIMessage(content=verdict.reply)],
            }
        return {"language": language}

    @staticmethod
    def after_guard(state: State) -> Literal["custom_answer", "finish"]:
        return "finish" if state.route == "declined" else "custom_answer"

    # --- custom answers -----------------------------------------------------------------------------
    def custom_answer(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        match = self.deps.custom_answers.find(_question(state), self._settings(runtime).custom_answers)
        if match is None:
            return {}
        return {
            "reply": match.answer.answer,
            "route": "custom_answer",
            "messages": [AIMessage(content=match.answer.answer)],
        }

    @staticmethod
    def after_custom(state: State) -> Literal["classify", "finish"]:
        return "finish" if state.route == "custom_answer" else "classify"

    # --- intent: small talk, asking for a person, a complaint, or a question -----------------------
    def classify(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        message = _question(state)
        rules = self._settings(runtime).handoff
        verdict = self._intents.classify(message)
        phrase = any(k.strip() and k.lower() in message.lower() for k in rules.keywords)
        if verdict.intent != "human" and phrase and not negated_request(message):
            return {"intent": "human"}  # the business's own handoff phrases
        intent = verdict.intent
        if intent == "complaint" and not rules.on_complaint:
            intent = "question"
        return {"intent": intent}

    @staticmethod
    def after_classify(state: State) -> Literal["contextualise", "hand_off", "respond"]:
        if state.intent in ("human", "complaint"):
            return "hand_off"
        return "respond" if state.intent in SMALL_TALK else "contextualise"

    def hand_off(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Asking for a person or a real complaint: the handoff tool is called at once, not left to a model."""
        reason = "customer asked for a human" if state.intent == "human" else "complaint"
        call_id = "handoff_" + secrets.token_hex(6)
        call = {"name": "handoff_to_human", "args": {"reason": reason}, "id": call_id, "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    # --- a standalone question from the conversation -------------------------------------------------
    def contextualise(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        message = _question(state)
        readings = [r for r in self.deps.rewriter(message, _history(state), state.topic) if r.strip()]
        return {"question": readings[0] if readings else message, "alternative": readings[1:2]}

    # --- retrieval (mandatory: every answer is grounded or handed off) ------------------------------
    def retrieve(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        tenant_id = runtime.context.tenant_id
        question = state.question or _question(state)
        hits = usable_hits(self.deps.knowledge, tenant_id, question)
        for other in state.alternative:  # a short message: as it is, or about the subject before it
            found = usable_hits(self.deps.knowledge, tenant_id, other)
            if found and (not hits or found[0].dense > hits[0].dense + ALTERNATIVE_MARGIN):
                question, hits = other, found
        if question != _question(state):
            hits = _previous_first(hits, state.topic_chunks)
        return {"hits": hits, "question": question, "alternative": []}

    # --- does the knowledge answer this question? ----------------------------------------------------
    def gate(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        question = state.question or _question(state)
        follows = state.topic_chunks if question != _question(state) else []
        verdict = self._gate.judge(
            runtime.context.tenant_id, question, state.language, state.hits, follows, _question(state)
        )
        if not verdict.answerable:
            log.info("gate: %s (conversation %s)", verdict.reason, runtime.context.conversation_id)
            return {"passages": [], "hits": [], "answerable": False, "gate_reason": verdict.reason}
        length = self._settings(runtime).response_length
        hits = [state.hits[verdict.best], *state.hits[: verdict.best], *state.hits[verdict.best + 1 :]]
        ordered = evidence.customer_language_first(hits, state.language)[:PASSAGES]
        # Every unit of the passages offered, scored against the question (retrieval kept only the best).
        scored = self.deps.knowledge.unit_scores(
            runtime.context.tenant_id, question, [h.chunk_id for h in ordered]
        )
        for hit in ordered:
            hit.units = {**hit.units, **scored.get(hit.chunk_id, {})}
        message = _question(state)
        if question != message:
            ordered = evidence.answer_first(ordered, question, message)
            ordered = evidence.not_repeated(ordered, question, length, message, _previous_reply(state))
        used = evidence.complementary(question, ordered)
        passages = [
            evidence.passage(h, question, length, u, message) for h, u in zip(ordered, used, strict=True)
        ]
        return {
            "passages": passages,
            "hits": [],
            "answerable": True,
            "gate_reason": verdict.reason,
            "topic": evidence.topic(question, passages[0], state.language),
            "topic_chunks": [h.chunk_id for h, u in zip(ordered, used, strict=True) if u],
        }

    # --- the model, with tools ----------------------------------------------------------------------
    def respond(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        settings = self._settings(runtime)
        canary = secrets.token_hex(6)
        prompt = system_prompt(
            settings,
            state.passages,
            state.language,
            canary,
            intent=state.intent or "question",
            question=state.question,
            answerable=state.answerable if state.question else None,
        )
        try:
            answer = self._bound.invoke([SystemMessage(prompt), *state.messages])
        except Exception as exc:  # endpoint down, timeout, bad response: never leave the customer unanswered
            log.warning("model call failed in conversation %s: %s", runtime.context.conversation_id, exc)
            reply = SAFE_REPLY[state.language]
            return {
                "messages": [AIMessage(content=reply)],
                "reply": reply,
                "route": "safe_reply",
                "handoff": True,
                "handoff_reason": "the model endpoint failed",
            }
        return {"messages": [answer], "canary": canary}

    @staticmethod
    def after_respond(state: State) -> Literal["tools", "check_output"]:
        last = state.messages[-1] if state.messages else None
        if isinstance(last, AIMessage) and last.tool_calls and state.route != "safe_reply":
            return "tools"
        return "check_output"

    # --- output check -------------------------------------------------------------------------------
    def check_output(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        last = state.messages[-1] if state.messages else None
        if state.route == "safe_reply" or not isinstance(last, AIMessage):
            return {}
        instructions = system_prompt(self._settings(runtime), [], state.language, state.canary)
        verdict = guardrails.check_output(str(last.content), instructions, state.canary)
        if not verdict.tripped:
            return {}
        log.warning(
            "output check withheld a reply (%s) in %s", verdict.detail, runtime.context.conversation_id
        )
        reply = SAFE_REPLY[state.language]
        # The withheld text leaves the conversation too, so later turns never see it.
        return {
            "messages": [RemoveMessage(id=last.id or ""), AIMessage(content=reply)],
            "reply": reply,
            "route": "safe_reply",
            "handoff": True,
            "handoff_reason": f"reply withheld: {verdict.detail}",
        }

    # --- reply or handoff ---------------------------------------------------------------------------
    def finish(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        ctx = runtime.context
        settings = self._settings(runtime)
        turn = _this_turn(state)
        results = {m.tool_call_id: str(m.content) for m in turn if isinstance(m, ToolMessage)}
        actions: list[dict[str, Any]] = [
            {"tool": call["name"], "args": call["args"], "result": results.get(call["id"] or "", "")}
            for m in turn
            if isinstance(m, AIMessage)
            for call in m.tool_calls
        ]
        handoff, reason = state.handoff, state.handoff_reason
        if any(a["tool"] == "handoff_to_human" for a in actions):
            handoff = True
            reason = next(
                str(a["args"].get("reason", "")) for a in actions if a["tool"] == "handoff_to_human"
            )
        elif any(a["tool"] == "score_lead" and "routed to the" in a["result"] for a in actions):
            handoff, reason = True, "hot lead"  # score_lead handed it to the sales team itself
        route = state.route or "model"
        reply = state.reply or next(
            (str(m.content) for m in reversed(turn) if isinstance(m, AIMessage) and m.content), ""
        )
        if route == "model" and state.intent in SMALL_TALK:
            route = "small_talk"
        if route == "model" and not handoff:
            answered = bool(state.passages) and state.answerable
            streak = self.deps.inbox.record_outcome(ctx.tenant_id, ctx.conversation_id, answered=answered)
            rules = settings.handoff
            if not answered and rules.on_low_confidence and streak >= rules.max_failed_answers:
                handoff, reason = True, f"{streak} questions in a row without an answer in the knowledge"
        if handoff:
            self.deps.inbox.hand_off(
                ctx.tenant_id, ctx.conversation_id, reason or "handoff", settings.handoff.team
            )
            route = "handoff" if route == "model" else route
            reply += after_hours_note(
                self.deps.working_hours(ctx.tenant_id), state.language or "en", utcnow()
            )
        if route == "model" and not state.answerable and not handoff and not actions:
            route = "unknown"  # said it does not know (and offered a colleague)
        return {
            "reply": reply,
            "route": route,
            "handoff": handoff,
            "handoff_reason": reason,
            "actions": actions,
        }
