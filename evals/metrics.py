"""Score a run: every case gets its offline metrics, its behaviour checks and (with a judge) the
LLM-judged metrics; the summary holds each metric's mean over the cases that have it."""

from __future__ import annotations

from statistics import fmean
from typing import Any

from evals.behaviour import BEHAVIOUR, checks
from evals.dataset import Case
from evals.judge import Judge
from evals.offline import offline_scores
from evals.runner import CaseRun
from evals.text import contains

TURNS = "turns_pass"  # 1 when every earlier turn of a multi-turn case stated its facts and did what it should


def turns_check(case: Case, run: CaseRun) -> dict[str, Any]:
    """The earlier turns of a multi-turn case: each reply states its facts and passes its expectations."""
    problems = []
    for number, (turn, done) in enumerate(zip(case.turns, run.turns, strict=False), start=1):
        missing = [f for f in turn.reference_facts if not contains(done["reply"], f)]
        if missing:
            problems.append(f"turn {number} misses {missing}")
        if turn.expect is not None:
            said = CaseRun(case.id, reply=done["reply"], route=done["route"], handoff=done["handoff"])
            failed = [name for name, c in checks(turn.expect, said).items() if not c["passed"]]
            if failed:
                problems.append(f"turn {number} failed {failed}")
    if len(run.turns) < len(case.turns):
        problems.append(f"only {len(run.turns)} of {len(case.turns)} earlier turns ran")
    return {
        "passed": not problems,
        "detail": "; ".join(problems) or f"{len(case.turns)} earlier turns passed",
    }


async def score_case(case: Case, run: CaseRun, judge: Judge | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "case_id": case.id,
        "kind": case.kind,
        "question": case.question,
        "reference": case.reference,
        "rating": case.rating,
        "tags": case.tags,
        **run.to_dict(),
        "scores": {},
        "checks": {},
        "errors": [run.error] if run.error else [],
    }
    if run.erase_error:
        result["errors"].append(f"erase: {run.erase_error}")
    scores: dict[str, float] = await offline_scores(case, run)
    if case.turns:
        earlier = turns_check(case, run)
        scores[TURNS] = float(earlier["passed"])
    if case.expect is not None:
        result["checks"] = checks(case.expect, run)
        if case.turns:
            result["checks"]["turns"] = earlier
        scores[BEHAVIOUR] = float(all(c["passed"] for c in result["checks"].values()) and not run.error)
    if judge is not None and not run.error:
        judged, errors = await judge.scores(case, run)
        scores.update(judged)
        result["errors"] += errors
    result["scores"] = {name: round(value, 4) for name, value in scores.items()}
    return result


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over the cases that have it, and how many cases that is."""
    names = sorted({name for r in results for name in r["scores"]})
    means = {}
    counts = {}
    for name in names:
        values = [r["scores"][name] for r in results if name in r["scores"]]
        means[name] = round(fmean(values), 4)
        counts[name] = len(values)
    return {
        "cases": len(results),
        "errors": sum(1 for r in results if r["errors"]),
        "metrics": means,
        "counts": counts,
    }
