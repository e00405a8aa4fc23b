"""The `parley` command, run as a separate process the way its console script runs it (`from app import
main; sys.exit(main())`, what pip writes for `parley = "app:main"` in pyproject.toml): --help, migrate on a
fresh SQLite file, evals, and a worker process that runs the jobs an HTTP-only app queued on PostgreSQL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from app import create_app
from config import Settings
from core.services import CoreServices
from knowledge.embeddings import LocalE5Embedder
from knowledge.index import KnowledgeIndex
from knowledge.services import KnowledgeServices, build_knowledge
from tests.conftest import ADMIN_KEY, PG_URL, auth, new_tenant, upload, wait_for

ROOT = Path(__file__).resolve().parent.parent
ENTRY = "import sys; from app import main; sys.exit(main())"


def parley_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return {**env, "PARLEY_GC_FREEZE": "false", **settings}


def parley(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_console_script_is_app_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["parley"] == "app:main"


def test_help_lists_the_commands(tmp_path: Path) -> None:
    done = parley("--help", env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    for command in ("serve", "worker", "migrate", "evals"):
        assert command in done.stdout
    worker = parley("worker", "--help", env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert worker.returncode == 0 and "--kinds" in worker.stdout
    wrong = parley("serv", env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


def head_revision() -> str:
    """The newest migration's number (each file in core/migrations/versions starts with it)."""
    versions = Path(__file__).resolve().parent.parent / "core" / "migrations" / "versions"
    return max(p.name.split("_")[0] for p in versions.glob("[0-9]*_*.py"))


def test_migrate_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = parley_env(PARLEY_DATA_DIR=str(tmp_path / "data"))
    first = parley("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert f"at revision {head_revision()}" in first.stdout
    database = tmp_path / "data" / "parley.db"
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tenants", "jobs", "channel_events", "worker_heartbeats"} <= tables
    again = parley("migrate", env=env)  # nothing left to do
    assert again.returncode == 0 and f"at revision {head_revision()}" in again.stdout


def test_evals_runs_under_parley(tmp_path: Path) -> None:
    done = parley(
        "evals", "validate", "evals/datasets/demo.yaml", env=parley_env(PARLEY_DATA_DIR=str(tmp_path))
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\ncases:\n  - kind: golden\n")
    refused = parley("evals", "validate", str(bad), env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert refused.returncode == 2


def test_worker_refuses_an_unknown_kind(tmp_path: Path) -> None:
    done = parley("worker", "--kinds", "knowledge.ingset", env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert done.returncode == 2
    assert "knowledge.ingset" in done.stderr and "knowledge.ingest" in done.stderr


def test_worker_process_runs_jobs_queued_by_an_http_only_app(
    tmp_path: Path, pg_schema: str, embedder: LocalE5Embedder
) -> None:
    assert PG_URL
    # Two data dirs stand for two machines: they share the database, so they share configured keys (a
    # process generating its own would be refused, core/process_keys.py).
    secret_key = Fernet.generate_key().decode()
    settings = Settings(
        data_dir=tmp_path / "api",
        database_url=PG_URL,
        admin_key=ADMIN_KEY,
        secret_key=secret_key,
        gc_freeze=False,
        worker=False,  # an HTTP-only process: the jobs are the worker process's
    )

    def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
        return build_knowledge(
            s, core, embedder=embedder, index=KnowledgeIndex.temporary(embedder.dim, parent=tmp_path)
        )

    app = create_app(settings, knowledge_builder=knowledge, db_schema=pg_schema)
    with TestClient(app) as client:
        key = new_tenant(client)
        source = upload(client, key, "hours.md", b"# Hours\n\nWe open at 9am every day.")
        time.sleep(1.0)
        assert (
            client.get(f"/v1/knowledge/sources/{source['id']}", headers=auth(key)).json()["status"]
            == "queued"
        )
        before = client.get("/readyz").json()["checks"]["workers"]
        assert "knowledge.ingest" in before["detail"]

        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{pg_schema}"
        env = parley_env(
            PARLEY_DATA_DIR=str(tmp_path / "worker"),  # its own embedded index: the API's is in memory
            PARLEY_DATABASE_URL=url,
            PARLEY_ADMIN_KEY=ADMIN_KEY,
            PARLEY_SECRET_KEY=secret_key,
        )
        worker = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "worker", "--kinds", "knowledge.ingest", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            ready = wait_for(client, key, source["id"], timeout=180)
            assert ready["status"] == "ready" and ready["chunks"] >= 1, ready
            workers: dict[str, Any] = client.get("/readyz").json()["checks"]["workers"]
            assert "knowledge.ingest" not in workers["detail"]  # the worker process covers it ...
            assert "channels.reply" in workers["detail"]  # ... and nothing else
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                output, _ = worker.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                output, _ = worker.communicate()
        assert worker.returncode == 0, output
        assert "worker running knowledge.ingest" in output
        # A stopped worker removes its heartbeat: the kind is uncovered again at once.
        assert "knowledge.ingest" in client.get("/readyz").json()["checks"]["workers"]["detail"]


def served_config(monkeypatch: Any, *args: str) -> Any:
    """The uvicorn Config `parley serve` builds from its options, in this process: loading the app and
    running the server are stubbed (no app is built, no port is bound)."""
    import uvicorn

    from app import main

    seen: list[Any] = []

    def run(server: Any, sockets: Any = None) -> None:
        seen.append(server.config)
        server.started = True

    monkeypatch.setattr(uvicorn.Config, "load_app", lambda self: None)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    assert main(["serve", *args]) == 0
    assert len(seen) == 1
    return seen[0]


def test_serve_passes_forwarded_allow_ips_to_uvicorn(monkeypatch: Any) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    config = served_config(monkeypatch, "--forwarded-allow-ips", "10.0.0.1,10.0.0.2", "--port", "8123")
    assert config.forwarded_allow_ips == "10.0.0.1,10.0.0.2"
    assert config.port == 8123
    assert served_config(monkeypatch).forwarded_allow_ips == "127.0.0.1,::1"  # uvicorn's default ...
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert served_config(monkeypatch).forwarded_allow_ips == "*"  # ... and its environment variable


def test_serve_help_names_forwarded_allow_ips(tmp_path: Path) -> None:
    done = parley("serve", "--help", env=parley_env(PARLEY_DATA_DIR=str(tmp_path)))
    assert done.returncode == 0 and "--forwarded-allow-ips" in done.stdout
