"""`python -m evals run` with a gate: a knowledge file with a wrong price fails it (exit 1); the fixed
file passes it, against the failed run as baseline. The run leaves no test customers behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.builder import build_agent
from config import Settings
from core.bootstrap import build_core
from core.services import CoreServices
from crm.models import Contact
from evals.cli import main
from evals.dataset import load
from inbox.store import InboxStore
from inbox.turns import Turns
from knowledge.embeddings import LocalE5Embedder
from knowledge.services import KnowledgeServices, build_knowledge
from tests.conftest import ADMIN_KEY

PRICES = """# Nail Bar prices

## Manicures

Q: How much is a gel manicure?
A: A gel manicure costs HK${price} and takes 60 minutes.

Q: 凝膠美甲幾錢？
A: 凝膠美甲收費 HK${price}，約 60 分鐘。

## Visiting

Q: Where are you?
A: Shop 5, 2/F, 8 Hennessy Road, Wan Chai.
"""

DATASET = """\
name: nail-bar
version: 1
cases:
  - id: gel-price-en
    kind: golden
    question: How much is a gel manicure?
    reference: A gel manicure costs HK$350.
    reference_facts: ["HK$350"]
    reference_sources: [prices.md]
  - id: gel-price-zh
    kind: golden
    question: 凝膠美甲幾錢？
    reference: 凝膠美甲收費 HK$350。
    reference_facts: ["HK$350"]
  - id: person
    kind: behaviour
    question: I want to talk to a real person
    expect: {handoff: true, language: en}
"""

GATE = """\
thresholds:
  fact_recall: 1.0
  behaviour_pass: 1.0
max_regression: 0.05
"""


@contextmanager
def services(
    settings: Settings, embedder: LocalE5Embedder
) -> Iterator[tuple[CoreServices, KnowledgeServices]]:
    core, _, _ = build_core(settings)
    knowledge = build_knowledge(settings, core, embedder=embedder)
    try:
        yield core, knowledge
    finally:
        knowledge.close()
        core.db.dispose()


def test_gate_fails_on_a_wrong_price_and_passes_after_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    embedder: LocalE5Embedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, admin_key=ADMIN_KEY)
    with services(settings, embedder) as (core, knowledge):
        tenant, _ = core.tenants.create("Nail Bar")
        source = knowledge.sources.add_file(tenant.id, "prices.md", PRICES.format(price=530).encode())
        core.jobs.drain()
    (tmp_path / "nail-bar.yaml").write_text(DATASET, encoding="utf-8")
    (tmp_path / "gate.yaml").write_text(GATE, encoding="utf-8")
    # The first run has no baseline, so no max_regression (the CLI refuses that as exit 2).
    (tmp_path / "first.yaml").write_text(GATE.replace("max_regression: 0.05\n", ""), encoding="utf-8")
    monkeypatch.setenv("PARLEY_DATA_DIR", str(data))
    monkeypatch.setenv("PARLEY_ADMIN_KEY", ADMIN_KEY)
    out = tmp_path / "runs"
    args = ["run", "--tenant", "Nail Bar", "--dataset", str(tmp_path / "nail-bar.yaml")]
    args += ["--out", str(out), "--no-progress"]

    assert main([*args, "--gate", str(tmp_path / "first.yaml")]) == 1  # the knowledge says HK$530
    printed = capsys.readouterr().out
    assert "gate: FAILED" in printed and "fact_recall: 0.0000 is below the threshold 1.0" in printed
    (failed_file,) = out.glob("*.json")
    failed = json.loads(failed_file.read_text())
    by_case = {r["case_id"]: r for r in failed["results"]}
    assert (
        "530" in by_case["gel-price-en"]["reply"] and by_case["gel-price-en"]["scores"]["fact_recall"] == 0.0
    )
    assert by_case["gel-price-zh"]["scores"]["fact_recall"] == 0.0
    assert by_case["person"]["scores"]["behaviour_pass"] == 1.0
    assert failed["gate"]["passed"] is False and (out / f"{failed['id']}.html").exists()

    with services(settings, embedder) as (core, knowledge):
        knowledge.sources.replace_file(tenant.id, source.id, "prices.md", PRICES.format(price=350).encode())
        core.jobs.drain()
    with_bar = [a for a in args if a != "--no-progress"]
    gated = [*with_bar, "--gate", str(tmp_path / "gate.yaml"), "--baseline", failed["id"]]
    assert main(gated) == 0  # fixed: passes, and nothing fell
    captured = capsys.readouterr()
    assert "gate: passed" in captured.out
    assert "evals nail-bar: 100%" in captured.err and "3/3" in captured.err  # the progress bar
    fixed = json.loads(next(p for p in out.glob("*.json") if p != failed_file).read_text())
    assert fixed["baseline_id"] == failed["id"] and fixed["summary"]["metrics"]["fact_recall"] == 1.0
    assert fixed["summary"]["metrics"]["recall_at_5"] == 1.0
    html = (out / f"{fixed['id']}.html").read_text()
    assert f"previous run {failed['id']}" in html and "The gate passed" in html

    with services(settings, embedder) as (core, _), core.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0  # every test customer erased


def test_cli_refuses_an_unknown_tenant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.yaml").write_text(DATASET, encoding="utf-8")
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARLEY_ADMIN_KEY", ADMIN_KEY)
    assert main(["run", "--tenant", "Nobody", "--dataset", str(tmp_path / "d.yaml"), "--no-progress"]) == 2
    assert "tenant 'Nobody' not found" in capsys.readouterr().err


def test_cli_exports_ratings_to_a_dataset_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: LocalE5Embedder
) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, admin_key=ADMIN_KEY)
    with services(settings, embedder) as (core, knowledge):
        tenant, _ = core.tenants.create("Nail Bar")
        knowledge.sources.add_file(tenant.id, "prices.md", PRICES.format(price=350).encode())
        core.jobs.drain()
        inbox = InboxStore(core.db, core.audit)
        agent = build_agent(settings, core, knowledge, inbox)
        liked = Turns(inbox, agent).chat(tenant.id, "How much is a gel manicure?")
        wrong = Turns(inbox, agent).chat(tenant.id, "凝膠美甲幾錢？")
        inbox.rate(tenant.id, liked.message_id, "up", None, None)
        inbox.rate(tenant.id, wrong.message_id, "down", "too long", "HK$350。")
        agent.close()
    monkeypatch.setenv("PARLEY_DATA_DIR", str(data))
    monkeypatch.setenv("PARLEY_ADMIN_KEY", ADMIN_KEY)
    out = tmp_path / "rated.yaml"
    assert main(["export-ratings", "--tenant", tenant.id, "--out", str(out), "--name", "rated"]) == 0
    dataset = load(out)
    assert dataset.name == "rated"
    assert [(c.kind, c.rating, c.question, c.reference) for c in dataset.cases] == [
        ("regression", "up", "How much is a gel manicure?", liked.reply),
        ("golden", "down", "凝膠美甲幾錢？", "HK$350。"),
    ]


def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A dataset file and settings for the CLI; the start of a `run` command line."""
    (tmp_path / "d.yaml").write_text(DATASET, encoding="utf-8")
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARLEY_ADMIN_KEY", ADMIN_KEY)
    return ["run", "--dataset", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "runs"), "--no-progress"]


