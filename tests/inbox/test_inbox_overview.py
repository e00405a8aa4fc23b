"""The inbox list's helpers (the console reads them): each conversation's contact and latest message in two
queries, the channels and teams to filter by, the "open" view's several states; all per tenant."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, services


def chat(client: TestClient, key: str, message: str, contact: dict[str, str]) -> str:
    body = {"message": message, "contact": contact}
    response = client.post("/v1/agent/chat", json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def test_overview_facets_and_open_view_are_per_tenant(client: TestClient) -> None:
    a_key, b_key = new_tenant(client, "A"), new_tenant(client, "B")
    found = services(client)
    a = found.core.keys.resolve(a_key).tenant_id
    b = found.core.keys.resolve(b_key).tenant_id
    first = chat(client, a_key, "Hello there", {"name": "Ada"})
    other = chat(client, b_key, "I want to talk to a person", {"name": "Bo"})

    contacts, last = found.inbox_store.overview(a, [first, other])
    assert list(contacts) == [first] and contacts[first].name == "Ada"
    assert list(last) == [first] and last[first].role == "agent"  # the reply came after "Hello there"
    assert found.inbox_store.overview(b, [first]) == ({}, {})

    handoff = found.inbox_store.handoff
    assert handoff.facets(a) == (["playground"], [])
    channels, _ = handoff.facets(b)
    assert channels == ["playground"]
    waiting, total = handoff.search(b, statuses=("pending_human", "human"))
    assert [c.id for c in waiting] == [other] and total == 1
    assert handoff.search(a, statuses=("pending_human", "human")) == ([], 0)
