"""The console tests' app (one per module and backend, its lifespan run for the module), and the demo data
folder the browser tests' servers start from."""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from knowledge.embeddings import LocalE5Embedder
from tests.conftest import BACKENDS, new_tenant
from tests.helpers.console import console_app, new_member, sign_in
from tests.test_serve import server, wait_ready


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
) -> Iterator[Any]:
    for app in console_app(request, tmp_path_factory, migrated_sqlite, embedder):
        with TestClient(app):  # runs the lifespan for the module
            yield app


@pytest.fixture(scope="module")
def api(app: Any) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def acme(api: TestClient) -> str:
    """The module's tenant (a module whose tests need other knowledge or fields defines its own)."""
    return new_tenant(api, "Acme Beauty")


@pytest.fixture(scope="module")
def admin(app: Any, api: TestClient, acme: str) -> TestClient:
    """The tenant's admin, signed in to the console."""
    new_member(api, acme, "boss@acme.example", "admin")
    return sign_in(app, "boss@acme.example")


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A data folder in which `make run`'s server created the demo tenant and indexed its knowledge, then
    stopped. Each browser test starts its server on a copy (tests.helpers.served.copy_of): a fresh server
    would index the demo again, half a minute each time. Made once per run: the test processes of one
    run (pytest-xdist) share a parent folder, and the first one there makes it under a lock."""
    if worker_id == "master":  # one process: its own temporary folder
        root = tmp_path_factory.mktemp("demo-template")
    else:
        root = tmp_path_factory.getbasetemp().parent / "demo-template"
        root.mkdir(exist_ok=True)
    data, ready = root / "data", root / "ready"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not ready.exists():
            shutil.rmtree(data, ignore_errors=True)  # what a process that failed half-way left
            with server(data) as (base, _):
                wait_ready(base, (data / "demo_tenant_key").read_text().strip())
            ready.touch()
    return data
