"""Fixtures of the agent tests: a fake OpenAI-compatible endpoint and an app that uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.agent.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def openai_client(app_factory: Callable[..., Any], fake_openai: FakeOpenAI) -> Iterator[TestClient]:
    app = app_factory(
        llm="openai",
        llm_base_url=fake_openai.url,
        llm_api_key="test-llm-key-123",
        llm_model="fake-model",
        llm_timeout=5.0,
        llm_max_retries=1,
    )
    with TestClient(app) as client:
        yield client
