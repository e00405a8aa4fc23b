"""The agent's CRM tools through /v1/agent/chat: the local model opens a ticket for a refund and saves an
email the customer gives; a model's invalid call comes back as a correctable error, not a crash; tenant,
contact and conversation are injected, never taken from the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, ToolMessage

from tests.agent.fakes import ScriptedChatModel
from tests.agent.test_chat import chat
from tests.conftest import auth, new_tenant


def call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    """A scripted model turn that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def test_a_refund_request_opens_a_ticket_and_the_reply_quotes_its_number(client: TestClient) -> None:
    key = new_tenant(client)
    body = chat(client, key, "My order arrived broken, I want a refund")
    [action] = body["actions"]
    assert action["tool"] == "create_ticket" and action["args"]["type"] == "refund"
    [ticket] = client.get("/v1/tickets", headers=auth(key)).json()["items"]
    assert f"#{ticket['number']}" in body["reply"]
    assert ticket["conversation_id"] == body["conversation_id"] and ticket["contact_id"]
    assert ticket["created_by"] == "agent" and ticket["priority"] == "high"
    zh = chat(client, key, "收到嘅面霜破咗，我想退款")
    assert "#1002" in zh["reply"] and "個案" in zh["reply"]


def test_an_email_the_customer_gives_is_saved_on_their_contact(client: TestClient) -> None:
    key = new_tenant(client)
    body = client.post(
        "/v1/agent/chat",
        json={
            "message": "My email is Kerry.Chan@Example.com",
            "contact": {"external_id": "web:k1", "name": "Kerry"},
        },
        headers=auth(key),
    ).json()
    assert body["actions"][0]["tool"] == "update_contact" and "saved your email" in body["reply"]
    [contact] = client.get("/v1/contacts", params={"q": "kerry"}, headers=auth(key)).json()["items"]
    assert contact["email"] == "kerry.chan@example.com"
    audit = client.get("/v1/audit", params={"entity_id": contact["id"]}, headers=auth(key)).json()
    assert any(e["actor"] == "agent" and e["action"] == "contact.update" for e in audit)


def test_an_invalid_tool_call_is_a_correctable_error(app_factory: Callable[..., Any]) -> None:
    model = ScriptedChatModel(
        responses=[
            call("update_contact", {"fields": {"email": "kerry-at-example"}}, "c1"),
            call("update_contact", {"fields": {"tenant_id": "someone-else", "email": "k@example.com"}}, "c2"),
            call("update_contact", {"fields": {"email": "kerry@example.com"}}, "c3"),
            call("create_ticket", {"type": "refund", "priority": "whenever", "summary": "x"}, "c4"),
            AIMessage(content="Saved your email."),
        ]
    )
    model.seen = []
    with TestClient(app_factory(chat_model=model)) as client:
        key = new_tenant(client)
        body = chat(client, key, "my email is kerry-at-example, no wait, kerry@example.com")
        assert body["reply"] == "Saved your email."
        results = [a["result"] for a in body["actions"]]
        assert results[0].startswith("error: email 'kerry-at-example' is not an email address")
        assert results[1].startswith("error: cannot set ['tenant_id']")
        assert results[2].startswith("contact updated")
        # schema validation, told to the model
        assert "priority" in results[3] and "error" in results[3].lower()
        tool_messages = [m for m in model.seen[-1] if isinstance(m, ToolMessage)]
        assert len(tool_messages) == 4  # every result, errors included, went back to the model
        assert client.get("/v1/tickets", headers=auth(key)).json()["total"] == 0


def test_update_ticket_and_a_chosen_team(app_factory: Callable[..., Any]) -> None:
    model = ScriptedChatModel(
        responses=[
            call("create_ticket", {"type": "billing", "priority": "low", "summary": "double charge"}, "c1"),
            AIMessage(content="Ticket opened."),
            call("update_ticket", {"number": 999, "priority": "urgent"}, "c2"),
            call(
                "update_ticket",
                {"number": 1001, "priority": "urgent", "note": "charged three times now"},
                "c3",
            ),
            call("handoff_to_human", {"reason": "billing dispute", "team": "nonsense"}, "c4"),
            call("handoff_to_human", {"reason": "billing dispute", "team": "billing"}, "c5"),
            AIMessage(content="A colleague from billing will help."),
        ]
    )
    model.seen = []
    with TestClient(app_factory(chat_model=model)) as client:
        key = new_tenant(client)
        settings = client.get("/v1/agent/settings", headers=auth(key)).json()
        settings["handoff"]["routes"] = [{"team": "billing", "intent": "billing"}]
        assert client.put("/v1/agent/settings", json=settings, headers=auth(key)).status_code == 200
        first = chat(client, key, "I was charged twice")
        second = chat(client, key, "Now it happened a third time!", first["conversation_id"])
        results = [a["result"] for a in second["actions"]]
        assert results[0].startswith("error: this customer has no ticket #999 (theirs: [1001])")
        assert results[1] == "ticket #1001 updated; priority urgent; note added"
        assert results[2].startswith("error: there is no team 'nonsense'") and "billing" in results[2]
        assert results[3].startswith("handed off; team: billing")
        [ticket] = client.get("/v1/tickets", headers=auth(key)).json()["items"]
        assert ticket["priority"] == "urgent"
        notes = client.get(f"/v1/tickets/{ticket['id']}/notes", headers=auth(key)).json()
        assert notes[0]["author"] == "agent" and "three times" in notes[0]["text"]
