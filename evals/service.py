"""The evals behind the API: datasets per tenant, runs as background jobs, reports from stored runs."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from config import Settings
from core.errors import Conflict, InvalidInput
from core.jobs import JobQueue
from core.services import CoreServices
from evals.compare import Comparison, compare
from evals.dataset import Dataset, parse
from evals.gate import Gate
from evals.models import EvalDataset, EvalRun
from evals.ratings import Export, export_ratings
from evals.report import render_html
from evals.runner import Eraser
from evals.store import EvalStore, dataset_of
from inbox.turns import Turns

log = logging.getLogger(__name__)

RUN_KIND = "evals.run"
LEASE_SECONDS = 3600.0  # a run of a few hundred cases against a remote model takes a while


class EvalService:
    def __init__(
        self, settings: Settings, core: CoreServices, turns: Turns, erase: Eraser | None = None
    ) -> None:
        self.store = EvalStore(core.db)
        self._settings = settings
        self._turns = turns
        self._jobs: JobQueue = core.jobs
        self._erase = erase
        self._jobs.register(RUN_KIND, self._run_job, lease_seconds=LEASE_SECONDS)

    def add_dataset(self, tenant_id: str, dataset: Dataset, actor: str | None = None) -> EvalDataset:
        return self.store.add_dataset(tenant_id, dataset, actor)

    def upload(
        self,
        tenant_id: str,
        content: str,
        fmt: Literal["yaml", "jsonl"],
        name: str | None,
        source: str,
        actor: str | None = None,
    ) -> EvalDataset:
        """A dataset file's text, validated (errors name `source` and the line) and stored. A JSONL file
        has no name inside: `name`, else the file's stem."""
        dataset = parse(content, source, fmt)
        if fmt == "jsonl":
            dataset.name = name or re.sub(r"[^\w.-]", "-", Path(source).stem) or "dataset"
        if not dataset.cases:
            raise InvalidInput(f"{source}: the dataset has no cases")
        return self.store.add_dataset(tenant_id, dataset, actor)

    def export_ratings(
        self, tenant_id: str, name: str, save: bool, actor: str | None = None
    ) -> tuple[Export, EvalDataset | None]:
        export = export_ratings(self._turns.inbox, tenant_id, name)
        saved = (
            self.store.add_dataset(tenant_id, export.dataset, actor)
            if save and export.dataset.cases
            else None
        )
        return export, saved

    def start(
        self,
        tenant_id: str,
        dataset_id: str,
        baseline_run_id: str | None,
        gate: Gate | None,
        actor: str | None = None,
    ) -> EvalRun:
        dataset = self.store.dataset(tenant_id, dataset_id)
        if baseline_run_id:
            self._check_baseline(tenant_id, dataset, baseline_run_id)
        elif gate is not None and gate.max_regression is not None:
            raise InvalidInput(
                "gate.max_regression needs a baseline_run_id (the run it must not regress from)",
                code="no_baseline",
            )
        options = {"baseline_run_id": baseline_run_id, "gate": gate.model_dump() if gate else None}
        run = self.store.create_run(tenant_id, dataset, options, actor)
        self._jobs.enqueue(RUN_KIND, {"tenant_id": tenant_id, "run_id": run.id}, tenant_id=tenant_id)
        return run

    def _check_baseline(self, tenant_id: str, dataset: EvalDataset, baseline_run_id: str) -> EvalRun:
        """The baseline is the tenant's own finished run of the same dataset (any version of it): a
        queued, running or failed run has no report to compare with, and another dataset's means say
        nothing about this one."""
        baseline = self.store.run(tenant_id, baseline_run_id)  # the tenant's own run, or NotFound now
        if baseline.status != "done" or baseline.report is None:
            raise Conflict(
                f"baseline run {baseline_run_id} is {baseline.status}: only a finished run can be a baseline",
                code="baseline_not_finished",
            )
        of = self.store.dataset(tenant_id, baseline.dataset_id)
        if of.name != dataset.name:
            raise InvalidInput(
                f"baseline run {baseline_run_id} is of dataset {of.name!r}, not {dataset.name!r}",
                code="baseline_other_dataset",
            )
        return baseline

    def _run_job(self, payload: dict[str, Any]) -> None:
        # ragas (and what it pulls in) loads with the first run, not with every server start.
        from evals.judge import Judge
        from evals.suite import execute

        tenant_id, run_id = payload["tenant_id"], payload["run_id"]
        run = self.store.run(tenant_id, run_id)
        if run.status in ("done", "failed"):
            return  # a job picked up again after its run settled
        self.store.update(run_id, status="running", done_cases=0)
        try:
            dataset = dataset_of(self.store.dataset(tenant_id, run.dataset_id))
            baseline_id = run.options.get("baseline_run_id")
            baseline = self.store.run(tenant_id, baseline_id).report if baseline_id else None
            if baseline_id and baseline is None:  # checked at start(); gone or never finished since
                raise Conflict(f"baseline run {baseline_id} has no report")
            gate = Gate.model_validate(run.options["gate"]) if run.options.get("gate") else None
            report = execute(
                self._turns,
                tenant_id,
                dataset,
                run_id=run_id,
                judge=Judge.from_settings(self._settings, self._turns.agent.deps.knowledge.embedder),
                gate=gate,
                baseline=baseline,
                erase=self._erase,
                progress=False,
                on_case=lambda done, _total: self.store.update(run_id, done_cases=done),
            )
        except Exception as exc:  # the run records why; the job itself is finished
            log.exception("eval run %s failed", run_id)
            self.store.update(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
            return
        self.store.update(run_id, status="done", report=report)

    def baseline_of(self, tenant_id: str, run: EvalRun, baseline_id: str | None = None) -> EvalRun | None:
        """The run to compare a finished run with: `baseline_id` when given (checked as start() checks a
        baseline), else the run's own baseline, else the latest finished run of its dataset before it."""
        if baseline_id:
            if baseline_id == run.id:
                raise InvalidInput("a run cannot be its own baseline", code="baseline_is_run")
            return self._check_baseline(tenant_id, self.store.dataset(tenant_id, run.dataset_id), baseline_id)
        own = run.options.get("baseline_run_id")
        return self.store.run(tenant_id, own) if own else self.store.previous(tenant_id, run)

    def baselines(self, tenant_id: str, run: EvalRun) -> list[EvalRun]:
        """The runs a finished run can be compared with: the other finished runs of its dataset's name."""
        name = self.store.dataset(tenant_id, run.dataset_id).name
        return [other for other in self.store.finished_runs(tenant_id, name) if other.id != run.id]

    def compare(
        self, tenant_id: str, run_id: str, baseline_id: str | None = None
    ) -> tuple[EvalRun | None, Comparison | None]:
        """A finished run's baseline (as baseline_of picks it) and the comparison with it."""
        run = self._finished(tenant_id, run_id)
        baseline = self.baseline_of(tenant_id, run, baseline_id)
        if baseline is None or baseline.report is None or run.report is None:
            return baseline, None
        return baseline, compare(run.report, baseline.report)

    def _finished(self, tenant_id: str, run_id: str) -> EvalRun:
        run = self.store.run(tenant_id, run_id)
        if run.report is None:
            raise Conflict(f"eval run {run_id} is {run.status}: no report yet", code="run_not_finished")
        return run

    def report_html(self, tenant_id: str, run_id: str, baseline_id: str | None = None) -> str:
        run = self._finished(tenant_id, run_id)
        previous = self.baseline_of(tenant_id, run, baseline_id)
        return render_html(run.report or {}, previous.report if previous else None)
