"""AUC of a metric separating thumbs-up from thumbs-down, against a hand-computed example."""

from __future__ import annotations

from typing import Any

import pytest

from evals.agreement import agreement, auc


def test_auc_by_hand() -> None:
    # Pairs (up, down): 0.9 beats all three downs (3); 0.7 beats all three (3); 0.5 loses to 0.6 (0),
    # ties 0.5 (0.5) and beats 0.2 (1). 7.5 of 9 pairs.
    assert auc([0.9, 0.7, 0.5], [0.6, 0.5, 0.2]) == pytest.approx(7.5 / 9)
    assert auc([1.0, 1.0], [0.0]) == 1.0
    assert auc([0.0], [1.0, 1.0]) == 0.0
    assert auc([0.4, 0.4], [0.4]) == 0.5  # all ties: no better than a coin
    assert auc([0.4], []) is None and auc([], [0.1]) is None


def result(rating: str | None, **scores: float) -> dict[str, Any]:
    return {"rating": rating, "scores": scores}


def test_agreement_per_metric_over_rated_cases_only() -> None:
    results = [
        result("up", chrf=0.9, grounded=0.2),
        result("up", chrf=0.7, grounded=0.9),
        result("down", chrf=0.6, grounded=0.9),
        result("down", chrf=0.2),
        result(None, chrf=0.0, grounded=1.0),  # not rated: left out
        result("up", behaviour_pass=1.0),  # no thumbs-down case has it: no AUC
    ]
    out = agreement(results)
    assert out["chrf"] == {"auc": 1.0, "up": 2, "down": 2}
    # grounded: (0.2 vs 0.9) loses, (0.9 vs 0.9) ties: 0.5 of 2 pairs
    assert out["grounded"] == {"auc": 0.25, "up": 2, "down": 1}
    assert "behaviour_pass" not in out
