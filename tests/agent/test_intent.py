"""The intent step on messages it was not built from (evals/datasets/intents.yaml), and the cases the
issue names: a product term or a negation that contains 真人 or "complaint" is still a question."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.intent import IntentClassifier
from knowledge.embeddings import LocalE5Embedder

HELD_OUT = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "intents.yaml"
GROUP = {
    "greeting": "small talk",
    "thanks": "small talk",
    "goodbye": "small talk",
    "acknowledgement": "small talk",
    "human": "hand off",
    "complaint": "hand off",
    "question": "question",
}


@pytest.fixture(scope="module")
def classifier(embedder: LocalE5Embedder) -> IntentClassifier:
    return IntentClassifier(embedder)


def test_precision_and_recall_per_group_and_language_on_held_out_messages(
    classifier: IntentClassifier,
) -> None:
    data = yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))
    rows = [
        (GROUP[intent], language, GROUP[classifier.classify(message).intent])
        for part in ("messages", "later")
        for intent, languages in data[part].items()
        for language, messages in languages.items()
        for message in messages
    ]
    for group in ("small talk", "hand off", "question"):
        for language in ("en", "zh"):
            mine = [r for r in rows if r[1] == language]
            tp = sum(1 for want, _, got in mine if want == group and got == group)
            precision = tp / max(1, sum(1 for *_, got in mine if got == group))
            recall = tp / max(1, sum(1 for want, *_ in mine if want == group))
            assert precision >= 0.85 and recall >= 0.85, (group, language, precision, recall)


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hi", "greeting"),
        ("thanks!", "thanks"),
        ("唔該晒！", "thanks"),
        ("好啦，拜拜", "goodbye"),
        ("OK，明白晒", "acknowledgement"),
        ("I want to speak to a manager", "human"),
        ("搵個同事打電話俾我", "human"),
        ("嬲到爆，搞咗成個禮拜都未搞掂！", "complaint"),
        ("真人客服標籤點樣用？", "question"),
        ("唔使轉真人，我自己睇得明，只係想問退款要幾耐？", "question"),
        ("Our average response time looks terrible, how can we improve it?", "question"),
        ("hi, how much is the Pro plan?", "question"),
        ("My order arrived broken, I want a refund", "question"),
    ],
)
def test_named_messages(classifier: IntentClassifier, message: str, intent: str) -> None:
    assert classifier.classify(message).intent == intent
