"""One eval run end to end: run each case and score it at once, compare with ratings and a baseline, gate.

The CLI and the API job both call execute(); the result is one JSON-able document (the run) that
report.render_html draws and gate.evaluate reads, also as the baseline of a later run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.service import AgentService
from evals.agreement import agreement
from evals.dataset import Dataset
from evals.gate import Gate, evaluate
from evals.judge import Judge
from evals.metrics import score_case, summary
from evals.runner import Eraser, run_dataset
from inbox.turns import Turns


def model_name(agent: AgentService) -> str:
    model = agent.deps.model
    return str(getattr(model, "model_name", None) or type(model).__name__)


def execute(
    turns: Turns,
    tenant_id: str,
    dataset: Dataset,
    *,
    run_id: str,
    judge: Judge | None = None,
    gate: Gate | None = None,
    baseline: dict[str, Any] | None = None,
    erase: Eraser | None = None,
    progress: bool = True,
    on_case: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    started = datetime.now(UTC)
    results = asyncio.run(
        run_dataset(
            turns,
            tenant_id,
            dataset,
            lambda case, case_run: score_case(case, case_run, judge),
            erase=erase,
            progress=progress,
            on_case=on_case,
        )
    )
    run: dict[str, Any] = {
        "id": run_id,
        "tenant_id": tenant_id,
        "dataset": {"name": dataset.name, "version": dataset.version, "cases": len(dataset.cases)},
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model_name(turns.agent),
        "judge": judge.model if judge else None,
        "baseline_id": baseline["id"] if baseline else None,
        "summary": summary(results),
        "agreement": agreement(results),
        "results": results,
        "gate": None,
    }
    if gate is not None:
        run["gate"] = evaluate(gate, run, baseline)
    return run
