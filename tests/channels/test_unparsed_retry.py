"""An event kept raw because it could not be read is read again after a fix, through the HTTP API
(POST /v1/channels/{id}/unparsed-events/{event_id}/retry and .../retry) or on the first start of new
code: what it brings is stored and answered exactly once, however often (or concurrently) it is retried;
one that still cannot be read stays flagged with the new reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from channels import whatsapp
from channels.models import UnparsedEvent
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import create_channel, deliver, fake_platforms, whatsapp_delivery
from tests.conftest import auth, ingested, new_tenant, services, settle


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix: a message id the platform sent as a number is read as text (the code before it said
    "a message without an id")."""
    read = whatsapp._id
    monkeypatch.setattr(
        whatsapp, "_id", lambda value, what: read(str(value) if isinstance(value, int) else value, what)
    )


def numeric_id_delivery() -> dict[str, Any]:
    body = whatsapp_delivery(int(time.time()), "wamid.good", "first")
    body["entry"][0]["changes"][0]["value"]["messages"].append(
        {"from": "85291234567", "id": 4711, "type": "text", "text": {"body": "what are your hours?"}}
    )
    body["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"wa_id": "85291234567", "profile": {"name": "Mei"}}
    ]
    return body


def kept(client: TestClient, key: str, channel: str, which: str = "open") -> list[dict[str, Any]]:
    response = client.get(f"/v1/channels/{channel}/unparsed-events?state={which}", headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def customer_texts(client: TestClient, key: str) -> list[str]:
    [conversation] = client.get("/v1/inbox/conversations", headers=auth(key)).json()["items"]
    detail = client.get(f"/v1/inbox/conversations/{conversation['id']}", headers=auth(key)).json()
    return sorted(m["text"] for m in detail["messages"] if m["role"] == "customer")


def settled(client: TestClient, fake: FakeGraph, count: int) -> list[dict[str, Any]]:
    """The replies sent once `count` were, and once every job settled, so a duplicate would have shown."""
    fake.wait_for(count)
    settle(client)
    return fake.sent


def test_a_fixed_event_is_stored_and_answered_once(
    client: TestClient, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    assert deliver(client, "whatsapp", channel, numeric_id_delivery()).json()["unparsed"] == 1
    ingested(client)
    assert len(settled(client, fake, 1)) == 1
    [event] = kept(client, key, channel)
    assert event["error"] == "a message without an id" and event["resolved_at"] is None

    # Before the fix a retry changes nothing but the count: it stays flagged.
    again = client.post(f"/v1/channels/{channel}/unparsed-events/{event['id']}/retry", headers=auth(key))
    assert again.status_code == 200, again.text
    assert again.json()["resolved_at"] is None and again.json()["retries"] == 1
    assert again.json()["error"] == "a message without an id"

    fixed_ids(monkeypatch)
    retried = client.post(f"/v1/channels/{channel}/unparsed-events/{event['id']}/retry", headers=auth(key))
    assert retried.status_code == 200, retried.text
    assert retried.json()["resolved_at"] is not None and retried.json()["retries"] == 2
    # Retried again, one by one and all at once: nothing is stored or sent twice.
    twice = client.post(f"/v1/channels/{channel}/unparsed-events/{event['id']}/retry", headers=auth(key))
    assert twice.status_code == 200 and twice.json()["retries"] == 2
    every = client.post(f"/v1/channels/{channel}/unparsed-events/retry", headers=auth(key))
    assert every.json() == {"resolved": 0, "failing": 0}
    assert customer_texts(client, key) == ["first", "what are your hours?"]
    sent = settled(client, fake, 2)
    assert len(sent) == 2
    assert kept(client, key, channel) == []
    assert [e["id"] for e in kept(client, key, channel, "resolved")] == [event["id"]]
    # The sender's name came from the delivery around the event.
    [contact] = client.get("/v1/contacts", headers=auth(key)).json()["items"]
    assert contact["name"] == "Mei"


def test_concurrent_retries_store_it_once(
    client: TestClient, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    deliver(client, "whatsapp", channel, numeric_id_delivery())
    ingested(client)
    [event] = kept(client, key, channel)
    fixed_ids(monkeypatch)
    results: list[int] = []

    def retry(path: str) -> None:
        results.append(client.post(path, headers=auth(key)).status_code)

    paths = [f"/v1/channels/{channel}/unparsed-events/{event['id']}/retry"] * 3
    paths += [f"/v1/channels/{channel}/unparsed-events/retry"] * 3
    threads = [threading.Thread(target=retry, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    assert customer_texts(client, key) == ["first", "what are your hours?"]
    assert len(settled(client, fake, 2)) == 2


def test_retry_all_reports_what_still_fails(client: TestClient, fake: FakeGraph) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    body = numeric_id_delivery()
    body["entry"].append(1)
    deliver(client, "whatsapp", channel, body)
    ingested(client)
    response = client.post(f"/v1/channels/{channel}/unparsed-events/retry", headers=auth(key))
    assert response.status_code == 200 and response.json() == {"resolved": 0, "failing": 2}
    assert sorted(e["retries"] for e in kept(client, key, channel)) == [1, 1]


def test_retries_are_the_tenants_admins_alone(client: TestClient) -> None:
    key, other = new_tenant(client, "A"), new_tenant(client, "B")
    channel = create_channel(client, key, "whatsapp")
    deliver(client, "whatsapp", channel, numeric_id_delivery())
    ingested(client)
    [event] = kept(client, key, channel)
    one = f"/v1/channels/{channel}/unparsed-events/{event['id']}/retry"
    assert client.post(one, headers=auth(other)).status_code == 404
    assert (
        client.post(f"/v1/channels/{channel}/unparsed-events/retry", headers=auth(other)).status_code == 404
    )
    assert client.post(one).status_code == 401
    missing = client.post(f"/v1/channels/{channel}/unparsed-events/nope/retry", headers=auth(key))
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    assert (
        client.get(f"/v1/channels/{channel}/unparsed-events?state=maybe", headers=auth(key)).status_code
        == 422
    )
    assert kept(client, key, channel)[0]["retries"] == 0


def test_events_older_code_could_not_read_are_read_on_start(
    client: TestClient, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    deliver(client, "whatsapp", channel, numeric_id_delivery())
    ingested(client)
    fixed_ids(monkeypatch)
    retry = services(client).unparsed_retry
    assert retry.retry_outdated() == 0  # read by this very code: nothing to do
    with services(client).core.db.session() as session:  # as if an earlier version had read it
        session.execute(update(UnparsedEvent).values(parsed_by="older"))
    assert retry.retry_outdated() == 1
    deadline = time.monotonic() + 30
    while kept(client, key, channel) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kept(client, key, channel) == []
    assert customer_texts(client, key) == ["first", "what are your hours?"]
    assert len(settled(client, fake, 2)) == 2


def test_an_open_event_keeps_its_delivery_from_the_retention_sweep(client: TestClient) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from channels.models import ChannelEvent
    from channels.retention import ingested_deliveries

    key = new_tenant(client)
    channel = create_channel(client, key, "whatsapp")
    deliver(client, "whatsapp", channel, numeric_id_delivery())
    deliver(client, "whatsapp", channel, whatsapp_delivery(int(time.time()), "wamid.plain", "plain"))
    ingested(client)
    db = services(client).core.db
    assert ingested_deliveries(db, timedelta(seconds=-60))() == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelEvent)) == 1
