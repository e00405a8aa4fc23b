"""The evals behind the API: datasets per tenant, runs as background jobs, reports from stored runs."""

from __future__ import annotations

import logging
from typing import Any

from config import Settings
from core.errors import Conflict, InvalidInput
from core.jobs import JobQueue
from core.services import CoreServices
from evals.dataset import Dataset
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

    def add_dataset(self, tenant_id: str, dataset: Dataset) -> EvalDataset:
        return self.store.add_dataset(tenant_id, dataset)

    def export_ratings(self, tenant_id: str, name: str, save: bool) -> tuple[Export, EvalDataset | None]:
        export = export_ratings(self._turns.inbox, tenant_id, name)
        saved = self.store.add_dataset(tenant_id, export.dataset) if save and export.dataset.cases else None
        return export, saved

    def start(
        self, tenant_id: str, dataset_id: str, baseline_run_id: str | None, gate: Gate | None
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
        run = self.store.create_run(tenant_id, dataset, options)
        self._jobs.enqueue(RUN_KIND, {"tenant_id": tenant_id, "run_id": run.id}, tenant_id=tenant_id)
        return run

    def _check_baseline(self, tenant_id: str, dataset: EvalDataset, baseline_run_id: str) -> None:
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

    def report_html(self, tenant_id: str, run_id: str) -> str:
        run = self.store.run(tenant_id, run_id)
        if run.report is None:
            raise Conflict(f"eval run {run_id} is {run.status}: no report yet", code="run_not_finished")
        baseline_id = run.options.get("baseline_run_id")
        previous = (
            self.store.run(tenant_id, baseline_id) if baseline_id else self.store.previous(tenant_id, run)
        )
        return render_html(run.report, previous.report if previous else None)
