"""The custom-answer matcher on hand-picked pairs: paraphrases match, near-misses never do."""

from __future__ import annotations

import pytest

from agent.custom_answers import find
from agent.settings import CustomAnswer
from knowledge.embeddings import LocalE5Embedder

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
    match = find(question, ANSWERS, embedder)
    assert (match.answer.answer if match else None) == expected
