"""The custom-answer matcher on hand-picked pairs: paraphrases match, near-misses never do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest

from agent.custom_answers import CustomAnswerMatcher
from agent.settings import CustomAnswer
from knowledge.embeddings import Embedder, LocalE5Embedder

ANSWERS = [
    CustomAnswer(question="What are your opening hours?", answer="HOURS"),
    CustomAnswer(question="Do you have free wifi?", answer="WIFI"),
    CustomAnswer(question="Can I bring my dog?", answer="DOG"),
    CustomAnswer(question="你們幾點開門？", answer="開門"),
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what are your opening hours", "HOURS"),
        ("When are you open?", "HOURS"),
        ("你們的營業時間是？", "HOURS"),
        ("Is there free wifi at the salon?", "WIFI"),
        ("What are your closing hours?", None),
        ("你們幾點關門？", None),
        ("Can I bring my friend?", None),
        ("How much is a facial?", None),
        ("Do you sell gift cards?", None),
    ],
)
def test_matches(embedder: LocalE5Embedder, question: str, expected: str | None) -> None:
    match = CustomAnswerMatcher(embedder).find(question, ANSWERS)
    assert (match.answer.answer if match else None) == expected


class CountingEmbedder:
    """The session's embedder, counting the questions it embeds (a new object: a cache of its own)."""

    def __init__(self, inner: LocalE5Embedder) -> None:
        self.inner, self.queries = inner, 0
        self.name, self.dim = inner.name, inner.dim

    def query(self, text: str) -> Any:
        self.queries += 1
        return self.inner.query(text)

    def latent(self, texts: Sequence[str]) -> Any:
        return self.inner.latent(texts)


def test_question_embeddings_come_from_the_shared_query_cache(embedder: LocalE5Embedder) -> None:
    counting = CountingEmbedder(embedder)
    matcher = CustomAnswerMatcher(cast(Embedder, counting))
    first = matcher.find("Is there free wifi at the salon?", ANSWERS)
    embedded = counting.queries
    again = CustomAnswerMatcher(cast(Embedder, counting)).find("Is there free wifi at the salon?", ANSWERS)
    assert embedded == len(ANSWERS) + 1  # each custom question and the customer's, once
    assert counting.queries == embedded and again == first
