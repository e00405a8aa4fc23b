"""Broadcasts through the HTTP API, before anything is sent: validation, the status lifecycle, audience
counts (lists de-duplicated, opt-outs left out), personalisation previews with fallbacks, scheduling in the
tenant's time zone, duplicate and delete, and tenant isolation. Sending is tested in tests/channels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import setup_channel
from tests.conftest import auth, new_tenant


@pytest.fixture
def client(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    # No worker: nothing here is sent, and scheduled broadcasts stay scheduled.
    graph = FakeGraph()
    with TestClient(app_factory(whatsapp_api_base=graph.url, worker=False)) as test_client:
        yield test_client
    graph.stop()


def contact(client: TestClient, key: str, **fields: Any) -> str:
    response = client.post("/v1/contacts", json=fields, headers=auth(key))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def static_list(client: TestClient, key: str, name: str, members: list[str]) -> str:
    created = client.post("/v1/lists", json={"name": name}, headers=auth(key)).json()
    added = client.post(
        f"/v1/lists/{created['id']}/contacts", json={"contact_ids": members}, headers=auth(key)
    )
    assert added.status_code == 200, added.text
    return str(created["id"])


def broadcast(client: TestClient, key: str, **fields: Any) -> Any:
    return client.post("/v1/broadcasts", json={"name": "New teas", **fields}, headers=auth(key))


def test_audience_preview_and_lifecycle(client: TestClient) -> None:
    key = new_tenant(client, "Harbour Tea House")
    channel = setup_channel(client, key)["id"]
    kerry = contact(client, key, first_name="Kerry", phone="+852 9123 4567")
    anon = contact(client, key, phone="85291110000")
    gone = contact(client, key, first_name="Opted", phone="85291112222")
    client.patch(f"/v1/contacts/{gone}", json={"opted_out": True}, headers=auth(key))
    email_only = contact(client, key, first_name="Mail", email="mail@example.com")
    tea = static_list(client, key, "Tea lovers", [kerry, anon, gone])
    vip = static_list(client, key, "VIP", [kerry, email_only])
    content = {
        "text": "Hi {{first_name|there}}, our autumn teas are in!",
        "template": {"name": "autumn_teas", "language": "zh_HK", "variables": ["{{first_name}}"]},
    }
    created = broadcast(client, key, channel_id=channel, audience={"lists": [tea, vip]}, content=content)
    assert created.status_code == 201, created.text
    b = created.json()
    assert b["status"] == "draft" and b["timezone"] == "Asia/Hong_Kong"  # the tenant's working-hours zone

    counts = client.get(f"/v1/broadcasts/{b['id']}/audience", headers=auth(key)).json()
    # kerry is in both lists (counted once); gone opted out; email_only has no WhatsApp number.
    assert counts == {"matching": 4, "opted_out": 1, "unreachable": 1, "recipients": 2}

    preview = client.get(f"/v1/broadcasts/{b['id']}/preview?contact_id={anon}", headers=auth(key)).json()
    assert preview["text"] == "Hi there, our autumn teas are in!"
    assert preview["address"] == "85291110000"
    assert preview["template"]["parameters"] is None and "first_name" in preview["template"]["error"]
    preview = client.get(f"/v1/broadcasts/{b['id']}/preview?contact_id={kerry}", headers=auth(key)).json()
    assert preview["text"] == "Hi Kerry, our autumn teas are in!"
    assert preview["template"]["parameters"] == ["Kerry"]

    # Scheduling: a time without an offset is read in the tenant's zone (Hong Kong, UTC+8).
    local = (datetime.now(UTC) + timedelta(days=2)).astimezone().replace(tzinfo=None, microsecond=0)
    local = local.replace(hour=9, minute=30, second=0)
    patched = client.patch(
        f"/v1/broadcasts/{b['id']}", json={"send_at": local.isoformat()}, headers=auth(key)
    )
    assert patched.status_code == 200, patched.text
    sent_at = datetime.fromisoformat(patched.json()["send_at"])
    assert (sent_at.hour, sent_at.minute) == (1, 30)  # 09:30 in Hong Kong
    assert patched.json()["send_at_local"].endswith("09:30:00+08:00")

    def act(action: str) -> Any:
        return client.post(f"/v1/broadcasts/{b['id']}/{action}", headers=auth(key))

    assert act("publish").json()["status"] == "scheduled"
    assert act("publish").status_code == 409
    assert (
        client.patch(f"/v1/broadcasts/{b['id']}", json={"name": "Autumn teas"}, headers=auth(key)).status_code
        == 200
    )
    assert client.delete(f"/v1/broadcasts/{b['id']}", headers=auth(key)).status_code == 409
    assert act("pause").json()["status"] == "paused"
    refused = client.patch(f"/v1/broadcasts/{b['id']}", json={"name": "x"}, headers=auth(key))
    assert refused.status_code == 409 and "paused" in refused.json()["error"]["message"]
    assert act("resume").json()["status"] == "scheduled"
    assert act("cancel").json()["status"] == "cancelled"
    assert act("resume").status_code == 409

    copy = client.post(f"/v1/broadcasts/{b['id']}/duplicate", headers=auth(key))
    assert copy.status_code == 201
    assert copy.json()["status"] == "draft" and copy.json()["name"] == "Autumn teas (copy)"
    assert copy.json()["content"] == b["content"]
    assert client.delete(f"/v1/broadcasts/{b['id']}", headers=auth(key)).status_code == 204
    listed = client.get("/v1/broadcasts", headers=auth(key)).json()
    assert [x["id"] for x in listed] == [copy.json()["id"]]

    other = new_tenant(client, "Other")
    assert client.get(f"/v1/broadcasts/{copy.json()['id']}", headers=auth(other)).status_code == 404
    assert client.post(f"/v1/broadcasts/{copy.json()['id']}/publish", headers=auth(other)).status_code == 404


def test_bad_broadcasts_are_refused_with_a_reason(client: TestClient) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    text = {"text": "Hello"}

    def refused(expect: str, status: int = 422, **fields: Any) -> None:
        response = broadcast(client, key, **{"channel_id": channel, "content": text, **fields})
        assert response.status_code == status, response.text
        assert expect in response.json()["error"]["message"], response.json()

    refused("unknown variable {{fav_tea}}", content={"text": "Hi {{fav_tea}}"})
    refused("not one of this tenant's channels", channel_id="nope")
    refused("audience list missing not found", audience={"lists": ["missing"]})
    refused(
        "unknown attribute", audience={"conditions": [{"field": "attributes.tier", "op": "eq", "value": 1}]}
    )
    refused("send_at is in the past", send_at="2020-01-01T09:00:00+08:00")
    refused("unknown time zone", timezone="Mars/Olympus", send_at="2099-01-01T09:00:00")
    refused("content.txt: Extra inputs", content={"txt": "typo"})
    draft = broadcast(client, key, channel_id=channel, content=text).json()
    nulled = client.patch(f"/v1/broadcasts/{draft['id']}", json={"name": None}, headers=auth(key))
    assert nulled.status_code == 422 and "name cannot be null" in nulled.json()["error"]["message"]
    other = new_tenant(client, "Other")
    other_channel = setup_channel(client, other)["id"]
    refused("not one of this tenant's channels", channel_id=other_channel)

    telegram = client.post(
        "/v1/channels",
        json={
            "kind": "telegram",
            "name": "Bot",
            "bot_token": "123456:ABCdefGHIjklMNOpqrSTU",
            "secret_token": "s3cr3t-token-0123456",
        },
        headers=auth(key),
    )
    assert telegram.status_code == 201, telegram.text
    refused(
        "templates are WhatsApp's",
        channel_id=telegram.json()["id"],
        content={"template": {"name": "x", "language": "en"}},
    )

    empty = broadcast(client, key, channel_id=channel, content={}).json()
    publish = client.post(f"/v1/broadcasts/{empty['id']}/publish", headers=auth(key))
    assert publish.status_code == 422 and "no content" in publish.json()["error"]["message"]
    client.patch(f"/v1/broadcasts/{empty['id']}", json={"content": text}, headers=auth(key))
    publish = client.post(f"/v1/broadcasts/{empty['id']}/publish", headers=auth(key))
    assert publish.status_code == 422 and "no audience" in publish.json()["error"]["message"]
    contact(client, key, first_name="Somebody", phone="85291119999")
    # Without lists or conditions it would reach nobody, and its count says so (not "every contact").
    counts = client.get(f"/v1/broadcasts/{empty['id']}/audience", headers=auth(key)).json()
    assert counts == {"matching": 0, "opted_out": 0, "unreachable": 0, "recipients": 0}
    assert client.get(f"/v1/broadcasts/{empty['id']}", headers=auth(key)).json()["status"] == "draft"
