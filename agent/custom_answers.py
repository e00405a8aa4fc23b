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
from knowledge import lexical
from knowledge.embeddings import Embedder

SAME_LANGUAGE_SIMILARITY = 0.93
CROSS_LANGUAGE_SIMILARITY = 0.86
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


def _overlap(a: str, b: str) -> float:
    ta, tb = set(lexical.tokens(a)), set(lexical.tokens(b))
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


_VECTORS: dict[tuple[str, str], np.ndarray] = {}


def _vector(embedder: Embedder, text: str) -> np.ndarray:
    """Custom questions change rarely: embed each once per process."""
    key = (embedder.name, text)
    if key not in _VECTORS:
        if len(_VECTORS) > 20_000:
            _VECTORS.clear()
        _VECTORS[key] = embedder.query(text)
    return _VECTORS[key]


def find(question: str, answers: list[CustomAnswer], embedder: Embedder) -> Match | None:
    if not answers:
        return None
    asked = _normal(question)
    for answer in answers:
        if _normal(answer.question) == asked:
            return Match(answer, "exact", 1.0)
    best = max(answers, key=lambda a: _overlap(question, a.question))
    if _overlap(question, best.question) >= OVERLAP:
        return Match(best, "overlap", _overlap(question, best.question))
    query = embedder.query(question)
    scores = [float(np.dot(query, _vector(embedder, a.question))) for a in answers]
    order = sorted(range(len(answers)), key=lambda i: scores[i], reverse=True)
    top = order[0]
    runner_up = scores[order[1]] if len(order) > 1 else 0.0
    same_language = lexical.language(question) == lexical.language(answers[top].question)
    needed = SAME_LANGUAGE_SIMILARITY if same_language else CROSS_LANGUAGE_SIMILARITY
    if scores[top] >= needed and scores[top] - runner_up >= MARGIN:
        return Match(answers[top], "similar", scores[top])
    return None
