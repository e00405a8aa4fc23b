"""Shared fixtures: one app per test on SQLite (and on PostgreSQL when PARLEY_TEST_DATABASE_URL is set),
Qdrant Edge in a fresh temporary folder per app, the bundled embedder, and a switch that forbids any
non-loopback network call."""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, or_, select, text

from app import create_app
from channels.models import ChannelEvent
from config import Settings
from core import jobs
from core.db import make_engine
from core.migrate import upgrade_to_head
from core.models import Job
from core.services import CoreServices
from knowledge.demo import demo_files
from knowledge.embeddings import LocalE5Embedder
from knowledge.index import KnowledgeIndex
from knowledge.services import KnowledgeServices, build_knowledge
from knowledge.sources import Fetchers
from tests.channels.fake_graph import FakeGraph
from tests.helpers.embedder import RememberingE5Embedder

ADMIN_KEY = "pa_test-platform-admin-key-0123456789"
PG_URL = os.environ.get("PARLEY_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    if inet and isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost")):
        raise RuntimeError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one switch: any connection off this machine fails the test (no network models, no web)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True, scope="session")
def background_jobs_not_niced() -> Iterator[None]:
    """The app's worker threads run at nice 10 so that requests come first (core/jobs.py). In tests, the
    test itself waits for those jobs, and the other test processes run at nice 0 on the same few cores:
    a niced job then gets a sliver of a core and the test sits idle (the demo ingest took twice as long).
    Nothing tests the nice value, so the tests' workers run at the test's own priority."""
    niced = jobs.BACKGROUND_NICE
    jobs.BACKGROUND_NICE = 0
    yield
    jobs.BACKGROUND_NICE = niced


@pytest.fixture(scope="session")
def embedder() -> LocalE5Embedder:
    return RememberingE5Embedder()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> tuple[str | None, str | None]:
    """(url, schema): a fresh SQLite file (see `settings`), or this test process's PostgreSQL schema,
    emptied."""
    if request.param == "sqlite":
        return None, None
    shared: SharedSchema = request.getfixturevalue("postgres_schema")
    shared.empty()
    return PG_URL, shared.name


