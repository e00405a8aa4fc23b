"""The gate on hand-made runs: thresholds, regressions against a baseline, and bad gate files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.dataset import DatasetError
from evals.gate import Gate, evaluate, load_gate


def run(run_id: str, metrics: dict[str, float], behaviour: dict[str, float]) -> dict[str, Any]:
    results = [{"case_id": case, "scores": {"behaviour_pass": passed}} for case, passed in behaviour.items()]
    return {"id": run_id, "summary": {"metrics": metrics}, "results": results}


def test_a_behaviour_case_that_passed_in_the_baseline_and_fails_now() -> None:
    # The mean stays within the margin (3 of 4 before and after), yet a case that passed now fails.
    before = run("base", {"behaviour_pass": 0.75}, {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0})
    now = run("now", {"behaviour_pass": 0.75}, {"a": 1.0, "b": 0.0, "c": 1.0, "d": 1.0})
    verdict = evaluate(Gate(max_regression=0.5), now, before)
    assert verdict["passed"] is False
    assert verdict["failures"] == ["case b: passed in run base, fails now"]
    assert evaluate(Gate(max_regression=0.5), before, before)["passed"]


def test_a_mean_that_falls_beyond_the_margin() -> None:
    before = run("base", {"chrf": 0.8, "rouge_l": 0.5}, {})
    verdict = evaluate(Gate(max_regression=0.05), run("now", {"chrf": 0.7, "rouge_l": 0.46}, {}), before)
    assert verdict["failures"] == ["chrf: 0.7000 fell by 0.1000 from 0.8000 in run base (allowed 0.05)"]


def test_a_threshold_on_a_metric_the_run_lacks_fails() -> None:
    verdict = evaluate(Gate(thresholds={"fact_recal": 1.0}), run("now", {"fact_recall": 1.0}, {}))
    assert verdict == {
        "passed": False,
        "failures": ["fact_recal: no value in this run (threshold 1.0)"],
        "gate": {"thresholds": {"fact_recal": 1.0}, "max_regression": None},
    }


def test_max_regression_without_a_baseline_fails_visibly() -> None:
    verdict = evaluate(Gate(thresholds={"chrf": 0.5}, max_regression=0.05), run("now", {"chrf": 0.9}, {}))
    assert verdict["failures"] == ["max_regression is set (0.05) but there is no baseline run"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "thresholds:\n  chrf: 0.5\nmax_regresion: 0.05\n",
            ":3: not a gate file: max_regresion: Extra inputs",
        ),
        (
            "thresholds:\n  chrf: 0.5\n  rouge_l: high\n",
            ":3: not a gate file: thresholds.rouge_l: Input should",
        ),
        (
            "thresholds:\n  chrf: 0.5\nmax_regression: -1\n",
            ":3: not a gate file: max_regression: Input should",
        ),
        ("thresholds:\n  chrf: [0.5\n", ":3: not a gate file: not valid YAML"),
        ("thresholds:\n  chrf: 0.5\x07\n", ":2: not a gate file: not valid YAML: unacceptable character"),
        ("- chrf\n", ":1: not a gate file: a mapping"),
    ],
)
def test_a_bad_gate_file_names_its_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError) as error:
        load_gate(path)
    assert error.value.message.startswith(f"{path}{where}"), error.value.message
    with pytest.raises(DatasetError, match="cannot read"):
        load_gate(tmp_path / "missing.yaml")


def test_an_empty_gate_file_is_an_empty_gate(tmp_path: Path) -> None:
    (tmp_path / "gate.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert load_gate(tmp_path / "gate.yaml") == Gate()
