"""Agreement with human ratings: how well each metric separates thumbs-up from thumbs-down cases.

The AUC is the chance that a thumbs-up case picked at random scores higher on the metric than a
thumbs-down one (a tie counts half): 1.0 = the metric ranks every good answer above every bad one,
0.5 = no better than a coin, below 0.5 = it prefers the bad answers. It tells QA which automatic
metric to trust for this tenant.
"""

from __future__ import annotations

from typing import Any


def auc(up: list[float], down: list[float]) -> float | None:
    """Mann-Whitney AUC over every (up, down) pair; None without at least one of each."""
    if not up or not down:
        return None
    wins = sum(1.0 if u > d else 0.5 if u == d else 0.0 for u in up for d in down)
    return wins / (len(up) * len(down))


def agreement(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{metric: {"auc", "up", "down"}} for every metric scored on rated cases of both kinds."""
    rated = [r for r in results if r.get("rating") in ("up", "down")]
    names = sorted({name for r in rated for name in r["scores"]})
    out = {}
    for name in names:
        up = [r["scores"][name] for r in rated if r["rating"] == "up" and name in r["scores"]]
        down = [r["scores"][name] for r in rated if r["rating"] == "down" and name in r["scores"]]
        value = auc(up, down)
        if value is not None:
            out[name] = {"auc": round(value, 4), "up": len(up), "down": len(down)}
    return out
