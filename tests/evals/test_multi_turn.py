"""Multi-turn cases (earlier `turns` of one conversation), the small-talk expectation, a decline that is
"I don't know", and faq-dev's dialogues file loading as cases."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from evals.dataset import Case, Expect, Turn, load
from evals.metrics import TURNS, score_case
from evals.runner import CaseRun, run_case

REPLIES = {
    "How much is the Team plan?": ("It is US$79 a month.", "model"),
    "and each extra person?": ("Each extra seat is US$24.", "model"),
    "hi": ("Hello! How can I help you today?", "small_talk"),
    "Do you accept WeChat Pay?": ("I'm sorry, I don't have that information.", "unknown"),
}


class ConversationAgent:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []
        self.inbox = SimpleNamespace(
            open=lambda *_: SimpleNamespace(id="conv", contact_id="contact"),
            get=lambda *_: SimpleNamespace(handoff_team=None),
        )

    def chat(self, tenant_id: str, message: str, conversation_id: str, **_: Any) -> Any:
        self.said.append((conversation_id, message))
        reply, route = REPLIES[message]
        return SimpleNamespace(reply=reply, route=route, handoff=False, sources=[], actions=[])


def scored(case: Case) -> tuple[dict[str, Any], ConversationAgent]:
    agent = ConversationAgent()
    run = run_case(agent, "t", case)  # type: ignore[arg-type]
    return asyncio.run(score_case(case, run)), agent


def test_earlier_turns_run_first_in_the_same_conversation_and_are_checked() -> None:
    case = Case(
        id="team-seat",
        kind="behaviour",
        question="and each extra person?",
        reference_facts=["US$24"],
        expect=Expect(language="en"),
        turns=[Turn(message="How much is the Team plan?", reference_facts=["US$79"])],
    )
    result, agent = scored(case)
    assert agent.said == [("conv", "How much is the Team plan?"), ("conv", "and each extra person?")]
    assert result["scores"][TURNS] == 1.0 and result["scores"]["fact_recall"] == 1.0
    assert result["scores"]["behaviour_pass"] == 1.0
    wrong = case.model_copy(
        update={"turns": [Turn(message="How much is the Team plan?", reference_facts=["US$19"])]}
    )
    result, _ = scored(wrong)
    assert result["scores"][TURNS] == 0.0 and result["scores"]["behaviour_pass"] == 0.0
    assert "turn 1 misses ['US$19']" in result["checks"]["turns"]["detail"]


def test_small_talk_and_a_decline_that_says_it_does_not_know() -> None:
    hello, _ = scored(Case(id="hi", kind="behaviour", question="hi", expect=Expect(small_talk=True)))
    assert hello["checks"]["small_talk"]["passed"]
    unknown, _ = scored(
        Case(id="wechat", kind="behaviour", question="Do you accept WeChat Pay?", expect=Expect(decline=True))
    )
    assert unknown["checks"]["decline"]["passed"]
    not_small, _ = scored(
        Case(id="x", kind="behaviour", question="Do you accept WeChat Pay?", expect=Expect(small_talk=True))
    )
    assert not not_small["checks"]["small_talk"]["passed"]


def test_a_dialogues_file_loads_as_cases_with_turns(tmp_path: Path) -> None:
    path = tmp_path / "dialogues.yaml"
    path.write_text(
        "dialogues:\n"
        "  - id: team\n    language: en\n    turns:\n"
        "      - message: How much is the Team plan?\n        expect_facts: [US$79]\n"
        "      - message: and each extra person?\n        expect_facts: [US$24]\n        expect: {language: en}\n",
        encoding="utf-8",
    )
    dataset = load(path)
    assert dataset.name == "dialogues"
    [case] = dataset.cases
    assert case.question == "and each extra person?" and case.reference_facts == ["US$24"]
    assert case.turns == [Turn(message="How much is the Team plan?", reference_facts=["US$79"])]


def test_a_broken_dialogues_file_names_the_problem(tmp_path: Path) -> None:
    import pytest

    from evals.dataset import DatasetError

    path = tmp_path / "dialogues.yaml"
    path.write_text("dialogues:\n  - id: x\n    turns: []\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="list of turns"):
        load(path)


def test_case_run_records_the_earlier_turns() -> None:
    run = CaseRun("x")
    assert run.turns == [] and "turns" in run.to_dict()
