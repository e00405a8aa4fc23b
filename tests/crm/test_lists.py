"""Contact lists through the HTTP API: condition lists ("plan = premium and industry = tech"), static lists
with members, validation, tenant isolation, and the agent adding a customer to a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage

from tests.agent.fakes import ScriptedChatModel
from tests.agent.test_chat import chat
from tests.conftest import auth, new_tenant
from tests.crm.test_contacts import define, new_contact


def test_condition_and_static_lists(client: TestClient) -> None:
    admin = new_tenant(client)
    define(client, admin, key="plan", label="Plan", type="single_choice", options=["basic", "premium"])
    define(client, admin, key="industry", label="Industry", type="text")
    define(client, admin, key="spend", label="Spend", type="number")
    a = new_contact(
        client,
        admin,
        name="A",
        tags=["vip"],
        attributes={"plan": "premium", "industry": "tech", "spend": 900},
    )
    new_contact(client, admin, name="B", attributes={"plan": "premium", "industry": "retail", "spend": 100})
    c = new_contact(client, admin, name="C", attributes={"plan": "basic", "industry": "tech", "spend": 5000})
    conditions = [
        {"field": "attributes.plan", "op": "eq", "value": "premium"},
        {"field": "attributes.industry", "op": "eq", "value": "tech"},
    ]
    premium_tech = client.post(
        "/v1/lists",
        json={"name": "Premium tech", "kind": "condition", "conditions": conditions},
        headers=auth(admin),
    )
    assert premium_tech.status_code == 201
    lid = premium_tech.json()["id"]

    def names(list_id: str) -> list[str]:
        return [
            m["name"]
            for m in client.get(f"/v1/lists/{list_id}/contacts", headers=auth(admin)).json()["items"]
        ]

    assert names(lid) == ["A"]
    client.patch(f"/v1/contacts/{c['id']}", json={"attributes": {"plan": "premium"}}, headers=auth(admin))
    assert names(lid) == ["A", "C"]  # membership follows the conditions
    big = client.post(
        "/v1/lists",
        json={
            "name": "Big spenders",
            "kind": "condition",
            "conditions": [{"field": "attributes.spend", "op": "gt", "value": 500}],
        },
        headers=auth(admin),
    ).json()
    assert names(big["id"]) == ["A", "C"]
    tagged = client.post(
        "/v1/lists",
        json={
            "name": "VIPs",
            "kind": "condition",
            "conditions": [{"field": "tags", "op": "has", "value": "vip"}],
        },
        headers=auth(admin),
    ).json()
    assert names(tagged["id"]) == ["A"]
    refused = client.post(f"/v1/lists/{lid}/contacts", json={"contact_ids": [a["id"]]}, headers=auth(admin))
    assert refused.status_code == 409

    static = client.post("/v1/lists", json={"name": "Newsletter"}, headers=auth(admin)).json()
    assert client.post(
        f"/v1/lists/{static['id']}/contacts",
        json={"contact_ids": [a["id"], c["id"], a["id"]]},
        headers=auth(admin),
    ).json() == {"added": 2}
    assert client.post(
        f"/v1/lists/{static['id']}/contacts", json={"contact_ids": [a["id"]]}, headers=auth(admin)
    ).json() == {"added": 0}
    assert names(static["id"]) == ["A", "C"]
    assert (
        client.delete(f"/v1/lists/{static['id']}/contacts/{a['id']}", headers=auth(admin)).status_code == 204
    )
    assert names(static["id"]) == ["C"]
    assert (
        client.post(
            f"/v1/lists/{static['id']}/contacts", json={"contact_ids": ["nobody"]}, headers=auth(admin)
        ).status_code
        == 404
    )

    for body, named in (
        (
            {"name": "x", "kind": "condition", "conditions": [{"field": "attributes.shoe", "value": 1}]},
            "shoe",
        ),
        ({"name": "x", "kind": "condition", "conditions": [{"field": "mood", "value": 1}]}, "mood"),
        (
            {
                "name": "x",
                "kind": "condition",
                "conditions": [{"field": "attributes.plan", "op": "like", "value": 1}],
            },
            "op",
        ),
        ({"name": "x", "kind": "condition", "conditions": []}, "condition"),
        ({"name": "Newsletter"}, "Newsletter"),
    ):
        response = client.post("/v1/lists", json=body, headers=auth(admin))
        assert response.status_code in (409, 422) and named in response.json()["error"]["message"], body


def test_lists_belong_to_their_tenant(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    contact = new_contact(client, mine, name="Kerry")
    static = client.post("/v1/lists", json={"name": "Newsletter"}, headers=auth(mine)).json()
    client.post(
        f"/v1/lists/{static['id']}/contacts", json={"contact_ids": [contact["id"]]}, headers=auth(mine)
    )
    for method, path, body in (
        ("GET", f"/v1/lists/{static['id']}", None),
        ("GET", f"/v1/lists/{static['id']}/contacts", None),
        ("POST", f"/v1/lists/{static['id']}/contacts", {"contact_ids": [contact["id"]]}),
        ("DELETE", f"/v1/lists/{static['id']}/contacts/{contact['id']}", None),
        ("DELETE", f"/v1/lists/{static['id']}", None),
    ):
        assert client.request(method, path, json=body, headers=auth(theirs)).status_code == 404, (
            method,
            path,
        )
    theirs_list = client.post("/v1/lists", json={"name": "Mine too"}, headers=auth(theirs)).json()
    moved = client.post(
        f"/v1/lists/{theirs_list['id']}/contacts", json={"contact_ids": [contact["id"]]}, headers=auth(theirs)
    )
    assert moved.status_code == 404  # another tenant's contact cannot be listed
    assert client.get("/v1/lists", headers=auth(theirs)).json()[0]["name"] == "Mine too"


def test_the_agent_adds_the_customer_to_a_list(app_factory: Callable[..., Any]) -> None:
    def call(args: dict[str, Any], call_id: str) -> AIMessage:
        return AIMessage(content="", tool_calls=[{"name": "add_to_list", "args": args, "id": call_id}])

    model = ScriptedChatModel(
        responses=[
            call({"list_name": "Back in stok"}, "c1"),
            call({"list_name": "Back in stock"}, "c2"),
            AIMessage(content="Done!"),
        ]
    )
    model.seen = []
    with TestClient(app_factory(chat_model=model)) as client:
        key = new_tenant(client)
        static = client.post("/v1/lists", json={"name": "Back in stock"}, headers=auth(key)).json()
        body = chat(client, key, "Tell me when the serum is back please")
        first, second = (a["result"] for a in body["actions"])
        assert first.startswith("error: no list named 'Back in stok'") and "Back in stock" in first
        assert second == "added to 'Back in stock'"
        assert len(client.get(f"/v1/lists/{static['id']}/contacts", headers=auth(key)).json()["items"]) == 1


def test_saved_views_and_the_list_filter(client: TestClient) -> None:
    admin = new_tenant(client)
    define(client, admin, key="plan", label="Plan", type="single_choice", options=["basic", "premium"])
    a = new_contact(client, admin, name="Ann", tags=["vip"], attributes={"plan": "premium"})
    new_contact(client, admin, name="Bo", tags=["vip"], attributes={"plan": "basic"})
    static = client.post("/v1/lists", json={"name": "Newsletter"}, headers=auth(admin)).json()
    client.post(f"/v1/lists/{static['id']}/contacts", json={"contact_ids": [a["id"]]}, headers=auth(admin))
    listed = client.get(
        "/v1/contacts", params={"list": static["id"], "tag": "vip"}, headers=auth(admin)
    ).json()
    assert [c["name"] for c in listed["items"]] == ["Ann"]
    body = {"name": "Premium VIPs", "filters": {"tag": "vip", "attributes": {"plan": "premium"}}}
    view = client.post("/v1/views", json=body, headers=auth(admin))
    assert view.status_code == 201
    assert client.post("/v1/views", json=body, headers=auth(admin)).status_code == 409
    found = client.get(f"/v1/views/{view.json()['id']}/contacts", headers=auth(admin)).json()
    assert [c["name"] for c in found["items"]] == ["Ann"] and found["total"] == 1
    other = new_tenant(client, "Other")
    assert client.get(f"/v1/views/{view.json()['id']}/contacts", headers=auth(other)).status_code == 404
    foreign = {"name": "x", "filters": {"list_id": static["id"]}}
    assert client.post("/v1/views", json=foreign, headers=auth(other)).status_code == 404
    assert client.get("/v1/contacts", params={"list": static["id"]}, headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/views/{view.json()['id']}", headers=auth(admin)).status_code == 204
