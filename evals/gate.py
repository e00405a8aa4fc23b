"""The gate: minimum means per metric, and no regression beyond a margin against a baseline run.

A gate file (YAML or JSON):

    thresholds:            # the run's mean of each metric must be at least this
      behaviour_pass: 1.0
      fact_recall: 0.9
    max_regression: 0.05   # against the baseline: no metric's mean may drop by more than this,
                           # and no behaviour case that passed there may fail now

A threshold on a metric the run has no value for fails (a renamed metric must not pass silently), and
so does max_regression without a baseline run to compare with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals.behaviour import BEHAVIOUR
from evals.dataset import DatasetError, line_of, read_text, validation_problem, yaml_problem


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, float] = Field(default_factory=dict)
    max_regression: float | None = Field(default=None, ge=0)


def load_gate(path: Path | str) -> Gate:
    """A gate file; a bad one fails with its line and the key at fault."""
    path = Path(path)
    return parse_gate(read_text(path), str(path))


def parse_gate(text: str, source: str) -> Gate:
    """A gate file's text (from a file, or typed into the console); `source` names it in the errors."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc, text)
        raise DatasetError(f"{source}:{line}: not a gate file: not valid YAML: {problem}") from None
    if data is not None and not isinstance(data, dict):
        raise DatasetError(f"{source}:1: not a gate file: a mapping with thresholds and max_regression")
    try:
        return Gate.model_validate(data or {})
    except ValidationError as exc:
        where, problem = validation_problem(exc)
        line = line_of(root, where) if root is not None else 1
        raise DatasetError(f"{source}:{line}: not a gate file: {problem}") from None


def threshold_checks(gate: Gate, means: dict[str, float]) -> list[tuple[str, float, float | None, bool]]:
    """(metric, threshold, the run's mean or None, passed) for each threshold, by metric name."""
    checks = []
    for metric, minimum in sorted(gate.thresholds.items()):
        value = means.get(metric)
        checks.append((metric, minimum, value, value is not None and value >= minimum))
    return checks


def evaluate(gate: Gate, run: dict[str, Any], baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """{"passed", "failures": [why, ...]} for a run (and its baseline run), both as report.run_json makes."""
    means = run["summary"]["metrics"]
    failures = []
    for metric, minimum, value, passed in threshold_checks(gate, means):
        if value is None:
            failures.append(f"{metric}: no value in this run (threshold {minimum})")
        elif not passed:
            failures.append(f"{metric}: {value:.4f} is below the threshold {minimum}")
    if baseline is None and gate.max_regression is not None:
        # The CLI and the API refuse this up front; a caller that gets here must not pass silently.
        failures.append(f"max_regression is set ({gate.max_regression}) but there is no baseline run")
    if baseline is not None and gate.max_regression is not None:
        before = baseline["summary"]["metrics"]
        for metric in sorted(set(means) & set(before)):
            drop = before[metric] - means[metric]
            if drop > gate.max_regression + 1e-9:
                failures.append(
                    f"{metric}: {means[metric]:.4f} fell by {drop:.4f} from {before[metric]:.4f} in run "
                    f"{baseline['id']} (allowed {gate.max_regression})"
                )
        passed_before = {r["case_id"] for r in baseline["results"] if r["scores"].get(BEHAVIOUR) == 1.0}
        for r in run["results"]:
            if r["case_id"] in passed_before and r["scores"].get(BEHAVIOUR) == 0.0:
                failures.append(f"case {r['case_id']}: passed in run {baseline['id']}, fails now")
    return {"passed": not failures, "failures": failures, "gate": gate.model_dump()}