class SharedSchema:
    """One migrated PostgreSQL schema per test process, emptied before each test that uses it: emptying
    takes milliseconds where a new schema's migrations took half a second."""

    # Kept across tests: which migrations ran (ours and the checkpointer's).
    MIGRATION_TABLES = {"alembic_version", "checkpoint_migrations"}

    def __init__(self, name: str) -> None:
        self.name = name
        self._admin = create_engine(PG_URL or "", isolation_level="AUTOCOMMIT")

    def empty(self) -> None:
        with self._admin.connect() as conn:
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": self.name}
            ).all()
            emptied = [f'"{self.name}"."{t}"' for t in tables if t not in self.MIGRATION_TABLES]
            if emptied:
                conn.execute(text(f"TRUNCATE {', '.join(emptied)} RESTART IDENTITY CASCADE"))

    def close(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[SharedSchema]:
    with throwaway_schema() as name:
        engine = make_engine(PG_URL or "", schema=name)
        upgrade_to_head(engine)
        engine.dispose()
        shared = SharedSchema(name)
        yield shared
        shared.close()


@contextmanager
def throwaway_schema() -> Iterator[str]:
    """A PostgreSQL schema of its own (on PARLEY_TEST_DATABASE_URL), dropped after."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A throwaway PostgreSQL schema; the test is skipped without PARLEY_TEST_DATABASE_URL."""
    if not PG_URL:
        pytest.skip("PARLEY_TEST_DATABASE_URL is not set: this test needs PostgreSQL")
    with throwaway_schema() as schema:
        yield schema


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake platform server on loopback (Meta, Telegram, LINE, WeChat, Viber, Twilio routes)."""
    server = FakeGraph()
    yield server
    server.stop()


@pytest.fixture
def fetchers() -> Fetchers:
    # Public-looking names resolve to a documentation address; everything else uses the real resolver.
    return Fetchers()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest migration, made once: each app starts from a copy of it (its own
    start still runs the migrations, and finds nothing left to do)."""
    path = tmp_path_factory.mktemp("migrated") / "parley.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    return path


def migrated_data_dir(data_dir: Path, migrated_sqlite: Path) -> Path:
    """A data folder whose SQLite database is a copy of the migrated one."""
    data_dir.mkdir()
    shutil.copyfile(migrated_sqlite, data_dir / "parley.db")
    return data_dir


@pytest.fixture
def settings(tmp_path: Path, database: tuple[str | None, str | None], migrated_sqlite: Path) -> Settings:
    data_dir = tmp_path / "data"
    if database[0] is None:
        migrated_data_dir(data_dir, migrated_sqlite)
    # gc_freeze off: a frozen heap is never collected, and the test process builds hundreds of apps.
    return Settings(data_dir=data_dir, database_url=database[0], admin_key=ADMIN_KEY, gc_freeze=False)


@pytest.fixture
def app_factory(
    settings: Settings,
    database: tuple[str | None, str | None],
    embedder: LocalE5Embedder,
    fetchers: Fetchers,
    tmp_path: Path,
) -> Callable[..., Any]:
    def make(chat_model: Any = None, **overrides: Any) -> Any:
        cfg = settings.model_copy(update=overrides)

        def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
            return build_knowledge(
                s,
                core,
                embedder=embedder,
                index=KnowledgeIndex.temporary(embedder.dim, parent=tmp_path),
                fetchers=fetchers,
            )

        return create_app(cfg, knowledge_builder=knowledge, chat_model=chat_model, db_schema=database[1])

    return make


@pytest.fixture
def client(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(app_factory()) as test_client:
        yield test_client


@pytest.fixture(scope="session", params=BACKENDS)
def shared_demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: LocalE5Embedder,
    migrated_sqlite: Path,
) -> Iterator[tuple[TestClient, str]]:
    """(client, key): one app per test process and backend with the demo tenant's knowledge ingested,
    for tests that only read it (search it, ask it in conversations of their own). An ingest took
    seconds per test. A test that changes the tenant (its settings, keys, credits) loads a demo of its
    own (`load_demo`); the PostgreSQL one has a schema of its own, which no test empties."""
    folder = tmp_path_factory.mktemp("shared-demo")
    with ExitStack() as stack:
        url = schema = None
        if request.param == "sqlite":
            migrated_data_dir(folder / "data", migrated_sqlite)
        else:
            url, schema = PG_URL, stack.enter_context(throwaway_schema())
            engine = make_engine(url or "", schema=schema)
            upgrade_to_head(engine)
            engine.dispose()
        settings = Settings(data_dir=folder / "data", database_url=url, admin_key=ADMIN_KEY, gc_freeze=False)

        def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
            index = KnowledgeIndex.temporary(embedder.dim, parent=folder)
            return build_knowledge(s, core, embedder=embedder, index=index, fetchers=Fetchers())

        client = stack.enter_context(
            TestClient(create_app(settings, knowledge_builder=knowledge, db_schema=schema))
        )
        with pytest.MonkeyPatch.context() as patch:  # made before any test's own `no_network`
            patch.setattr(socket.socket, "connect", _loopback_only)
            key = load_demo(client)
        yield client, key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_tenant(client: TestClient, name: str = "Acme") -> str:
    response = client.post("/v1/tenants", json={"name": name}, headers=auth(ADMIN_KEY))
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def upload(client: TestClient, key: str, filename: str, data: bytes) -> dict[str, Any]:
    response = client.post("/v1/knowledge/sources", files={"file": (filename, data)}, headers=auth(key))
    assert response.status_code == 202, response.text
    return dict(response.json())


def load_demo(client: TestClient, name: str = "Lotus Glow Beauty") -> str:
    """A new tenant with the demo knowledge (`make run`'s), ingested; returns its key."""
    key = new_tenant(client, name)
    ids = [upload(client, key, n, d)["id"] for n, d in demo_files().items()]
    assert all(wait_for(client, key, i)["status"] == "ready" for i in ids)
    return key


def wait_for(client: TestClient, key: str, source_id: str, timeout: float = 180.0) -> dict[str, Any]:
    """Poll until the background ingest settles (ready or failed). The demo takes seconds; the bound is
    for a machine busy with other work, where it took over a minute."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/knowledge/sources/{source_id}", headers=auth(key)).json()
        if body["status"] in ("ready", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"source {source_id} still {body['status']} after {timeout}s")


def ingested(client: TestClient, timeout: float = 30.0) -> None:
    """Wait until every webhook delivery so far was ingested (its messages and statuses applied)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services(client).core.db.session() as session:
            pending = session.scalar(
                select(func.count()).select_from(ChannelEvent).where(ChannelEvent.processed_at.is_(None))
            )
        if not pending:
            return
        time.sleep(0.02)
    raise AssertionError(f"{pending} webhook deliveries still not ingested after {timeout}s")


def settle(client: TestClient) -> None:
    """Wait until deliveries are ingested and no job runs or is due within a minute (a retry waits
    seconds; the periodic sweeps, queued for an hour ahead, do not count). Every reply and send runs
    in a job, so this is also how a test shows that nothing more is sent: a fixed sleep waited longer
    and still could not tell "nothing more" from "not yet"."""
    ingested(client)
    deadline = time.monotonic() + 60  # returns as soon as all is done: the bound is for a busy machine
    while time.monotonic() < deadline:
        soon = datetime.now(UTC) + timedelta(minutes=1)
        due = (Job.status == "queued") & or_(Job.locked_until.is_(None), Job.locked_until <= soon)
        with services(client).core.db.session() as session:
            busy = session.execute(
                select(Job.kind, Job.status, Job.attempts, Job.locked_until, Job.error).where(
                    (Job.status == "running") | due
                )
            ).all()
        if not busy:
            return
        time.sleep(0.05)
    raise AssertionError(f"jobs still running or due after 60 s: {busy}")


def search(client: TestClient, key: str, query: str, k: int = 5) -> list[dict[str, Any]]:
    response = client.post("/v1/knowledge/search", json={"query": query, "k": k}, headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json()["hits"])


def services(client: TestClient) -> Any:
    """The app's services (app.py `Services`, built by its lifespan), for assertions beneath the HTTP
    surface. Any, not Services: the tests poke at internals (private methods, optional rows) mypy would
    make them narrow first."""
    return client.app.state.services  # type: ignore[attr-defined]
