"""Offline Smart Reply: up to three distinct suggestions, composed deterministically from the knowledge.

The answers come from the offline grounded responder itself (agent/models/local.py), given one passage at a
time through the same system prompt the agent uses, so a suggestion reads like the agent's own answer and
states nothing that is not in the knowledge: a direct answer from the best passage; a brief form of it that
offers more; and an answer from a second passage when the customer's words clearly point at it too, or
else a question that asks the customer to say more. Without knowledge: an offer to check and a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agent.assist.grounding import Grounding
from agent.models.local import TEXT, GroundedChatModel
from agent.prompt import split_title, system_prompt
from agent.settings import AgentSettings
from core.language import customer_language
from knowledge import lexical
from knowledge.chunking import split_sentences

FOLLOW_UP = {"en": "Would you like more details?", "zh": "需要我提供更多資料嗎？"}
CLARIFY = {
    "en": "Could you tell me a little more about what you would like to know, so that I can give you the right answer?",
    "zh": "可以再詳細說明你想了解的內容嗎？我好為你提供準確的資料。",
}
CHECK = {
    "en": "Thank you for your question. Let me check this with a colleague and get back to you shortly.",
    "zh": "多謝你的查詢，我會先向同事確認，稍後回覆你。",
}
# A second passage is offered as another answer only when it holds this share of the customer's words
# (and at least two of them): retrieval always returns neighbours, and most are not answers.
SECOND_PASSAGE_OVERLAP = 0.5
ABBREVIATION = re.compile(r"\b(No|Nos|Mr|Mrs|Ms|Dr|St|Ave|Rd|e\.g|i\.e|approx)\.$", re.IGNORECASE)


@dataclass
class Suggestion:
    text: str
    sources: list[dict[str, str]] = field(default_factory=list)  # {id, name, text}


def source(passage: dict[str, Any]) -> dict[str, str]:
    return {"id": passage["id"], "name": passage["name"], "text": passage["text"]}


def normalised(text: str) -> str:
    """What two suggestions are compared by: letters and digits only, lower case."""
    return re.sub(r"[\W_]+", "", text.lower())


def distinct(suggestions: list[Suggestion]) -> list[Suggestion]:
    seen: set[str] = set()
    kept = []
    for suggestion in suggestions:
        key = normalised(suggestion.text)
        if key and key not in seen:
            seen.add(key)
            kept.append(suggestion)
    return kept


def _overlap(question: str, passage: str) -> float:
    asked = set(lexical.tokens(question))
    shared = asked & set(lexical.tokens(passage))
    return len(shared) / len(asked) if len(shared) >= 2 else 0.0


def _sentences(body: str) -> list[str]:
    """The body's sentences, without an FAQ entry's question, and "No. 8" kept in one piece."""
    pieces: list[str] = []
    for piece in split_sentences(body):
        if pieces and ABBREVIATION.search(pieces[-1]):
            pieces[-1] += " " + piece
        else:
            pieces.append(piece)
    answers = [p for p in pieces if not p.endswith(("?", "？"))]
    return answers or pieces


def _then(text: str, more: str) -> str:
    return f"{text}{'' if text[-1:] in '。！？' else ' '}{more}"


def answer_only(passage: dict[str, Any]) -> dict[str, Any]:
    """The passage without its FAQ question, so that an answer does not open by repeating the question."""
    title, body = split_title(passage["text"])
    sentences = _sentences(body)
    text = " ".join(sentences) if all(customer_language(s) == "en" for s in sentences) else "".join(sentences)
    return {**passage, "text": f"{title}\n{text}" if title else text}


def _end(text: str) -> str:
    if text[-1:] in ".!?。！？":
        return text
    return text + ("。" if customer_language(text) == "zh" else ".")  # spreadsheet rows carry no full stop


class LocalSuggester:
    def __init__(self, model: GroundedChatModel | None = None) -> None:
        self._model = model or GroundedChatModel()

    def suggest(self, grounding: Grounding, settings: AgentSettings) -> list[Suggestion]:
        language = grounding.language
        if not grounding.passages:
            return [Suggestion(CHECK[language]), Suggestion(CLARIFY[language])]
        best, *others = grounding.passages
        suggestions = [
            Suggestion(self.answer(grounding, best, settings), [source(best)]),
            Suggestion(_then(brief(grounding, best), FOLLOW_UP[language]), [source(best)]),
        ]
        second = next(
            (
                p
                for p in others
                if p["text"] != best["text"]
                and _overlap(grounding.question, p["text"]) >= SECOND_PASSAGE_OVERLAP
            ),
            None,
        )
        if second is not None:
            suggestions.append(Suggestion(self.answer(grounding, second, settings), [source(second)]))
        suggestions.append(Suggestion(CLARIFY[language]))
        return distinct(suggestions)[:3]

    def answer(self, grounding: Grounding, passage: dict[str, Any], settings: AgentSettings) -> str:
        """The grounded responder's answer from this one passage, in the suggestion's language."""
        pinned = settings.model_copy(update={"languages": [grounding.language]})
        prompt = system_prompt(pinned, [answer_only(passage)], grounding.language, canary="assist")
        reply = self._model.invoke([SystemMessage(prompt), HumanMessage(grounding.question)])
        return str(reply.content).strip()


def brief(grounding: Grounding, passage: dict[str, Any]) -> str:
    """The passage's one sentence that best answers the question (in the customer's language if it has one)."""
    _, body = split_title(passage["text"])
    sentences = _sentences(body)
    language = grounding.language
    asked = set(lexical.tokens(grounding.question))

    def fit(sentence: str) -> float:
        said = len(asked & set(lexical.tokens(sentence))) / len(asked) if asked else 0.0
        return said + (0.3 if customer_language(sentence) == language else 0.0)

    if not sentences:  # a passage of headings and bullets only: it is its own best sentence
        sentences = [body.strip() or body]
    best = max(sentences, key=lambda s: (fit(s), -sentences.index(s)))
    lead = TEXT[language]["foreign"] if customer_language(best) != language else ""
    return _end(lead + best)
