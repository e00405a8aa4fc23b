"""Custom answers: the business fixes the answer to a question; a match returns it verbatim.

Matching is deliberately conservative, because a wrong verbatim answer is worse than none:
normalised equality, or high word/character overlap, or — for paraphrases and the other language —
a high dense similarity that clearly beats the runner-up custom question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from agent.settings import CustomAnswer
from core.language import text_language
from knowledge import lexical, query_embeddings
from knowledge.embeddings import Embedder

SAME_LANGUAGE_SIMILARITY = 0.93
# Across languages e5 alone scores paraphrases (~0.83-0.86) like unrelated questions, so the
# language-neutral latent terms are added: paraphrases reached 1.09-1.17, unrelated pairs <= 1.07.
CROSS_LANGUAGE_COMBINED = 1.08
MARGIN = 0.03
OVERLAP = 0.75


@dataclass(frozen=True)
class Match:
    answer: CustomAnswer
    how: str
    score: float


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s\W_]+", " ", text).strip()


_FILLER = frozenset(
    {"have", "has", "there", "any", "please", "can", "could", "would", "salon", "shop", "store", "here"}
)


def _content(text: str) -> set[str]:
    """Topic words: English stems and single Chinese characters, without fillers."""
    return {t for t in lexical.tokens(text) if len(t) == 1 or (t.isascii() and t not in _FILLER)}


def _conflicting(a: str, b: str) -> bool:
    """Each side has a topic word the other lacks (dog/friend, open/close, 開/關): likely not a paraphrase.

    e5 cannot tell these apart (opening vs closing hours score 0.93, 開門 vs 關門 0.96)."""
    ta, tb = _content(a), _content(b)
    return bool(ta - tb) and bool(tb - ta)


def _overlap(a: str, b: str) -> float:
    ta, tb = set(lexical.tokens(a)), set(lexical.tokens(b))
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


class CustomAnswerMatcher:
    """Matches a question to the business's custom answers. Questions' embeddings come from the shared
    query cache (knowledge/query_embeddings.py): each custom question, and the customer's question the
    retriever embeds anyway, is embedded once, not once per turn."""

    def __init__(self, embedder: Embedder) -> None:
        self._queries = query_embeddings.shared(embedder)

    def find(self, question: str, answers: list[CustomAnswer]) -> Match | None:
        return _find(question, answers, self)

    def vector(self, text: str) -> np.ndarray:
        return np.asarray(self._queries.dense(text), dtype=np.float32)

    def latent(self, text: str) -> dict[int, float]:
        found = self._queries.latent(text)
        vector = dict(zip(*found, strict=True)) if found else {}
        norm = float(np.sqrt(sum(v * v for v in vector.values()))) or 1.0
        return {k: v / norm for k, v in vector.items()}

    def latent_cosine(self, a: str, b: str) -> float:
        va, vb = self.latent(a), self.latent(b)
        return sum(v * vb.get(k, 0.0) for k, v in va.items())


def _find(question: str, answers: list[CustomAnswer], matcher: CustomAnswerMatcher) -> Match | None:
    if not answers:
        return None
    asked = _normal(question)
    for answer in answers:
        if _normal(answer.question) == asked:
            return Match(answer, "exact", 1.0)
    best = max(answers, key=lambda a: _overlap(question, a.question))
    if _overlap(question, best.question) >= OVERLAP:
        return Match(best, "overlap", _overlap(question, best.question))
    query = matcher.vector(question)
    language = text_language(question)
    excess = []  # how far each custom question clears the bar for its language pair
    for answer in answers:
        score = float(np.dot(query, matcher.vector(answer.question)))
        if text_language(answer.question) == language:
            conflict = _conflicting(question, answer.question)
            excess.append(score - SAME_LANGUAGE_SIMILARITY if not conflict else -1.0)
        else:
            excess.append(score + matcher.latent_cosine(question, answer.question) - CROSS_LANGUAGE_COMBINED)
    passing = [i for i in range(len(answers)) if excess[i] >= 0]
    # A bilingual business often keeps the same question in both languages: prefer the customer's.
    same = [i for i in passing if text_language(answers[i].question) == language]
    group = same or passing
    if not group:
        return None
    group.sort(key=lambda i: excess[i], reverse=True)
    chosen = group[0]
    if len(group) > 1 and excess[chosen] - excess[group[1]] < MARGIN:
        return None  # two different custom answers fit about equally: too ambiguous to answer verbatim
    return Match(answers[chosen], "similar", excess[chosen])
