"""Start refuses to run beside a live process whose generated keys differ (core/process_keys.py): in the
registry, through the app's start (SQLite and PostgreSQL), and through `parley worker` (PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import create_app
from config import Settings
from core.db import Database, make_engine, utcnow
from core.migrate import upgrade_to_head
from core.models import ProcessKeys
from core.process_keys import ADMIN_KEY, SECRET_KEY, KeysDiffer, ProcessKeysRegistry, StartKey
from core.services import CoreServices
from knowledge.embeddings import LocalE5Embedder
from knowledge.index import KnowledgeIndex
from knowledge.services import KnowledgeServices, build_knowledge
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from app import main; sys.exit(main())"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ProcessKeysRegistry]:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'keys.db'}"))
    upgrade_to_head(db.engine)
    yield ProcessKeysRegistry(db, every_seconds=10)
    db.dispose()


def keys(admin: str, secret: str, *, generated: bool = True) -> tuple[StartKey, StartKey]:
    return StartKey(ADMIN_KEY, admin, generated), StartKey(SECRET_KEY, secret, generated)


def test_a_second_process_with_other_generated_keys_is_refused(registry: ProcessKeysRegistry) -> None:
    registry.start(*keys("pa_first", "secret-first"))
    with pytest.raises(KeysDiffer) as refused:
        registry.start(*keys("pa_first", "secret-second"))
    assert "PARLEY_SECRET_KEY" in str(refused.value) and "PARLEY_ADMIN_KEY" not in str(refused.value)
    with pytest.raises(KeysDiffer, match="PARLEY_ADMIN_KEY and PARLEY_SECRET_KEY"):
        registry.start(*keys("pa_second", "secret-second"))


def test_the_same_keys_run_side_by_side(registry: ProcessKeysRegistry) -> None:
    first = registry.start(*keys("pa_first", "secret-first"))
    second = registry.start(*keys("pa_first", "secret-first"))  # e.g. the same machine's data dir
    assert first != second


def test_configured_keys_may_differ_but_not_from_generated_ones(registry: ProcessKeysRegistry) -> None:
    registry.start(*keys("pa_old-configured-admin-key", "secret-one", generated=False))
    registry.start(*keys("pa_new-configured-admin-key", "secret-two", generated=False))  # a rollout
    with pytest.raises(KeysDiffer):  # generated here, configured there: they differ all the same
        registry.start(*keys("pa_generated", "secret-generated"))


def test_a_stopped_or_dead_process_no_longer_counts(registry: ProcessKeysRegistry) -> None:
    stopped = registry.start(*keys("pa_first", "secret-first"))
    registry.gone(stopped)
    dead = registry.start(*keys("pa_second", "secret-second"))
    with registry._db.session() as session:  # it stopped beating four intervals ago
        session.execute(
            update(ProcessKeys).where(ProcessKeys.id == dead).values(beat_at=utcnow() - timedelta(seconds=40))
        )
    alive = registry.start(*keys("pa_third", "secret-third"))
    assert registry.beat(alive) and not registry.beat(stopped)
    assert registry.prune(timedelta(seconds=30)) == 1  # the dead one's record


def test_a_refused_process_records_nothing_and_no_key(registry: ProcessKeysRegistry) -> None:
    registry.start(*keys("pa_first", "secret-first"))
    with pytest.raises(KeysDiffer):
        registry.start(*keys("pa_second", "secret-second"))
    with registry._db.session() as session:
        rows = session.scalars(select(ProcessKeys)).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in vars(rows[0]).values())
    assert "pa_first" not in stored and "secret-first" not in stored


# --- through the app's start ------------------------------------------------------------------------------


@pytest.fixture
def shared_db(database: tuple[str | None, str | None], tmp_path: Path) -> str:
    """A database URL two data dirs (two machines) share: the test's PostgreSQL schema, or a SQLite file."""
    return database[0] or f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
def machine(
    shared_db: str,
    database: tuple[str | None, str | None],
    embedder: LocalE5Embedder,
    tmp_path: Path,
) -> Callable[..., Any]:
    """An app whose keys are generated into `data_dir` unless given."""

    def make(
        data_dir: Path, admin_key: str | None = None, secret_key: str | None = None, **overrides: Any
    ) -> Any:
        settings = Settings(
            data_dir=data_dir,
            database_url=shared_db,
            admin_key=admin_key,
            secret_key=secret_key,
            gc_freeze=False,
            worker=False,
        ).model_copy(update=overrides)

        def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
            index = KnowledgeIndex.temporary(embedder.dim, parent=tmp_path)
            return build_knowledge(s, core, embedder=embedder, index=index)

        return create_app(settings, knowledge_builder=knowledge, db_schema=database[1])

    return make


def test_start_refuses_a_second_machine_with_generated_keys(
    machine: Callable[..., Any], tmp_path: Path
) -> None:
    with TestClient(machine(tmp_path / "a")) as first:
        assert first.get("/healthz").status_code == 200
        refused = pytest.raises(KeysDiffer, match="PARLEY_ADMIN_KEY and PARLEY_SECRET_KEY")
        with refused, TestClient(machine(tmp_path / "b")):
            pass
        with TestClient(machine(tmp_path / "a")) as same_machine:  # the same generated files
            assert same_machine.get("/healthz").status_code == 200
        configured = {
            "admin_key": (tmp_path / "a" / "admin_key").read_text().strip(),
            "secret_key": (tmp_path / "a" / "secret_key").read_text().strip(),
        }
        with TestClient(machine(tmp_path / "c", **configured)) as configured_alike:
            assert configured_alike.get("/healthz").status_code == 200
    with TestClient(machine(tmp_path / "b")) as later:  # the first one stopped: its record went with it
        assert later.get("/healthz").status_code == 200


def test_a_start_that_fails_leaves_no_record(machine: Callable[..., Any], tmp_path: Path) -> None:
    failing = machine(tmp_path / "a", worker=True, worker_kinds=["no.such.kind"])
    with pytest.raises(ValueError, match="PARLEY_WORKER_KINDS"), TestClient(failing):
        pass
    with TestClient(machine(tmp_path / "b")) as other:  # other generated keys: nobody else is running
        assert other.get("/healthz").status_code == 200


# --- through `parley worker` ---------------------------------------------------------------------------------


def test_parley_worker_on_another_machine_is_told_which_settings_to_configure(
    pg_schema: str, embedder: LocalE5Embedder, tmp_path: Path
) -> None:
    assert PG_URL
    settings = Settings(data_dir=tmp_path / "a", database_url=PG_URL, gc_freeze=False, worker=False)

    def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
        index = KnowledgeIndex.temporary(embedder.dim, parent=tmp_path)
        return build_knowledge(s, core, embedder=embedder, index=index)

    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{pg_schema}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(PARLEY_GC_FREEZE="false", PARLEY_DATABASE_URL=url, PARLEY_DATA_DIR=str(tmp_path / "b"))
    with TestClient(create_app(settings, knowledge_builder=knowledge, db_schema=pg_schema)):
        done = subprocess.run(
            [sys.executable, "-c", ENTRY, "worker"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "PARLEY_ADMIN_KEY and PARLEY_SECRET_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    generated = (tmp_path / "a" / "secret_key").read_text().strip()
    assert Fernet(generated.encode())  # a real key was generated, and is named by setting, never shown
    assert generated not in done.stderr
