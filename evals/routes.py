"""HTTP surface of the evals (tenant admins): datasets, ratings export, runs and their reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from core.audit import key_actor
from core.deps import AdminDep, provided
from evals.dataset import DATASET_NAME
from evals.gate import Gate
from evals.models import EvalDataset, EvalRun
from evals.service import EvalService

router = APIRouter(prefix="/v1/evals", tags=["evals"])


EvalsDep = Annotated[EvalService, provided(EvalService)]


class DatasetIn(BaseModel):
    content: str = Field(min_length=1, max_length=5_000_000, description="the dataset file's text")
    format: Literal["yaml", "jsonl"] = "yaml"
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=DATASET_NAME,
        description="for JSONL: the dataset's name",
    )


class DatasetOut(BaseModel):
    id: str
    name: str
    version: int
    cases: int
    created_at: datetime
    content: dict[str, Any] | None = None


class FromRatingsIn(BaseModel):
    name: str = Field(default="ratings", min_length=1, max_length=200, pattern=DATASET_NAME)


class FromRatingsOut(BaseModel):
    dataset: DatasetOut | None = Field(description="null when there was nothing to export")
    cases: int
    skipped: int = Field(description="ratings that make no case: thumbs-down without a corrected answer, ...")
    skipped_reasons: list[str] = Field(
        default_factory=list, description="why each skipped rating was skipped"
    )


class RunIn(BaseModel):
    dataset_id: str = Field(min_length=1, max_length=32)
    baseline_run_id: str | None = Field(default=None, max_length=32)
    gate: Gate | None = None


class RunOut(BaseModel):
    id: str
    dataset_id: str
    status: str
    done_cases: int
    total_cases: int
    baseline_run_id: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None = None


def _dataset_out(row: EvalDataset, content: bool = False) -> DatasetOut:
    return DatasetOut(
        id=row.id,
        name=row.name,
        version=row.version,
        cases=row.cases,
        created_at=row.created_at,
        content=row.content if content else None,
    )


def _run_out(row: EvalRun, report: bool = False) -> RunOut:
    return RunOut(
        id=row.id,
        dataset_id=row.dataset_id,
        status=row.status,
        done_cases=row.done_cases,
        total_cases=row.total_cases,
        baseline_run_id=row.options.get("baseline_run_id"),
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        report=row.report if report else None,
    )


@router.post("/datasets", response_model=DatasetOut, status_code=status.HTTP_201_CREATED)
def add_dataset(body: DatasetIn, principal: AdminDep, evals: EvalsDep) -> DatasetOut:
    source = f"{body.name or 'dataset'}.{body.format}"
    actor = key_actor(principal.key_id)
    return _dataset_out(
        evals.upload(principal.tenant_id, body.content, body.format, body.name, source, actor)
    )


@router.get("/datasets")
def list_datasets(principal: AdminDep, evals: EvalsDep) -> dict[str, list[DatasetOut]]:
    return {"datasets": [_dataset_out(row) for row in evals.store.datasets(principal.tenant_id)]}


@router.get("/datasets/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: str, principal: AdminDep, evals: EvalsDep) -> DatasetOut:
    return _dataset_out(evals.store.dataset(principal.tenant_id, dataset_id), content=True)


@router.post("/datasets/from-ratings", response_model=FromRatingsOut, status_code=status.HTTP_201_CREATED)
def dataset_from_ratings(body: FromRatingsIn, principal: AdminDep, evals: EvalsDep) -> FromRatingsOut:
    export, saved = evals.export_ratings(
        principal.tenant_id, body.name, save=True, actor=key_actor(principal.key_id)
    )
    return FromRatingsOut(
        dataset=_dataset_out(saved) if saved else None,
        cases=len(export.dataset.cases),
        skipped=export.skipped,
        skipped_reasons=export.reasons,
    )


@router.get("/ratings.yaml", response_class=PlainTextResponse)
def ratings_yaml(
    principal: AdminDep,
    evals: EvalsDep,
    name: Annotated[str, Query(min_length=1, max_length=200, pattern=DATASET_NAME)] = "ratings",
) -> PlainTextResponse:
    """The ratings as a dataset file, to keep in the repository (nothing is stored)."""
    export, _ = evals.export_ratings(principal.tenant_id, name, save=False)
    return PlainTextResponse(export.dataset.to_yaml(), media_type="application/yaml")


@router.post("/runs", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
def start_run(body: RunIn, principal: AdminDep, evals: EvalsDep) -> RunOut:
    actor = key_actor(principal.key_id)
    return _run_out(evals.start(principal.tenant_id, body.dataset_id, body.baseline_run_id, body.gate, actor))


@router.get("/runs")
def list_runs(principal: AdminDep, evals: EvalsDep) -> dict[str, list[RunOut]]:
    return {"runs": [_run_out(row) for row in evals.store.runs(principal.tenant_id)]}


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, principal: AdminDep, evals: EvalsDep) -> RunOut:
    return _run_out(evals.store.run(principal.tenant_id, run_id), report=True)


@router.get("/runs/{run_id}/report.html", response_class=HTMLResponse)
def run_report(run_id: str, principal: AdminDep, evals: EvalsDep) -> HTMLResponse:
    return HTMLResponse(evals.report_html(principal.tenant_id, run_id))
