"""A run against its baseline: each metric's change (up, down, same, new, gone) and the cases that moved."""

from __future__ import annotations

from typing import Any

from evals.compare import compare


def run(run_id: str, means: dict[str, float], cases: dict[str, dict[str, float]]) -> dict[str, Any]:
    results = [{"case_id": case_id, "scores": scores} for case_id, scores in cases.items()]
    return {"id": run_id, "summary": {"metrics": means}, "results": results}


def test_each_metric_and_case_is_set_against_the_baseline() -> None:
    before = run(
        "r1",
        {"fact_recall": 0.5, "chrf": 0.6, "mrr": 0.9, "old_metric": 0.3},
        {"a": {"fact_recall": 1.0}, "b": {"fact_recall": 0.0}, "c": {"chrf": 0.6}, "gone": {"mrr": 1.0}},
    )
    after = run(
        "r2",
        {"fact_recall": 0.75, "chrf": 0.4, "mrr": 0.9, "grounded": 0.8},
        {"a": {"fact_recall": 0.5}, "b": {"fact_recall": 1.0}, "c": {"chrf": 0.6}, "new": {"mrr": 1.0}},
    )
    comparison = compare(after, before)
    changes = {c.metric: (c.direction, c.delta) for c in comparison.metrics}
    assert changes == {
        "fact_recall": ("up", 0.25),
        "chrf": ("down", after["summary"]["metrics"]["chrf"] - 0.6),
        "mrr": ("same", 0.0),
        "grounded": ("new", None),
        "old_metric": ("gone", None),
    }
    assert [c.metric for c in comparison.metrics][-1] == "old_metric"  # the run's own metrics first
    assert (comparison.better, comparison.worse, comparison.same, comparison.only_here) == (
        ["b"],
        ["a"],
        1,
        1,
    )
    assert comparison.baseline_id == "r1"
