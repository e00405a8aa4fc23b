"""A send the platform took (2xx) is never sent again, even when its answer names no message id or
cannot be read: it is recorded as sent under an id of our own (channels/base.py's sent_without_id)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.models import ChannelMessage
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import create_channel, deliver, fake_platforms, text_delivery
from tests.conftest import new_tenant, services, upload, wait_for


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("kind", "bare"),
    [
        ("messenger", "no_id"),  # the case the issue saw sent three times
        ("messenger", "empty"),
        ("whatsapp", "no_id"),
        ("whatsapp", "empty"),
        ("telegram", "no_id"),
        ("telegram", "empty"),
        ("line", "empty"),
        ("viber", "no_id"),
        ("sms", "no_id"),
    ],
)
def test_a_send_taken_without_an_id_is_sent_once(
    client: TestClient, fake: FakeGraph, kind: str, bare: str
) -> None:
    key = new_tenant(client)
    menu = b"# Menu\n\nQ: How much is the milk tea?\nA: Our milk tea costs HK$28."
    wait_for(client, key, upload(client, key, "menu.md", menu)["id"])
    channel = create_channel(client, key, kind)
    fake.bare = bare
    assert (
        deliver(client, kind, channel, text_delivery(kind, 1, "How much is the milk tea?")).status_code == 200
    )
    fake.wait_for(1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _sent(client):
        time.sleep(0.05)
    time.sleep(0.5)  # a failed job would be retried within this
    (record,) = _sent(client)
    # LINE's own id for it is the retry key the send carried
    assert record.external_id.startswith("line:" if kind == "line" else f"{kind}:sent-unknown-id:")
    assert len(fake.sent) == 1
    reply = services(client).inbox_store.message(record.tenant_id, record.message_id)
    assert reply.meta["delivery"] == "sent" and reply.meta["external_id"] == record.external_id


def _sent(client: TestClient) -> list[ChannelMessage]:
    with services(client).core.db.session() as session:
        query = select(ChannelMessage).where(
            ChannelMessage.direction == "out", ChannelMessage.status == "sent"
        )
        return list(session.scalars(query))
