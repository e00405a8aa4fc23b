"""Each tenant's datasets and runs in the database. Every call takes the tenant and reads only its rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from core.audit import AuditLog
from core.db import Database, utcnow
from core.errors import NotFound
from evals.dataset import Case, Dataset
from evals.models import EvalDataset, EvalRun


def dataset_of(row: EvalDataset) -> Dataset:
    content = row.content
    cases = [Case.model_validate(c) for c in content["cases"]]
    return Dataset(row.name, str(content.get("version", row.version)), cases, content.get("description", ""))


class EvalStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_dataset(self, tenant_id: str, dataset: Dataset, actor: str | None = None) -> EvalDataset:
        """Store a dataset; an upload with a name the tenant already has is that name's next version. With
        an actor (who uploaded it), audited in the same transaction."""
        with self._db.session() as session:
            latest = session.scalar(
                select(func.max(EvalDataset.version)).where(
                    EvalDataset.tenant_id == tenant_id, EvalDataset.name == dataset.name
                )
            )
            row = EvalDataset(
                tenant_id=tenant_id,
                name=dataset.name,
                version=(latest or 0) + 1,
                cases=len(dataset.cases),
                content=dataset.to_dict(),
            )
            session.add(row)
            session.flush()
            if actor:
                after = {"name": row.name, "version": row.version, "cases": row.cases}
                AuditLog.record(
                    session, tenant_id, actor, "eval_dataset.create", "eval_dataset", row.id, None, after
                )
            return row

    def datasets(self, tenant_id: str) -> list[EvalDataset]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(EvalDataset)
                    .where(EvalDataset.tenant_id == tenant_id)
                    .order_by(EvalDataset.name, EvalDataset.version)
                )
            )

    def dataset(self, tenant_id: str, dataset_id: str) -> EvalDataset:
        with self._db.session() as session:
            row = session.get(EvalDataset, dataset_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFound(f"dataset {dataset_id} not found")
            return row

    def create_run(
        self, tenant_id: str, dataset: EvalDataset, options: dict[str, Any], actor: str | None = None
    ) -> EvalRun:
        with self._db.session() as session:
            run = EvalRun(
                tenant_id=tenant_id,
                dataset_id=dataset.id,
                status="queued",
                done_cases=0,
                total_cases=dataset.cases,
                options=options,
            )
            session.add(run)
            session.flush()
            if actor:
                after = {"dataset_id": dataset.id, **options}
                AuditLog.record(session, tenant_id, actor, "eval_run.start", "eval_run", run.id, None, after)
            return run

    def run(self, tenant_id: str, run_id: str) -> EvalRun:
        with self._db.session() as session:
            row = session.get(EvalRun, run_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFound(f"eval run {run_id} not found")
            return row

    def runs(self, tenant_id: str, limit: int | None = None, reports: bool = True) -> list[EvalRun]:
        """Newest first; without `reports` the report column is not read (a list polled every few seconds
        needs the status, not every case's results)."""
        query = select(EvalRun).where(EvalRun.tenant_id == tenant_id).order_by(EvalRun.created_at.desc())
        if not reports:
            query = query.options(defer(EvalRun.report, raiseload=True))
        with self._db.session() as session:
            return list(session.scalars(query.limit(limit)))

    def verdicts(self, tenant_id: str, run_ids: list[str]) -> dict[str, bool]:
        """Whether each finished, gated run passed its gate, read inside the stored report (not the report)."""
        passed = EvalRun.report[("gate", "passed")].as_boolean()
        with self._db.session() as session:
            rows = session.execute(
                select(EvalRun.id, passed).where(
                    EvalRun.tenant_id == tenant_id, EvalRun.id.in_(run_ids), EvalRun.status == "done"
                )
            )
            return {run_id: bool(value) for run_id, value in rows if value is not None}

    def finished_runs(self, tenant_id: str, name: str) -> list[EvalRun]:
        """The finished runs of a dataset name (any version), newest first, without their reports."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(EvalRun)
                    .join(EvalDataset, EvalDataset.id == EvalRun.dataset_id)
                    .where(EvalRun.tenant_id == tenant_id, EvalDataset.name == name, EvalRun.status == "done")
                    .options(defer(EvalRun.report, raiseload=True))
                    .order_by(EvalRun.created_at.desc())
                )
            )

    def previous(self, tenant_id: str, run: EvalRun) -> EvalRun | None:
        """The latest finished run of the same dataset name before this one (for the report's diff)."""
        name = self.dataset(tenant_id, run.dataset_id).name
        with self._db.session() as session:
            return session.scalar(
                select(EvalRun)
                .join(EvalDataset, EvalDataset.id == EvalRun.dataset_id)
                .where(
                    EvalRun.tenant_id == tenant_id,
                    EvalDataset.name == name,
                    EvalRun.status == "done",
                    EvalRun.created_at < run.created_at,
                )
                .order_by(EvalRun.created_at.desc())
                .limit(1)
            )

    def update(self, run_id: str, **values: Any) -> None:
        with self._db.session() as session:
            row = session.get(EvalRun, run_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)
                if values.get("status") in ("done", "failed"):
                    row.finished_at = utcnow()
