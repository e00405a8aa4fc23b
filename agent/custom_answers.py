"""Custom answers: the business fixes the answer to a question; a match returns it verbatim.

Matching is deliberately conservative, because a wrong verbatim answer is worse than none:
normalised equality, or high word/character overlap, or — for paraphrases and the other language —
a high dense similarity that clearly beats the runner-up custom question.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from agent.settings import CustomAnswer
from core.language import text_language
from knowledge import lexical
from knowledge.embeddings import Embedder

SAME_LANGUAGE_SIMILARITY = 0.93
# Across languages e5 alone scores paraphrases (~0.83-0.86) like unrelated questions, so the
# language-neutral latent terms are added: paraphrases reached 1.09-1.17, unrelated pairs <= 1.07.
CROSS_LANGUAGE_COMBINED = 1.08
MARGIN = 0.03
OVERLAP = 0.75
V = TypeVar("V")


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
    """Matches a question to the business's custom answers, keeping each custom question's vectors: custom
    questions change rarely, so each is embedded once per app, not once per turn. Built once per app (the
    agent's deps own it; Smart Reply shares it); at most `limit` texts are kept, the least recently used
    going first."""

    def __init__(self, embedder: Embedder, limit: int = 20_000) -> None:
        self.embedder = embedder
        self._limit = limit
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._latents: OrderedDict[str, dict[int, float]] = OrderedDict()
        self._lock = threading.Lock()  # agent turns and suggestions run on several threads

    def find(self, question: str, answers: list[CustomAnswer]) -> Match | None:
        return _find(question, answers, self)

    def vector(self, text: str) -> np.ndarray:
        return self._cached(self._vectors, text, self.embedder.query)

    def latent(self, text: str) -> dict[int, float]:
        return self._cached(self._latents, text, self._normalised_latent)

    def latent_cosine(self, a: str, b: str) -> float:
        va, vb = self.latent(a), self.latent(b)
        return sum(v * vb.get(k, 0.0) for k, v in va.items())

    def __len__(self) -> int:
        return len(self._vectors) + len(self._latents)

    def _normalised_latent(self, text: str) -> dict[int, float]:
        found = self.embedder.latent([text])
        vector = dict(zip(*found[0], strict=True)) if found else {}
        norm = float(np.sqrt(sum(v * v for v in vector.values()))) or 1.0
        return {k: v / norm for k, v in vector.items()}

    def _cached(self, cache: OrderedDict[str, V], text: str, make: Callable[[str], V]) -> V:
        with self._lock:
            if text in cache:
                cache.move_to_end(text)
                return cache[text]
        made = make(text)  # outside the lock: embedding takes milliseconds
        with self._lock:
            cache[text] = made
            while len(cache) > self._limit:
                cache.popitem(last=False)
        return made


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
    query = matcher.embedder.query(question)
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
