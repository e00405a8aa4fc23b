"""Handoff and the inbox end to end: the agent opens a ticket and hands off, stays silent while a person
replies from the inbox (pushed to the visitor and to staff clients), gives the conversation back on
request; state-machine rules, idempotence, internal notes, and tenant isolation on every endpoint."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.agent.test_chat import chat
from tests.channels.test_livechat import receive_until, ws_url
from tests.conftest import auth, new_tenant
from tests.crm.test_contacts import staff_key


def say(ws: Any, text: str, client_id: str) -> list[dict[str, Any]]:
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    return receive_until(ws, "typing")[:-1] + receive_until(ws, "typing")  # typing on ... typing off


def next_event(desk: Any, kind: str, role: str | None = None) -> dict[str, Any]:
    """The next staff event of a kind (customer messages are pushed too, in between)."""
    for _ in range(20):
        event = desk.receive_json()
        if event["type"] == kind and (role is None or event.get("role") == role):
            return dict(event)
    raise AssertionError(f"no {kind} event")


def replies(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


def test_ticket_then_handoff_then_silence_while_a_person_replies(client: TestClient) -> None:
    admin = new_tenant(client, "Lotus Glow")
    staff = staff_key(client, admin)
    widget = client.get("/v1/livechat/widget", headers=auth(admin)).json()
    with (
        client.websocket_connect(f"/v1/inbox/ws?key={staff}") as desk,
        client.websocket_connect(ws_url(widget["widget_key"])) as visitor,
    ):
        assert desk.receive_json() == {"type": "ready"}
        visitor.receive_json()  # session: no conversation until the first message
        visitor.receive_json()  # history

        first = say(visitor, "My order arrived broken, I want a refund", "c1")
        conversation = first[0]["conversation_id"]  # the session frame the first message brings
        [ticket_reply] = replies(first)
        assert "#1001" in ticket_reply["text"]
        [handoff_reply] = replies(say(visitor, "I want to talk to a person", "c2"))
        assert handoff_reply["handoff"] is True and "colleague" in handoff_reply["text"]
        waiting_event = next_event(desk, "status")  # staff hear of the handoff as it happens
        assert waiting_event["status"] == "pending_human" and waiting_event["conversation_id"] == conversation
        assert replies(say(visitor, "Hello? Anyone there?", "c3")) == []  # the agent stays silent now
        heard = next_event(desk, "message", "customer")  # but staff see the customer's message live
        assert heard["text"] == "Hello? Anyone there?" and heard["status"] == "pending_human"

        waiting = client.get(
            "/v1/inbox/conversations", params={"status": "pending_human"}, headers=auth(staff)
        ).json()
        assert [c["id"] for c in waiting["items"]] == [conversation]
        assert waiting["items"][0]["handoff_reason"] == "customer asked for a human"

        sent = client.post(
            f"/v1/inbox/conversations/{conversation}/reply",
            json={"text": "Hi, I'm Mandy. I've arranged a replacement."},
            headers=auth(staff),
        )
        assert sent.status_code == 201 and sent.json()["role"] == "human"
        pushed = visitor.receive_json()
        assert pushed["role"] == "human" and "Mandy" in pushed["text"]
        assert next_event(desk, "status")["status"] == "human"
        assert next_event(desk, "message", "human")["author"].startswith("key:")

        assert replies(say(visitor, "Thank you!", "c4")) == []  # still the person's conversation
        [ticket] = client.get(
            "/v1/tickets", params={"conversation_id": conversation}, headers=auth(staff)
        ).json()["items"]
        assert ticket["first_response_at"] is not None  # the person's reply is the ticket's first response

        [back] = replies(say(visitor, "Can I go back to the bot please?", "c5"))
        assert back["role"] == "agent" and "back" in back["text"]
        assert next_event(desk, "status")["status"] == "bot"
    detail = client.get(f"/v1/inbox/conversations/{conversation}", headers=auth(staff)).json()
    assert detail["status"] == "bot" and detail["assignee"] is None
    roles = [m["role"] for m in detail["messages"]]
    assert roles.count("human") == 1 and roles.count("customer") == 5
    audit = client.get(
        "/v1/audit", params={"entity": "conversation", "entity_id": conversation}, headers=auth(admin)
    ).json()
    assert [e["action"] for e in reversed(audit)] == [
        "conversation.pending_human",
        "conversation.human",
        "conversation.bot",
    ]
    assert [e["actor"] for e in reversed(audit)][0] == "agent"


def test_handoff_is_idempotent_and_the_state_machine_is_enforced(client: TestClient) -> None:
    admin = new_tenant(client)
    first = chat(client, admin, "I want to speak to a human")
    conversation = first["conversation_id"]
    again = chat(client, admin, "speak to a human, now!", conversation)
    assert again["message_id"] is None and again["reply"] == "" and again["handoff"] is True
    audit = client.get("/v1/audit", params={"entity_id": conversation}, headers=auth(admin)).json()
    assert [e["action"] for e in audit] == ["conversation.pending_human"]  # not twice

    def status(to: str) -> Any:
        return client.post(
            f"/v1/inbox/conversations/{conversation}/status", json={"status": to}, headers=auth(admin)
        )

    assert status("resolved").status_code == 200
    refused = status("pending_human")
    assert refused.status_code == 409 and "resolved" in refused.json()["error"]["message"]
    assert status("sleeping").status_code == 422
    assert status("human").status_code == 200  # reopened to a person
    assert (
        client.post(
            f"/v1/inbox/conversations/{conversation}/assign",
            json={"assignee": "sam", "team": "billing"},
            headers=auth(admin),
        ).json()["team"]
        == "billing"
    )
    mine = client.get("/v1/inbox/conversations", params={"assignee": "sam"}, headers=auth(admin)).json()
    assert mine["total"] == 1
    status("resolved")
    returned = chat(client, admin, "One more question: do you sell gift cards?", conversation)
    assert returned["message_id"] is not None  # a customer writing to a resolved conversation gets the agent


def test_notes_are_internal(client: TestClient) -> None:
    admin = new_tenant(client)
    widget = client.get("/v1/livechat/widget", headers=auth(admin)).json()
    with client.websocket_connect(ws_url(widget["widget_key"])) as visitor:
        session = visitor.receive_json()
        visitor.receive_json()
        conversation = say(visitor, "hello", "c1")[0]["conversation_id"]
        note = client.post(
            f"/v1/inbox/conversations/{conversation}/notes",
            json={"text": "VIP, be gentle"},
            headers=auth(admin),
        )
        assert note.status_code == 201
    with client.websocket_connect(ws_url(widget["widget_key"], token=session["token"])) as again:
        again.receive_json()
        history = again.receive_json()["messages"]
    assert all("VIP" not in m["text"] for m in history)
    detail = client.get(f"/v1/inbox/conversations/{conversation}", headers=auth(admin)).json()
    assert [n["text"] for n in detail["notes"]] == ["VIP, be gentle"]


def test_another_tenant_cannot_see_or_act_on_conversations(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    conversation = chat(client, mine, "hello")["conversation_id"]
    for method, path, body in (
        ("GET", f"/v1/inbox/conversations/{conversation}", None),
        ("POST", f"/v1/inbox/conversations/{conversation}/reply", {"text": "hi"}),
        ("POST", f"/v1/inbox/conversations/{conversation}/assign", {"assignee": "x"}),
        ("POST", f"/v1/inbox/conversations/{conversation}/status", {"status": "resolved"}),
        ("POST", f"/v1/inbox/conversations/{conversation}/notes", {"text": "x"}),
    ):
        response = client.request(method, path, json=body, headers=auth(theirs))
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get("/v1/inbox/conversations", headers=auth(theirs)).json()["total"] == 0
    assert client.get(f"/v1/inbox/conversations/{conversation}", headers=auth(mine)).json()["status"] == "bot"
    with client.websocket_connect("/v1/inbox/ws?key=wrong") as ws:
        assert ws.receive_json()["type"] == "error"


def test_outside_working_hours_the_customer_is_told_when_a_person_will_answer(client: TestClient) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from agent.nodes import after_hours_note
    from crm.working_hours import DAYS, WorkingHours

    admin = new_tenant(client)
    tomorrow = datetime.now(ZoneInfo("Asia/Hong_Kong")) + timedelta(days=1)
    settings = client.get("/v1/tickets/settings", headers=auth(admin)).json()
    settings["working_hours"]["days"] = {DAYS[tomorrow.weekday()]: {"start": "09:00", "end": "18:00"}}
    assert client.put("/v1/tickets/settings", json=settings, headers=auth(admin)).status_code == 200
    body = chat(client, admin, "I want to speak to a human")
    assert body["handoff"] is True and "colleague" in body["reply"]
    assert f"reply from {tomorrow:%a %d %b} 09:00 (Asia/Hong_Kong)" in body["reply"]
    zh = chat(client, admin, "我想搵真人")
    assert f"{tomorrow.month}月{tomorrow.day}日 09:00" in zh["reply"]

    monday_noon = datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("Asia/Hong_Kong"))
    assert after_hours_note(WorkingHours(), "en", monday_noon) == ""  # someone is at work: nothing to add


def test_routing_rules_choose_the_team(client: TestClient) -> None:
    admin = new_tenant(client)
    client.post("/v1/attributes", json={"key": "vip", "label": "VIP", "type": "boolean"}, headers=auth(admin))
    settings = client.get("/v1/agent/settings", headers=auth(admin)).json()
    settings["handoff"]["complaint_team"] = "care"
    settings["handoff"]["routes"] = [
        {"team": "vip-desk", "vip_attribute": "vip"},
        {"team": "billing", "intent": "billing"},
        {"team": "weddings", "keywords": ["wedding"]},
    ]
    assert client.put("/v1/agent/settings", json=settings, headers=auth(admin)).status_code == 200
    bad = {**settings, "handoff": {**settings["handoff"], "routes": [{"team": "x", "intent": "gossip"}]}}
    assert client.put("/v1/agent/settings", json=bad, headers=auth(admin)).status_code == 422

    def team_after(message: str, contact: dict[str, Any] | None = None) -> str:
        body = client.post(
            "/v1/agent/chat",
            json={"message": message, **({"contact": contact} if contact else {})},
            headers=auth(admin),
        ).json()
        assert body["handoff"] is True, body
        detail = client.get(f"/v1/inbox/conversations/{body['conversation_id']}", headers=auth(admin)).json()
        return str(detail["team"])

    assert team_after("I want to speak to a human about my wedding makeup") == "weddings"
    assert team_after("I want to speak to a human about a charge on my invoice") == "billing"
    assert team_after("This is unacceptable, I want to complain") == "care"
    assert team_after("I want to speak to a human") == "support"
    first = client.post(
        "/v1/agent/chat",
        json={"message": "hello", "contact": {"external_id": "web:vip", "name": "Vera"}},
        headers=auth(admin),
    ).json()
    [vera] = client.get("/v1/contacts", params={"q": "vera"}, headers=auth(admin)).json()["items"]
    client.patch(f"/v1/contacts/{vera['id']}", json={"attributes": {"vip": True}}, headers=auth(admin))
    asked = chat(client, admin, "I want to speak to a human about my wedding", first["conversation_id"])
    assert asked["handoff"] is True
    detail = client.get(f"/v1/inbox/conversations/{first['conversation_id']}", headers=auth(admin)).json()
    assert detail["team"] == "vip-desk"  # the first matching route wins


def test_csat_is_asked_on_the_channel_after_resolution(client: TestClient) -> None:
    admin = new_tenant(client)
    widget = client.get("/v1/livechat/widget", headers=auth(admin)).json()
    with client.websocket_connect(ws_url(widget["widget_key"])) as visitor:
        visitor.receive_json()
        visitor.receive_json()
        [opened] = replies(say(visitor, "收到嘅面霜破咗，我想退款", "c1"))
        assert "#1001" in opened["text"]
        [ticket] = client.get("/v1/tickets", headers=auth(admin)).json()["items"]
        client.patch(f"/v1/tickets/{ticket['id']}", json={"status": "resolved"}, headers=auth(admin))
        asked = visitor.receive_json()
        assert asked["type"] == "message" and "#1001" in asked["text"] and "1（差）至 5" in asked["text"]
        [thanks] = replies(say(visitor, "5", "c2"))
        assert thanks["text"] == "多謝你的評分！"
        assert client.get(f"/v1/tickets/{ticket['id']}", headers=auth(admin)).json()["csat"] == 5
        [normal] = replies(say(visitor, "4", "c3"))  # no question pending any more: an ordinary message
        assert normal["text"] != "多謝你的評分！"


def test_what_counts_as_a_rating() -> None:
    from inbox.csat import rating_in

    assert [rating_in(t) for t in ("5", " 4/5 ", "3.", "五", "2分", "五分")] == [5, 4, 3, 5, 2, 5]
    assert [rating_in(t) for t in ("15", "0", "6", "I'd say 5", "five stars", "")] == [None] * 6
