"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.channels.fake_graph import FakeGraph


@pytest.fixture
def graph(fake: FakeGraph) -> FakeGraph:
    """The fake server, under the name the WhatsApp tests use for it (the Graph API)."""
    return fake


@pytest.fixture
def wa_app(app_factory: Callable[..., Any], graph: FakeGraph) -> Callable[..., Any]:
    """Builds the app with WhatsApp pointed at the fake Graph API (keyword arguments override settings)."""
    return lambda **kw: app_factory(whatsapp_api_base=graph.url, **kw)
