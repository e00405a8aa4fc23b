"""The deployment files name only settings that exist: every PARLEY_* variable in docker-compose.yml, the
Dockerfile and docs/operations.md is a field of config.py's Settings (a typo there would be silently
ignored at run time: Settings ignores unknown variables). Docker itself cannot run here; this checks
the files' structure instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from config import Settings

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bPARLEY_[A-Z0-9_]+\b")
KNOWN = {f"PARLEY_{name.upper()}" for name in Settings.model_fields}


def environment_names(compose: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for service in compose["services"].values():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            names.update(item.split("=", 1)[0] for item in environment)
        else:
            names.update(environment)
    return names


def test_compose_environment_names_are_settings() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    declared = {n for n in environment_names(compose) if n.startswith("PARLEY_")}
    assert {"PARLEY_DATABASE_URL", "PARLEY_QDRANT_URL", "PARLEY_WORKER"} <= declared
    mentioned = set(NAME.findall(text))  # commented-out examples included
    assert sorted((declared | mentioned) - KNOWN) == []


def test_compose_runs_the_api_a_worker_postgres_and_qdrant() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"app", "worker", "postgres", "qdrant", "migrate"} <= set(services)
    assert services["app"]["command"][:2] == ["parley", "serve"]
    assert services["worker"]["command"][:2] == ["parley", "worker"]
    assert services["migrate"]["command"] == ["parley", "migrate"]
    assert services["app"]["environment"]["PARLEY_WORKER"] == "false"


def test_dockerfile_and_docs_name_only_settings() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE), "the image must not run as root"
    assert '"parley", "serve"' in dockerfile
    for path in ("Dockerfile", "docs/operations.md"):
        names = set(NAME.findall((ROOT / path).read_text()))
        assert sorted(names - KNOWN) == [], path
