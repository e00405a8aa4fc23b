"""The custom-answer matcher on hand-picked pairs: paraphrases match, near-misses never do."""

from __future__ import annotations

import pytest

from agent.custom_answers import CustomAnswerMatcher
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
    match = CustomAnswerMatcher(embedder).find(question, ANSWERS)
    assert (match.answer.answer if match else None) == expected


def test_the_matcher_keeps_a_bounded_number_of_vectors(embedder: LocalE5Embedder) -> None:
    matcher = CustomAnswerMatcher(embedder, limit=2)
    for question in ("When are you open?", "你們的營業時間是？", "Is there free wifi at the salon?"):
        matcher.find(question, ANSWERS)
    assert 0 < len(matcher) <= 4  # two dense vectors and two latent ones at most, for four questions
    assert matcher.find("When are you open?", ANSWERS) == CustomAnswerMatcher(embedder).find(
        "When are you open?", ANSWERS
    )
