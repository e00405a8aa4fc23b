"""LLM-judged metrics (ragas) against a fake OpenAI-compatible judge on loopback, never a network model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from core.errors import InvalidInput
from evals.dataset import Case, Expect
from evals.judge import Judge
from evals.metrics import score_case
from evals.runner import CaseRun
from knowledge.embeddings import LocalE5Embedder
from tests.agent.fake_openai import FakeOpenAI, completion


@pytest.fixture
def judge_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.server.shutdown()


def judge(fake: FakeOpenAI, embedder: LocalE5Embedder, metrics: list[str]) -> Judge:
    settings = Settings(
        data_dir=Path("unused"),
        judge_base_url=fake.url,
        judge_api_key="judge-key-123",
        judge_model="fake-judge",
        judge_metrics=metrics,
        judge_timeout=5,
    )
    found = Judge.from_settings(settings, embedder)
    assert found is not None
    return found


CASE = Case(id="c", kind="golden", question="How much is a gel manicure?", reference="HK$350")
RUN = CaseRun(
    case_id="c",
    reply="A gel manicure costs HK$350. It takes 30 minutes.",
    contexts=[{"id": "s", "name": "prices.xlsx", "text": "Gel Manicure; 60 min; HK$350"}],
)


def reply(payload: object) -> dict[str, object]:
    return completion(json.dumps(payload, ensure_ascii=False))


def test_no_judge_without_its_settings(embedder: LocalE5Embedder) -> None:
    assert Judge.from_settings(Settings(data_dir=Path("unused")), embedder) is None
    with pytest.raises(ValueError, match="PARLEY_JUDGE_API_KEY"):
        Settings(data_dir=Path("unused"), judge_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="unknown"):
        Settings(data_dir=Path("unused"), judge_metrics=["vibes"])


def test_faithfulness_from_the_judges_verdicts(judge_server: FakeOpenAI, embedder: LocalE5Embedder) -> None:
    statements = ["A gel manicure costs HK$350.", "It takes 30 minutes."]
    judge_server.script = [
        reply({"statements": statements}),
        reply(
            {
                "statements": [
                    {"statement": statements[0], "reason": "in the price list", "verdict": 1},
                    {"statement": statements[1], "reason": "the list says 60 minutes", "verdict": 0},
                ]
            }
        ),
    ]
    result = asyncio.run(score_case(CASE, RUN, judge(judge_server, embedder, ["faithfulness"])))
    assert result["scores"]["faithfulness"] == 0.5  # one of two statements is supported
    assert result["errors"] == []
    first = judge_server.requests[0]
    assert first["model"] == "fake-judge" and "30 minutes" in json.dumps(first, ensure_ascii=False)
    assert judge_server.headers[0]["authorization"] == "Bearer judge-key-123"


def test_answer_relevancy_embeds_with_our_embedder(
    judge_server: FakeOpenAI, embedder: LocalE5Embedder
) -> None:
    # The judge derives the customer's own question from the reply: cosine 1, committal: relevancy 1.
    judge_server.script = [reply({"question": CASE.question, "noncommittal": 0})]
    result = asyncio.run(score_case(CASE, RUN, judge(judge_server, embedder, ["answer_relevancy"])))
    assert result["scores"]["answer_relevancy"] == pytest.approx(1.0, abs=1e-3)
    judge_server.script = [reply({"question": CASE.question, "noncommittal": 1})]
    evasive = asyncio.run(score_case(CASE, RUN, judge(judge_server, embedder, ["answer_relevancy"])))
    assert evasive["scores"]["answer_relevancy"] == 0.0  # an evasive reply scores 0


def test_a_failing_judge_costs_the_metric_not_the_run(
    judge_server: FakeOpenAI, embedder: LocalE5Embedder
) -> None:
    judge_server.script = []  # every call answers HTTP 500
    result = asyncio.run(score_case(CASE, RUN, judge(judge_server, embedder, ["factual_correctness"])))
    assert "factual_correctness" not in result["scores"]
    assert result["scores"]["exact_match"] == 0.0  # the offline metrics are still there
    assert result["errors"] and result["errors"][0].startswith("factual_correctness:")


def test_behaviour_cases_are_not_judged_for_faithfulness_or_relevancy(
    judge_server: FakeOpenAI, embedder: LocalE5Embedder
) -> None:
    # A handoff reply is meant to be neither grounded nor an answer: its checks score it, not the judge.
    case = Case(id="b", kind="behaviour", question="I want a person", expect=Expect(handoff=True))
    handed = CaseRun(case_id="b", reply="A colleague will reply soon.", contexts=RUN.contexts, handoff=True)
    judge_server.script = [reply({"question": case.question, "noncommittal": 0})] * 4
    found = judge(judge_server, embedder, ["faithfulness", "answer_relevancy"])
    result = asyncio.run(score_case(case, handed, found))
    assert result["scores"] == {"behaviour_pass": 1.0} and result["errors"] == []
    assert judge_server.requests == []  # the judge was never asked


def test_a_judge_without_its_endpoint_is_refused_without_assert(embedder: LocalE5Embedder) -> None:
    # Not an assert: `python -O` strips those, and a judge without an endpoint must still be refused.
    with pytest.raises(InvalidInput, match="PARLEY_JUDGE_BASE_URL"):
        Judge(Settings(data_dir=Path("unused")), embedder)
