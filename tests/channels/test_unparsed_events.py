"""Each event of a signed delivery is read on its own: one that cannot be read is kept raw with its reason
(GET /v1/channels/{id}/unparsed-events, the tenant's admins only), the good ones beside it are stored and
answered, and the platform gets its 2xx."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import (
    create_channel,
    deliver,
    fake_platforms,
    line_events,
    messenger_delivery,
    whatsapp_delivery,
)
from tests.conftest import auth, ingested, new_tenant, services


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def customer_texts(client: TestClient, channel: str) -> list[str]:
    tenant = services(client).channels.get(channel).tenant_id
    with services(client).core.db.session() as session:
        from inbox.models import Message

        query = session.query(Message).filter(Message.tenant_id == tenant, Message.role == "customer")
        return sorted(m.text for m in query)


def unparsed(client: TestClient, key: str, channel: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/channels/{channel}/unparsed-events", headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_broken_meta_entry_and_a_message_without_id_do_not_lose_the_others(client: TestClient) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    now = int(time.time())
    good = whatsapp_delivery(now, "wamid.good1", "first")
    value = good["entry"][0]["changes"][0]["value"]
    value["messages"].append(
        {"from": "85291234567", "timestamp": now, "type": "text", "text": {"body": "no id"}}
    )
    value["messages"].append(
        {"from": "85291234567", "id": "wamid.good2", "type": "text", "text": {"body": "second"}}
    )
    good["entry"] = [1, *good["entry"], {"changes": "nope"}]
    response = deliver(client, "whatsapp", channel, good)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "messages": 2, "stored": 2, "statuses": 0, "unparsed": 3}
    ingested(client)
    assert customer_texts(client, channel) == ["first", "second"]
    kept = unparsed(client, key, channel)
    assert sorted(e["error"] for e in kept) == [
        "a message without an id",
        "changes is not a list",
        "entry is not an object",
    ]
    assert {e["raw"] for e in kept} >= {"1", '{"changes": "nope"}'}
    no_id = next(e for e in kept if e["error"] == "a message without an id")
    assert json.loads(no_id["raw"])["text"] == {"body": "no id"}
    # The platform retries the same delivery: nothing new is stored or kept twice.
    again = deliver(client, "whatsapp", channel, good)
    assert again.status_code == 200 and again.json()["stored"] == 0
    ingested(client)
    assert len(unparsed(client, key, channel)) == 3 and len(customer_texts(client, channel)) == 2


def test_messenger_and_line_keep_what_they_cannot_read(client: TestClient) -> None:
    key = new_tenant(client)
    messenger, line = create_channel(client, key, "messenger"), create_channel(client, key, "line")
    now_ms = int(time.time() * 1000)
    page = messenger_delivery(now_ms, "m_ok", "hello")
    page["entry"][0]["messaging"].append(
        {"sender": {"id": "1"}, "timestamp": now_ms, "message": {"text": "x"}}
    )
    page["entry"][0]["messaging"].append("junk")
    assert deliver(client, "messenger", messenger, page).json()["unparsed"] == 2
    events = line_events(now_ms, "01HOK", "hi there")
    events["events"] += [5, {"type": "message", "webhookEventId": "x" * 300, "message": {"type": "text"}}]
    assert deliver(client, "line", line, events).json()["unparsed"] == 2
    ingested(client)
    assert customer_texts(client, messenger) == customer_texts(client, line) == ["hello", "hi there"]
    errors = sorted(e["error"] for e in unparsed(client, key, messenger))
    assert errors == ["a message without mid", "an event that is not an object"]
    errors = sorted(e["error"] for e in unparsed(client, key, line))
    assert errors == ["an event that is not an object", "an id must be 1 to 200 characters"]


def test_only_the_tenants_admins_see_them(client: TestClient) -> None:
    key, other = new_tenant(client, "A"), new_tenant(client, "B")
    channel = create_channel(client, key, "whatsapp")
    body = whatsapp_delivery(int(time.time()), "wamid.x", "hi")
    body["entry"].append(1)
    assert deliver(client, "whatsapp", channel, body).status_code == 200
    ingested(client)
    assert len(unparsed(client, key, channel)) == 1
    assert client.get(f"/v1/channels/{channel}/unparsed-events", headers=auth(other)).status_code == 404
    assert client.get(f"/v1/channels/{channel}/unparsed-events").status_code == 401
    limited = client.get(f"/v1/channels/{channel}/unparsed-events?limit=0", headers=auth(key))
    assert limited.status_code == 422


def test_erasing_the_contact_erases_the_unread_events_of_their_deliveries(client: TestClient) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    body = whatsapp_delivery(int(time.time()), "wamid.mine", "hi")
    body["entry"].append(
        {"changes": [{"value": {"messages": [{"from": "85291234567", "text": "my words"}]}}]}
    )
    assert deliver(client, "whatsapp", channel, body).json()["unparsed"] == 1
    ingested(client)
    [contact] = client.get("/v1/contacts", headers=auth(key)).json()["items"]
    assert client.post(f"/v1/contacts/{contact['id']}/erase", headers=auth(key)).status_code == 200
    assert unparsed(client, key, channel) == []
