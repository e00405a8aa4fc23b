"""Standalone questions: offline carry-over of the subject an elliptic follow-up leaves out, and the
model rewriter with its fallback when the endpoint fails."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from agent.standalone import ModelRewriter, candidates, carry_over, leans_on_context
from tests.agent.fakes import BrokenChatModel, ScriptedChatModel


@pytest.mark.parametrize(
    ("previous", "message", "carried"),
    [
        ("Pro plan 幾錢一個月？", "咁幾錢？", "Pro plan"),
        ("How much is the Team plan?", "and each extra person?", "Team plan"),
        ("Can I message you on WhatsApp?", "and on LINE?", "message on WhatsApp"),
        ("伺服器退款要幾耐？", "佢幾耐覆我？", "伺服器退款"),
        ("Which cards do you take?", "what about PayPal?", "cards"),
    ],
)
def test_an_elliptic_follow_up_gets_the_subject_before_it(previous: str, message: str, carried: str) -> None:
    standalone = carry_over(message, previous)
    assert standalone.startswith(message) and carried in standalone
    assert "?" not in standalone[len(message) :] and "幾錢" not in standalone[len(message) :]


@pytest.mark.parametrize(
    "message",
    [
        "How much is the Business plan with 10 users?",
        "可以用八達通付款嗎？請問你們有沒有門市？",
        "Do you accept WeChat Pay?",
    ],
)
def test_a_question_that_stands_alone_is_left_alone(message: str) -> None:
    assert not leans_on_context(message)
    assert carry_over(message, "How much is the Pro plan?") == message


def test_the_model_rewrites_with_the_conversation_and_falls_back_when_it_fails() -> None:
    scripted = ScriptedChatModel(responses=[AIMessage(content="How much is each extra user on Business?")])
    history = [("customer", "How much is Business?"), ("agent", "HK$480 a month.")]
    assert ModelRewriter(scripted)("and each extra user?", history, "How much is Business?") == [
        "How much is each extra user on Business?"
    ]
    assert ModelRewriter(scripted)("hello", [], "") == ["hello"]  # no history, no call
    fallback = ModelRewriter(BrokenChatModel(responses=[]))(
        "and each extra user?", history, "How much is Business?"
    )
    assert fallback == ["and each extra user? (Business)"]


def test_a_short_message_that_names_nothing_is_read_both_ways() -> None:
    assert candidates("When do you open?", "How much is the milk tea?") == [
        "When do you open?",
        "When do you open? (milk tea)",
    ]
    assert candidates("and the milk tea?", "When do you open?") == ["and the milk tea? (open)"]
