"""A run against a baseline run: each metric's mean in both and the change, and how many cases got better
or worse (a case's score is report.case_score, the number the report's diff plot draws)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.report import case_score

SAME = 1e-9  # means and scores are rounded to 4 places: anything closer is no change


@dataclass(frozen=True)
class MetricChange:
    metric: str
    value: float | None  # None: the run has no value for it (the baseline has)
    baseline: float | None  # None: the baseline has no value for it (a new metric)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def direction(self) -> str:
        """up | down | same | new (no baseline value) | gone (no value in this run)."""
        if self.baseline is None:
            return "new"
        if self.value is None:
            return "gone"
        delta = self.value - self.baseline
        return "same" if abs(delta) <= SAME else ("up" if delta > 0 else "down")


@dataclass(frozen=True)
class Comparison:
    baseline_id: str
    metrics: list[MetricChange]
    better: list[str]  # case ids scoring higher than in the baseline
    worse: list[str]
    same: int  # cases scored in both with the same score
    only_here: int  # cases the baseline did not have (or did not score)


def compare(run: dict[str, Any], baseline: dict[str, Any]) -> Comparison:
    """Both as suite.execute stores them (a finished run's report)."""
    now, before = run["summary"]["metrics"], baseline["summary"]["metrics"]
    names = list(now) + sorted(set(before) - set(now))
    metrics = [MetricChange(name, now.get(name), before.get(name)) for name in names]
    old = {r["case_id"]: case_score(r) for r in baseline["results"]}
    better, worse, same, only_here = [], [], 0, 0
    for result in run["results"]:
        score, previous = case_score(result), old.get(result["case_id"])
        if score is None or previous is None:
            only_here += 1
        elif score > previous + SAME:
            better.append(result["case_id"])
        elif score < previous - SAME:
            worse.append(result["case_id"])
        else:
            same += 1
    return Comparison(baseline["id"], metrics, better, worse, same, only_here)
