"""A standalone question for each turn: what the customer asks, with the subject an elliptic follow-up
leaves out ("咁幾錢？" after a plan question is about that plan).

Offline: deterministic carry-over. A message that points back at the one before (it opens with "and",
"what about", 咁, 那; says it/that/佢/呢個) is asked with the previous question's subject; a message that
is merely short and names nothing is searched both ways and the closer match wins. With a model: one rewriting call that reads the conversation
(`ModelRewriter`), falling back to carry-over when the call fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from knowledge.answer_types import without_asks
from knowledge.terms import content_terms

log = logging.getLogger(__name__)

_LEANS_EN = re.compile(
    r"^\s*(and|but|also|so|then|or|what about|how about|same for|and if|plus)\b"
    r"|\b(it|its|it's|that|this|those|these|they|them|their|one|there)\b[^a-z]*$"
    r"|\b(for it|of it|about it|with it|for that|about that|after that|is there a maximum|any limit)\b",
    re.IGNORECASE,
)
_LEANS_ZH = re.compile(
    r"^\s*(咁|噉|那|那麼|那么|另外|仲有|還有|还有|如果係|如果是|咁樣)|呢[?？]?\s*$|佢|它|呢個|嗰個|這個|那個|之後"
)
_QUESTION_WORDS = re.compile(
    r"\b(how|what|when|where|which|who|why|is|are|do|does|can|could|will|would|there|the|a|an|it|you|your|i|my)\b"
    r"|[?？]|有冇|有沒有|係咪|是否|可唔可以|可不可以|點樣|怎樣|嗎|呢|㗎|呀|啊|咩",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,.;!?，。；！？]")
_ABOUT_ME = re.compile(r"\W*(i'?m|i am|we'?re|we are|as an?)\b", re.IGNORECASE)
_SHORT_WORDS = 6
_SHORT_HAN = 10

REWRITE_PROMPT = (
    "Rewrite the customer's last message as one standalone question that can be understood without the "
    "conversation, in the customer's own language. Keep names, numbers and wording; add only the subject "
    "the message leaves out. If it already stands alone, or it is not a question, return it unchanged. "
    "Answer with the question only."
)


def leans_on_context(message: str) -> bool:
    """Whether the message points back at the one before it ("and ...?", "what about", 咁, it, 佢, 呢？)."""
    return bool(_LEANS_EN.search(message) or _LEANS_ZH.search(message))


def may_lean_on_context(message: str) -> bool:
    """A short message that names nothing ("is there a maximum?", "要等幾耐？") may be a follow-up, or may
    stand alone ("When do you open?"): retrieval tries both (see `candidates`)."""
    words = len(re.findall(r"[A-Za-z0-9]+", message))
    han = len(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]", message))
    named = any(term.name or term.zipf < 3.5 for term in content_terms(message) if not term.han)
    return words <= _SHORT_WORDS and han <= _SHORT_HAN and not named


def asked_part(question: str) -> str:
    """The question without what the customer says about themselves before it ("I'm at uni, is there
    student pricing?"): their own circumstances are not what the knowledge must speak of."""
    clauses = [c for c in _CLAUSE.split(question) if c.strip()]
    kept = [c for c in clauses[:-1] if not _ABOUT_ME.match(c)] + clauses[-1:]
    return " ".join(kept)


def subject_of(question: str) -> str:
    """What a question is about: without its asking words ("how much", 幾錢, 有冇, "?")."""
    subject = _QUESTION_WORDS.sub(" ", without_asks(question))
    return re.sub(r"\s+", " ", subject).strip(" ,，.。")


def carry_over(message: str, previous: str) -> str:
    """The message asked with the subject of the previous question, when it points back at it."""
    message = message.strip()
    subject = subject_of(previous) if previous else ""
    if not subject or not leans_on_context(message):
        return message
    return f"{message} ({subject})"


def candidates(message: str, previous: str) -> list[str]:
    """Standalone readings of the message, the likelier first: carried over when it points back; as it is
    and carried over when it is merely short; as it is otherwise."""
    message = message.strip()
    subject = subject_of(previous) if previous else ""
    if not subject:
        return [message]
    if leans_on_context(message):
        return [f"{message} ({subject})"]
    if may_lean_on_context(message):
        return [message, f"{message} ({subject})"]
    return [message]


class ModelRewriter:
    """A chat model writes the standalone question (a contextualise step, as in conversational RAG)."""

    def __init__(self, model: BaseChatModel) -> None:
        self._model = model

    def __call__(self, message: str, history: Sequence[tuple[str, str]], previous: str) -> list[str]:
        if not history:
            return [message.strip()]
        conversation = "\n".join(f"{who}: {text}" for who, text in history[-8:])
        try:
            reply = self._model.invoke(
                [
                    SystemMessage(REWRITE_PROMPT),
                    HumanMessage(f"Conversation:\n{conversation}\n\nLast message: {message}"),
                ]
            )
        except Exception as exc:  # the endpoint failing must not cost the customer their answer
            log.warning("standalone question: the model call failed (%s); carrying the subject over", exc)
            return candidates(message, previous)
        rewritten = str(reply.content).strip().strip('"').strip()
        return [rewritten] if 0 < len(rewritten) <= 4 * len(message) + 200 else candidates(message, previous)