def test_cli_exits_1_on_a_regression_against_its_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli_env(tmp_path, monkeypatch)
    core, _, _ = build_core(Settings(data_dir=tmp_path / "data", admin_key=ADMIN_KEY))
    core.tenants.create("Nail Bar")  # no knowledge at all: the agent cannot state the price
    core.db.dispose()
    # The baseline stated the price and handed the person over; no thresholds, only the margin.
    baseline = {
        "id": "good-run",
        "dataset": {"name": "nail-bar", "version": "1"},
        "summary": {"metrics": {"fact_recall": 1.0, "behaviour_pass": 1.0}},
        "results": [{"case_id": "person", "scores": {"behaviour_pass": 1.0}}],
    }
    (tmp_path / "good-run.json").write_text(json.dumps(baseline), encoding="utf-8")
    code = main(
        [
            *args,
            "--tenant",
            "Nail Bar",
            "--baseline",
            str(tmp_path / "good-run.json"),
            "--max-regression",
            "0.05",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1, printed
    assert (
        "gate: FAILED" in printed
        and "fact_recall: 0.0000 fell by 1.0000 from 1.0000 in run good-run" in printed
    )
    assert "threshold" not in printed


def test_cli_refuses_max_regression_without_a_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*cli_env(tmp_path, monkeypatch), "--tenant", "Nail Bar"]
    assert main([*args, "--max-regression", "0.05"]) == 2
    assert "error: --max-regression needs --baseline" in capsys.readouterr().err
    (tmp_path / "gate.yaml").write_text(GATE, encoding="utf-8")
    assert main([*args, "--gate", str(tmp_path / "gate.yaml")]) == 2
    assert f"error: {tmp_path / 'gate.yaml'}: max_regression needs --baseline" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"id": "r1", "dataset": {"name": "nail-bar"}}',
            "not a run file (RUN_ID.json of `python -m evals run`): summary: Field required",
        ),
        (
            "[1, 2]",
            "not a run file: a JSON object is expected, not list",
        ),
        ("{not json", "not a run file: Expecting property name"),
        (
            '{"id": "r1", "dataset": {"name": "other"}, "summary": {"metrics": {}}, "results": []}',
            "baseline run r1 is of dataset 'other', not 'nail-bar'",
        ),
    ],
)
def test_cli_refuses_a_baseline_that_is_no_run_of_this_dataset(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    problem: str,
) -> None:
    args = [*cli_env(tmp_path, monkeypatch), "--tenant", "Nail Bar"]
    (tmp_path / "base.json").write_text(content, encoding="utf-8")
    assert main([*args, "--baseline", str(tmp_path / "base.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'base.json'}: {problem}") and err.count("\n") == 1


def test_cli_exits_3_on_an_unexpected_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*cli_env(tmp_path, monkeypatch), "--tenant", "Nail Bar"]

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("evals.cli.load", broken)
    assert main(args) == 3  # not 1: CI must not read a crash as a failed gate
    assert capsys.readouterr().err == "error: unexpected RuntimeError: disk on fire\n"


def test_cli_export_refuses_a_bad_dataset_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.yaml"
    assert main(["export-ratings", "--tenant", "t", "--out", str(out), "--name", "my ratings"]) == 2
    assert "--name 'my ratings': a dataset name is" in capsys.readouterr().err and not out.exists()
