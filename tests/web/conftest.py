"""The console tests' app: one per module and backend, its lifespan run for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from knowledge.embeddings import LocalE5Embedder
from tests.conftest import BACKENDS
from tests.helpers.console import console_app


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
