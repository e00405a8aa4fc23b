"""`parley evals` (or `python -m evals`): run a dataset against a tenant, export ratings, validate dataset
files.

    parley evals run --tenant T --dataset D [--baseline RUN] [--gate G] [--max-regression X] [--out DIR]
    parley evals run --demo --dataset evals/datasets/demo.yaml --gate evals/datasets/demo.gate.yaml
    parley evals run --new-tenant NAME --upload DOC... --dataset D   (a tenant made of these documents)
    parley evals export-ratings --tenant T --out ratings.yaml
    parley evals validate FILE...

Settings come from the environment (PARLEY_*), as for the server. A run writes RUN_ID.json and
RUN_ID.html into --out (default: DATA_DIR/evals); the report's diff is against the baseline, or else the
latest earlier run of the same dataset in that folder. Exit status: 0 passed, 1 the gate failed,
2 bad input (a dataset, gate, baseline or tenant that does not exist or does not validate, or
max_regression without a baseline), 3 an unexpected error (a bug or a broken environment).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.builder import build_agent, contact_eraser
from agent.service import AgentService
from config import Settings
from core.bootstrap import build_core
from core.db import new_id
from core.errors import ParleyError
from core.models import Tenant
from core.services import CoreServices
from evals.dataset import DATASET_NAME, load, validation_problem
from evals.gate import Gate, load_gate
from evals.judge import Judge
from evals.ratings import export_ratings
from evals.report import render_html
from evals.suite import execute
from inbox.store import InboxStore
from inbox.turns import Turns
from knowledge import demo
from knowledge.services import KnowledgeServices, build_knowledge

log = logging.getLogger(__name__)


class UsageError(ParleyError):
    code = "usage"


@dataclass
class Services:
    settings: Settings
    core: CoreServices
    knowledge: KnowledgeServices
    agent: AgentService
    turns: Turns


@contextmanager
def services() -> Iterator[Services]:
    settings = Settings()
    core, _, _ = build_core(settings)
    knowledge = build_knowledge(settings, core)
    inbox = InboxStore(core.db, core.audit)
    agent = build_agent(settings, core, knowledge, inbox)
    try:
        yield Services(settings, core, knowledge, agent, Turns(inbox, agent, tracing=core.tracing))
    finally:
        agent.close()
        knowledge.close()
        core.db.dispose()


def new_tenant_with(s: Services, name: str, documents: Sequence[str]) -> str:
    """A new tenant holding these documents, indexed in this process before the run starts."""
    if not documents:
        raise UsageError("--new-tenant needs the documents to upload (--upload FILE...)")
    paths = [Path(d) for d in documents]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--upload {path}: no such file")
    tenant, _ = s.core.tenants.create(name)
    for path in paths:
        s.knowledge.sources.add_file(tenant.id, path.name, path.read_bytes())
    s.core.jobs.drain()
    for source in s.knowledge.sources.list(tenant.id):
        if source.status != "ready":
            raise UsageError(f"{source.name} could not be indexed: {source.error}")
    return tenant.id


def resolve_tenant(s: Services, tenant: str | None, use_demo: bool) -> str:
    if use_demo:
        demo.ensure_demo_tenant(s.core, s.knowledge, s.settings.data_dir)
        found = s.core.tenants.find_by_name(demo.DEMO_TENANT)
        assert found is not None
        s.core.jobs.drain()  # index the demo knowledge now, in this process
        for source in s.knowledge.sources.list(found.id):
            if source.status != "ready":
                raise UsageError(f"demo knowledge {source.name} is {source.status}: {source.error}")
        return found.id
    if not tenant:
        raise UsageError("name a tenant (--tenant ID or name) or use --demo")
    with s.core.db.session() as session:
        found = session.get(Tenant, tenant)
    found = found or s.core.tenants.find_by_name(tenant)
    if found is None:
        raise UsageError(f"tenant {tenant!r} not found (by id or name)")
    return found.id


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _RunDataset(_Loose):
    name: str


class _RunSummary(_Loose):
    metrics: dict[str, float]


class _RunResult(_Loose):
    case_id: str
    scores: dict[str, float]


class RunFile(_Loose):
    """What a baseline must hold for the gate and the report (the RUN_ID.json a run writes)."""

    id: str
    dataset: _RunDataset
    summary: _RunSummary
    results: list[_RunResult]


def read_run(path: Path) -> dict[str, Any]:
    try:
        run: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a run file: {exc}") from None
    if not isinstance(run, dict):
        raise UsageError(f"{path}: not a run file: a JSON object is expected, not {type(run).__name__}")
    try:
        RunFile.model_validate(run)
    except ValidationError as exc:
        _, problem = validation_problem(exc)
        raise UsageError(
            f"{path}: not a run file (RUN_ID.json of `python -m evals run`): {problem}"
        ) from None
    return dict(run)


def find_run(ref: str, out: Path, dataset: str) -> dict[str, Any]:
    """A baseline given as a file path or as a run id in the output folder, of the same dataset."""
    path = Path(ref)
    if not path.exists():
        path = out / f"{ref}.json"
    if not path.exists():
        raise UsageError(f"baseline run {ref!r} not found (a run file, or a run id in {out})")
    run = read_run(path)
    if run["dataset"]["name"] != dataset:
        raise UsageError(
            f"{path}: baseline run {run['id']} is of dataset {run['dataset']['name']!r}, not {dataset!r}"
        )
    return run


def latest_run(out: Path, dataset: str) -> dict[str, Any] | None:
    runs = []
    for path in out.glob("*.json"):
        try:
            run = read_run(path)
        except UsageError:
            continue
        if run.get("dataset", {}).get("name") == dataset:
            runs.append(run)
    return max(runs, key=lambda r: r.get("started_at", ""), default=None)


def print_summary(run: dict[str, Any], html: Path) -> None:
    summary = run["summary"]
    print(
        f"\n{run['dataset']['name']} v{run['dataset']['version']}: {summary['cases']} cases, run {run['id']}"
    )
    for name, mean in summary["metrics"].items():
        print(f"  {name:24s} {mean:6.3f}  ({summary['counts'][name]} cases)")
    for name, a in run["agreement"].items():
        print(f"  AUC {name:20s} {a['auc']:6.3f}  ({a['up']} up, {a['down']} down)")
    failed = [r for r in run["results"] if r["scores"].get("behaviour_pass") == 0.0]
    for r in failed:
        details = "; ".join(f"{k}: {c['detail']}" for k, c in r["checks"].items() if not c["passed"])
        print(f"  FAILED {r['case_id']}: {details}")
    gate = run.get("gate")
    if gate:
        print("gate: passed" if gate["passed"] else "gate: FAILED\n  " + "\n  ".join(gate["failures"]))
    print(f"report: {html}")


def cmd_run(args: argparse.Namespace) -> int:
    dataset = load(args.dataset)
    gate = load_gate(args.gate) if args.gate else None
    if args.max_regression is not None:
        gate = (gate or Gate()).model_copy(update={"max_regression": args.max_regression})
    if gate is not None and gate.max_regression is not None and not args.baseline:
        source = "--max-regression" if args.max_regression is not None else f"{args.gate}: max_regression"
        raise UsageError(f"{source} needs --baseline (the run it must not regress from)")
    with services() as s:
        out = Path(args.out) if args.out else s.settings.data_dir / "evals"
        out.mkdir(parents=True, exist_ok=True)
        baseline = find_run(args.baseline, out, dataset.name) if args.baseline else None
        previous = baseline or latest_run(out, dataset.name)
        if args.new_tenant:
            tenant_id = new_tenant_with(s, args.new_tenant, args.upload or [])
        else:
            tenant_id = resolve_tenant(s, args.tenant, args.demo)
        run = execute(
            s.turns,
            tenant_id,
            dataset,
            run_id=new_id(),
            judge=Judge.from_settings(s.settings, s.knowledge.embedder),
            gate=gate,
            baseline=baseline,
            erase=None if args.keep else contact_eraser(s.core, s.agent),
            progress=not args.no_progress,
        )
    (out / f"{run['id']}.json").write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    html = out / f"{run['id']}.html"
    html.write_text(render_html(run, previous), encoding="utf-8")
    print_summary(run, html)
    return 1 if gate is not None and not run["gate"]["passed"] else 0


def cmd_export(args: argparse.Namespace) -> int:
    if not re.fullmatch(DATASET_NAME, args.name) or len(args.name) > 200:
        raise UsageError(f"--name {args.name!r}: a dataset name is letters, digits, _ . - (at most 200)")
    with services() as s:
        tenant_id = resolve_tenant(s, args.tenant, False)
        export = export_ratings(s.turns.inbox, tenant_id, args.name)
    Path(args.out).write_text(export.dataset.to_yaml(), encoding="utf-8")
    print(f"{len(export.dataset.cases)} rated cases written to {args.out} ({export.skipped} ratings skipped)")
    for reason in export.reasons:
        print(f"  skipped {reason}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    for path in args.files:
        dataset = load(path)
        print(f"{path}: {dataset.name} v{dataset.version}, {len(dataset.cases)} cases")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parley evals", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a dataset through the agent, score it, report, gate")
    run.add_argument("--tenant", help="tenant id or name")
    run.add_argument("--demo", action="store_true", help="the demo tenant (created and indexed if missing)")
    run.add_argument("--new-tenant", help="create a tenant of this name from the --upload documents")
    run.add_argument("--upload", nargs="+", help="documents for --new-tenant (pdf, xlsx, csv, txt, md)")
    run.add_argument("--dataset", required=True, help="a .yaml or .jsonl dataset file")
    run.add_argument("--baseline", help="a run file or run id to compare with (regressions, diff)")
    run.add_argument("--gate", help="a gate file: thresholds and max_regression")
    run.add_argument("--max-regression", type=float, help="allowed drop of any metric against the baseline")
    run.add_argument("--out", help="folder for RUN_ID.json and RUN_ID.html (default DATA_DIR/evals)")
    run.add_argument("--keep", action="store_true", help="keep the test conversations (default: erased)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    export = sub.add_parser("export-ratings", help="write the tenant's ratings as a dataset file")
    export.add_argument("--tenant", required=True, help="tenant id or name")
    export.add_argument("--out", required=True, help="the .yaml file to write")
    export.add_argument("--name", default="ratings", help="the dataset's name")
    export.set_defaults(func=cmd_export)
    validate = sub.add_parser("validate", help="check dataset files")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(func=cmd_validate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # LangChain's tool-input parsing warns about the injected tool runtime on every tool call; noise here.
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ParleyError as exc:  # a dataset, gate or tenant problem: say what and where, no traceback
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # not "the gate failed" (1) nor bad input (2): CI must tell them apart
        log.debug("evals command failed", exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"error: unexpected {type(exc).__name__}: {first}", file=sys.stderr)
        return 3
