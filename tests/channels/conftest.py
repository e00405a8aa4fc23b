"""Fixtures shared by the channel tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.fake_graph import FakeGraph


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake platform server on loopback (Meta, Telegram, LINE, WeChat, Viber, Twilio routes)."""
    server = FakeGraph()
    yield server
    server.stop()
