"""Settings validation and the platform admin key's life cycle."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config import Settings
from core.auth import load_or_create_admin_key


@pytest.mark.parametrize("value", ["changeme", "secret", "short-key"])
def test_placeholder_or_weak_admin_keys_are_refused(value: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(admin_key=value)
    assert "admin_key" in str(error.value)


def test_openai_embeddings_need_a_key() -> None:
    with pytest.raises(ValidationError, match="PARLEY_EMBEDDINGS_API_KEY"):
        Settings(embeddings="openai")


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PARLEY_QDRANT_URL", "http://qdrant.internal:6333")
    monkeypatch.setenv("PARLEY_MAX_SOURCES", "25")
    settings = Settings()
    assert settings.data_dir == tmp_path and settings.qdrant_url == "http://qdrant.internal:6333"
    assert settings.max_sources == 25
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'parley.db').resolve()}"


def test_admin_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    key, created = load_or_create_admin_key(None, tmp_path)
    assert created and len(key) > 30
    assert (tmp_path / "admin_key").stat().st_mode & 0o777 == 0o600
    again, created_again = load_or_create_admin_key(None, tmp_path)
    assert again == key and not created_again
    configured, _ = load_or_create_admin_key("pa_configured-key-0123456789abcdef", tmp_path)
    assert configured == "pa_configured-key-0123456789abcdef"


def test_worker_kinds_and_ops_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_WORKER_KINDS", " knowledge.ingest, channels.reply ,")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("PARLEY_RETENTION_DONE_JOBS_DAYS", "0")
    settings = Settings()
    assert settings.worker_kinds == ["knowledge.ingest", "channels.reply"]
    assert settings.otel_endpoint == "http://127.0.0.1:4318"
    assert settings.retention_done_jobs_days == 0
    monkeypatch.setenv("PARLEY_WORKER_KINDS", "")
    assert Settings().worker_kinds is None  # every kind
    with pytest.raises(ValidationError):
        Settings(metrics_token="changeme")
