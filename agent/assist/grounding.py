"""What a suggestion may stand on: the conversation so far, the customer's latest message and language, and
the tenant's knowledge retrieved for it (through the same search, answerability gate and injection filter as
the agent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.custom_answers import CustomAnswerMatcher
from agent.gate import AnswerabilityGate
from agent.nodes import passages, usable_hits
from agent.settings import AgentSettings
from core.errors import InvalidInput
from core.language import customer_language
from knowledge.services import KnowledgeServices, SearchHit

RECENT_MESSAGES = 10  # what a model is shown of the conversation
SPEAKERS = {"customer": "Customer", "agent": "AI agent", "human": "Staff"}


class Said(Protocol):
    """One message of the conversation, as a suggestion reads it (the inbox's message rows provide it)."""

    @property
    def role(self) -> str: ...
    @property
    def text(self) -> str: ...


class History(Protocol):
    """Where the conversation so far is read from (inbox/store.py provides it)."""

    def messages(self, tenant_id: str, conversation_id: str) -> Sequence[Said]:
        """Oldest first; NotFound for another tenant's conversation."""
        ...


@dataclass
class Grounding:
    question: str
    """The customer's latest message (with the one before it when that found better knowledge)."""
    language: str  # en | zh
    passages: list[dict[str, Any]] = field(default_factory=list)  # {id, name, text, score}
    history: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text), oldest first
    fixed_answer: str = ""
    """The business's custom answer to this question, when it has one (returned verbatim)."""

    def texts(self) -> list[str]:
        """Everything a suggestion may take facts from: the knowledge and what the business already said
        (a price the customer claimed is what the reply answers, not something to confirm)."""
        said = [text for speaker, text in self.history if speaker != SPEAKERS["customer"]]
        return [p["text"] for p in self.passages] + said + [self.fixed_answer]


def answer_language(text: str, settings: AgentSettings) -> str:
    """The customer's language, unless the business answers only in others (as the agent does)."""
    language = customer_language(text)
    if settings.languages and language not in settings.languages:
        return settings.languages[0]
    return language


class Grounder:
    def __init__(
        self, knowledge: KnowledgeServices, inbox: History, custom_answers: CustomAnswerMatcher
    ) -> None:
        self._knowledge = knowledge
        self._custom_answers = custom_answers
        self._inbox = inbox
        self._gate = AnswerabilityGate(knowledge)

    def messages(self, tenant_id: str, conversation_id: str) -> Sequence[Said]:
        return self._inbox.messages(tenant_id, conversation_id)  # NotFound for another tenant's

    def for_conversation(self, tenant_id: str, conversation_id: str, settings: AgentSettings) -> Grounding:
        messages = [m for m in self.messages(tenant_id, conversation_id) if m.text.strip()]
        asked = [m.text.strip() for m in messages if m.role == "customer"]
        if not asked:
            raise InvalidInput(
                "the conversation has no customer message to reply to", code="no_customer_message"
            )
        question, hits = asked[-1], self._usable(tenant_id, asked[-1])
        if len(asked) > 1 and _short(asked[-1]):
            # A short follow-up ("how much is it?", "幾錢？") may only make sense with the message before it;
            # a full question stands alone (mixing in the last topic would answer the wrong question).
            together = f"{asked[-2]}\n{asked[-1]}"
            with_context = self._usable(tenant_id, together)
            if with_context and (not hits or with_context[0].dense > hits[0].dense):
                question, hits = together, with_context
        history = [(SPEAKERS.get(m.role, m.role), m.text.strip()) for m in messages[-RECENT_MESSAGES:]]
        fixed = self._custom_answers.find(asked[-1], settings.custom_answers)
        language = answer_language(asked[-1], settings)
        return Grounding(question, language, passages(hits), history, fixed.answer.answer if fixed else "")

    def knowledge_texts(self, tenant_id: str, query: str) -> list[str]:
        """The usable knowledge for a query, as the agent would see it."""
        return [h.text for h in self._usable(tenant_id, query)]

    def _usable(self, tenant_id: str, query: str) -> list[SearchHit]:
        """The hits a suggestion may use: none when the knowledge does not answer the question."""
        hits = usable_hits(self._knowledge, tenant_id, query)
        verdict = self._gate.judge(tenant_id, query, customer_language(query), hits)
        if not verdict.answerable:
            return []
        return [hits[verdict.best], *hits[: verdict.best], *hits[verdict.best + 1 :]]


def _short(text: str) -> bool:
    return len(text.split()) <= 4 if customer_language(text) == "en" else len(text) <= 6
