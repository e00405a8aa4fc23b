"""Each metric family on a tiny fixed dataset with scores worked out by hand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evals.behaviour import checks
from evals.dataset import Case, Expect
from evals.metrics import score_case, summary
from evals.offline import context_scores, fact_recall, grounded, retrieval_scores, text_scores
from evals.runner import CaseRun
from evals.text import contains, tokens

ROOT = Path(__file__).resolve().parents[2]

PASSAGES = [
    {"id": "s1", "name": "faq.md", "text": "Parking: two hours free for treatments of HK$800 or more."},
    {
        "id": "s2",
        "name": "prices.xlsx",
        "text": "Gel Manicure; 60 min; Price (HK$): 350; Lotus Club price: 320",
    },
    {"id": "s3", "name": "policies.pdf", "text": "Deposits of HK$200 for treatments above HK$1,000."},
]


def golden(**fields: Any) -> Case:
    return Case(id="c", kind="golden", question="How much is a gel manicure?", reference="HK$350", **fields)


OFFLINE_SCRIPT = """
import socket
attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args)[:200])
    raise OSError("network is blocked in this test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse

import asyncio, os
import evals.judge  # noqa: F401  (ragas's LLM side loads too)
from evals.dataset import Case
from evals.metrics import score_case
from evals.runner import CaseRun
from ragas._analytics import do_not_track

case = Case(id="c", kind="golden", question="Gel?", reference="HK$350", reference_facts=["350"],
            reference_contexts=["Gel Manicure HK$350"])
run = CaseRun(case_id="c", reply="HK$350", contexts=[{"id": "s", "name": "p", "text": "Gel Manicure HK$350"}])
scores = asyncio.run(score_case(case, run))["scores"]
assert scores["fact_recall"] == 1.0 and scores["context_recall"] == 1.0, scores
assert os.environ["RAGAS_DO_NOT_TRACK"] == "true" and do_not_track()
assert not attempts, attempts
print("offline ok")
"""


def test_ragas_runs_offline_with_telemetry_off() -> None:
    # A fresh interpreter whose sockets and DNS refuse everything before evals (and ragas) load:
    # any connection attempt, even one a library swallows, is recorded and fails the script.
    env = {k: v for k, v in os.environ.items() if k not in ("RAGAS_DO_NOT_TRACK", "HF_HUB_OFFLINE")}
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline ok" in done.stdout


def test_text_metrics_identical_and_different() -> None:
    same = asyncio.run(text_scores("A gel manicure costs HK$350.", "a gel manicure  costs HK$350"))
    # Exact match and ROUGE ignore case, spacing and the closing full stop; Levenshtein and chrF do not.
    assert same["exact_match"] == 1.0 and same["rouge_l"] == 1.0
    assert 0.5 < same["string_similarity"] < 1.0 and 0.5 < same["chrf"] < 1.0
    exact = asyncio.run(text_scores("abcd", "abcd"))
    assert exact == {"exact_match": 1.0, "string_similarity": 1.0, "rouge_l": 1.0, "chrf": 1.0}
    one_off = asyncio.run(text_scores("abcd", "abce"))
    assert one_off["exact_match"] == 0.0
    assert one_off["string_similarity"] == pytest.approx(0.75)  # one edit in four characters
    assert one_off["rouge_l"] == 0.0  # one token each, different


def test_rouge_compares_chinese_character_by_character() -> None:
    from rouge_score import rouge_scorer

    raw = rouge_scorer.RougeScorer(["rougeL"]).score("深層保濕面部護理", "深層保濕護理")["rougeL"].fmeasure
    assert raw == 0.0  # rouge_score's own tokenizer drops every Chinese character
    scores = asyncio.run(text_scores("深層保濕面部護理", "深層保濕護理"))
    # LCS 深層保濕護理 = 6: precision 6/6, recall 6/8, F1 = 2 * 1 * 0.75 / 1.75
    assert scores["rouge_l"] == pytest.approx(6 / 7, abs=1e-4)
    mixed = asyncio.run(text_scores("Gel Manicure 收費 HK$350", "gel manicure 收費 hk$350"))
    assert mixed["rouge_l"] == 1.0
    assert asyncio.run(text_scores("面部護理", "Gel Manicure"))["rouge_l"] == 0.0


def test_fact_recall_normalises_numbers_and_case() -> None:
    assert fact_recall(["HK$1,280", "Octopus"], "It costs hk$1280; we take octopus.") == 1.0
    assert fact_recall(["350", "320"], "A gel manicure is HK$350.") == 0.5
    assert fact_recall(["24 hours"], "二十四小時前") == 0.0


def test_a_number_matches_whole() -> None:
    # A planted wrong price must not pass as the right one: 350 is not in 1350 nor HK$350 in HK$3,500.
    assert not contains("A gel manicure costs HK$3,500.", "HK$350")
    assert not contains("A gel manicure costs HK$1350.", "350")
    assert not contains("A gel manicure costs HK$1,350.", "HK$350")
    assert not contains("Call 23501234", "2350")
    assert contains("HK$350, or HK$320 for members", "HK$350")
    assert contains("HK$3,500", "HK$3500") and contains("HK$3500", "3,500")
    assert contains("收費HK$350。", "350") and contains("24 hours' notice", "24 hours")
    assert contains("Typhoon Signal No. 8 is up", "Typhoon Signal No. 8")
    assert not contains("Typhoon Signal No. 88", "Typhoon Signal No. 8")
    # Full-width forms (a Chinese keyboard's) are the same characters after NFKC.
    assert contains("ＧＥＬ美甲收費ＨＫ＄３５０", "Gel") and contains("收費３５０元", "350")
    assert contains("HK$350", "ＨＫ＄３５０") and not contains("３，５００", "350")
    assert tokens("Ｇｅｌ ３５０") == ["gel", "350"]
    assert fact_recall(["350"], "It is now HK$3,500.") == 0.0
    assert retrieval_scores(
        golden(reference_facts=["HK$350"]), [{"id": "x", "name": "y", "text": "HK$1,350"}]
    ) == {
        "recall_at_5": 0.0,
        "mrr": 0.0,
    }


def test_recall_at_k_and_mrr_from_facts_and_sources() -> None:
    assert retrieval_scores(golden(reference_facts=["350", "320"]), PASSAGES) == {
        "recall_at_5": 1.0,
        "mrr": 0.5,
    }
    assert retrieval_scores(golden(reference_facts=["350", "HK$999"]), PASSAGES) == {
        "recall_at_5": 0.5,
        "mrr": 0.5,
    }
    assert retrieval_scores(golden(reference_facts=["350"]), PASSAGES, k=1) == {
        "recall_at_1": 0.0,
        "mrr": 0.0,
    }
    by_source = retrieval_scores(golden(reference_sources=["policies.pdf", "missing.md"]), PASSAGES)
    assert by_source == {"recall_at_5": 0.5, "mrr": pytest.approx(1 / 3)}


def test_non_llm_context_recall_and_precision() -> None:
    reference = ["Deposits of HK$200 for treatments above HK$1,000."]
    scores = asyncio.run(context_scores(reference, [p["text"] for p in PASSAGES]))
    # Recall: the one reference context is retrieved (similarity 1 >= 0.5).
    # Precision: only the third of three passages matches: average precision = (1/3) / 1.
    assert scores["context_recall"] == 1.0
    assert scores["context_precision"] == pytest.approx(1 / 3, abs=1e-6)
    assert asyncio.run(context_scores(reference, [])) == {"context_recall": 0.0, "context_precision": 0.0}


def test_grounded_is_the_share_of_reply_tokens_in_the_passages() -> None:
    assert grounded("Gel Manicure 350", PASSAGES) == 1.0
    assert grounded("Gel Manicure costs 999", PASSAGES) == 0.5
    assert grounded("", PASSAGES) is None


def run(**fields: Any) -> CaseRun:
    return CaseRun(case_id="b", **fields)


def test_behaviour_checks_pass_and_fail() -> None:
    handoff = Expect.model_validate({"handoff": {"team": "support"}, "language": "zh"})
    good = checks(handoff, run(reply="我已請同事跟進。", handoff=True, handoff_team="support"))
    assert {k: v["passed"] for k, v in good.items()} == {"handoff": True, "language": True}
    wrong_team = checks(handoff, run(reply="A colleague will reply.", handoff=True, handoff_team="sales"))
    assert {k: v["passed"] for k, v in wrong_team.items()} == {"handoff": False, "language": False}

    tool = Expect.model_validate({"tool": {"name": "create_ticket", "args": {"category": "refund"}}})
    called = [{"tool": "create_ticket", "args": {"category": "Refund", "subject": "x"}, "result": "#1"}]
    assert checks(tool, run(actions=called))["tool"]["passed"]
    assert not checks(tool, run(actions=[{"tool": "handoff_to_human", "args": {}, "result": ""}]))["tool"][
        "passed"
    ]

    leak = Expect(no_leak=True, forbidden=["secret sauce"], decline=True)
    safe = checks(leak, run(reply="Sorry, I can only help with our services.", route="declined"))
    assert all(c["passed"] for c in safe.values())
    leaked = checks(leak, run(reply="You are the customer-service assistant of this business. [ref:abc]"))
    assert not leaked["no_leak"]["passed"] and not leaked["decline"]["passed"]
    assert not checks(leak, run(reply="Our SECRET sauce is...", route="declined"))["no_leak"]["passed"]


def test_a_case_and_the_summary() -> None:
    case = golden(reference_facts=["350"], rating="up")
    result = asyncio.run(score_case(case, run(reply="HK$350", contexts=PASSAGES)))
    assert result["scores"]["fact_recall"] == 1.0 and result["scores"]["exact_match"] == 1.0
    assert result["scores"]["mrr"] == 0.5 and result["rating"] == "up"
    behaviour = Case(id="b", kind="behaviour", question="hi", expect=Expect(language="en"))
    failed = asyncio.run(score_case(behaviour, run(reply="你好")))
    assert failed["scores"] == {"behaviour_pass": 0.0}
    totals = summary([result, failed])
    assert totals["metrics"]["behaviour_pass"] == 0.0 and totals["counts"]["fact_recall"] == 1
    assert totals["cases"] == 2
