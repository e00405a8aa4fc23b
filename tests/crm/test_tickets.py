"""Tickets through the HTTP API: numbering, valid transitions only, internal notes, CSAT, SLA deadlines in
working hours, metrics on a hand-computed example, roles and tenant isolation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import update

from crm.ticket_models import Ticket
from tests.conftest import auth, new_tenant, services
from tests.crm.test_contacts import new_contact, staff_key

HK = ZoneInfo("Asia/Hong_Kong")


def new_ticket(client: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    body = {"type": "refund", "priority": "high", "subject": "Order arrived broken", **fields}
    response = client.post("/v1/tickets", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def move(client: TestClient, key: str, ticket: dict[str, Any], status: str) -> Any:
    return client.patch(f"/v1/tickets/{ticket['id']}", json={"status": status}, headers=auth(key))


def test_create_number_and_validate(client: TestClient) -> None:
    admin = new_tenant(client)
    contact = new_contact(client, admin, name="Kerry")
    first = new_ticket(client, admin, contact_id=contact["id"], custom_fields={"order": "A-1001"})
    timeline = client.get(f"/v1/contacts/{contact['id']}/timeline", headers=auth(admin)).json()["entries"]
    assert any(e.get("action") == "ticket.create" for e in timeline)  # tickets show on the contact
    second = new_ticket(client, admin, type="custom", custom_type="warranty claim", priority="low")
    assert (first["number"], second["number"]) == (1001, 1002)
    assert (
        first["status"] == "to_do"
        and first["created_by"].startswith("key:")
        and first["sla"]["first_response_due"]
    )
    for body, named in (
        ({"type": "custom", "subject": "x"}, "custom_type"),
        ({"type": "refund", "subject": "x", "priority": "whenever"}, "priority"),
        ({"type": "complaint", "subject": "x"}, "type"),
        ({"type": "refund", "subject": ""}, "subject"),
        ({"type": "refund", "subject": "x", "custom_fields": {"items": [1, 2]}}, "items"),
        ({"type": "refund", "subject": "x", "contact_id": "nope"}, "nope"),
    ):
        response = client.post("/v1/tickets", json=body, headers=auth(admin))
        assert response.status_code in (404, 422) and named in response.json()["error"]["message"], body


def test_only_valid_transitions_and_their_timestamps(client: TestClient) -> None:
    admin = new_tenant(client)
    ticket = new_ticket(client, admin)
    refused = move(client, admin, ticket, "reopened")
    assert refused.status_code == 409 and "to_do" in refused.json()["error"]["message"]
    started = move(client, admin, ticket, "in_progress").json()
    assert started["status"] == "in_progress" and started["first_response_at"] is not None
    assert move(client, admin, ticket, "on_hold").status_code == 200
    assert move(client, admin, ticket, "to_do").status_code == 409  # paused work does not go back to to_do
    resolved = move(client, admin, ticket, "resolved").json()
    assert resolved["resolved_at"] is not None
    assert move(client, admin, ticket, "in_progress").status_code == 409  # resolved tickets only reopen
    reopened = move(client, admin, ticket, "reopened").json()
    assert reopened["reopened_count"] == 1 and reopened["resolved_at"] is None
    assert (
        client.patch(f"/v1/tickets/{ticket['id']}", json={"status": None}, headers=auth(admin)).status_code
        == 422
    )
    assert (
        client.patch(f"/v1/tickets/{ticket['id']}", json={"number": 7}, headers=auth(admin)).status_code
        == 422
    )
    history = client.get(
        "/v1/audit", params={"entity": "ticket", "entity_id": ticket["id"]}, headers=auth(admin)
    ).json()
    moves = [
        (e["before"]["status"], e["after"]["status"])
        for e in reversed(history)
        if e["action"] == "ticket.transition"
    ]
    assert moves == [
        ("to_do", "in_progress"),
        ("in_progress", "on_hold"),
        ("on_hold", "resolved"),
        ("resolved", "reopened"),
    ]


def test_notes_are_internal_and_csat_follows_resolution(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = staff_key(client, admin)
    ticket = new_ticket(client, staff, assignee="mandy", team="support")
    assert (
        client.post(
            f"/v1/tickets/{ticket['id']}/notes", json={"text": "Courier damaged it"}, headers=auth(staff)
        ).status_code
        == 201
    )
    notes = client.get(f"/v1/tickets/{ticket['id']}/notes", headers=auth(staff)).json()
    assert [n["text"] for n in notes] == ["Courier damaged it"]
    assert "Courier" not in str(client.get(f"/v1/tickets/{ticket['id']}", headers=auth(staff)).json())
    early = client.post(f"/v1/tickets/{ticket['id']}/csat", json={"score": 5}, headers=auth(staff))
    assert early.status_code == 409
    move(client, staff, ticket, "resolved")
    assert (
        client.post(f"/v1/tickets/{ticket['id']}/csat", json={"score": 6}, headers=auth(staff)).status_code
        == 422
    )
    rated = client.post(
        f"/v1/tickets/{ticket['id']}/csat", json={"score": 4, "comment": "quick"}, headers=auth(staff)
    )
    assert rated.status_code == 200 and rated.json()["csat"] == 4
    assert (
        client.post(f"/v1/tickets/{ticket['id']}/csat", json={"score": 1}, headers=auth(staff)).status_code
        == 409
    )
    listed = client.get(
        "/v1/tickets", params={"assignee": "mandy", "status": "resolved"}, headers=auth(staff)
    ).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == ticket["id"]
    assert client.get("/v1/tickets", params={"status": "on_fire"}, headers=auth(staff)).status_code == 422


def place(client: TestClient, ticket: dict[str, Any], **times: datetime | None) -> None:
    """Set a ticket's timestamps to a known history (the clock is not something a test can wait for)."""
    with services(client).core.db.session() as session:
        session.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(**times))


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HK)  # 2026-11-20 is a Friday (in the past)


def test_sla_deadlines_run_on_working_hours(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = staff_key(client, admin)
    settings = client.get("/v1/tickets/settings", headers=auth(staff)).json()
    assert settings["working_hours"]["timezone"] == "Asia/Hong_Kong"
    settings["sla"]["high"] = {"first_response_hours": 2, "resolution_hours": 10}
    assert client.put("/v1/tickets/settings", json=settings, headers=auth(staff)).status_code == 403
    bad = {**settings, "working_hours": {"timezone": "Mars/Olympus"}}
    assert client.put("/v1/tickets/settings", json=bad, headers=auth(admin)).status_code == 422
    assert (
        client.put(
            "/v1/tickets/settings", json={"sla": {"high": settings["sla"]["high"]}}, headers=auth(admin)
        ).status_code
        == 422
    )
    assert client.put("/v1/tickets/settings", json=settings, headers=auth(admin)).status_code == 200

    ticket = new_ticket(client, staff, priority="high")
    place(client, ticket, created_at=hk(20, 17))  # Friday 17:00: one working hour left that day
    sla = client.get(f"/v1/tickets/{ticket['id']}", headers=auth(staff)).json()["sla"]
    assert datetime.fromisoformat(sla["first_response_due"]) == hk(23, 10)  # 1 h Friday + 1 h Monday
    # 1 h Friday + all 9 h of Monday = Monday 18:00
    assert datetime.fromisoformat(sla["resolution_due"]) == hk(23, 18)
    assert sla["first_response_breached"] and sla["resolution_breached"]  # long past by now
    place(client, ticket, first_response_at=hk(23, 9, 30))
    assert not client.get(f"/v1/tickets/{ticket['id']}", headers=auth(staff)).json()["sla"][
        "first_response_breached"
    ]


def test_metrics_on_a_hand_computed_example(client: TestClient) -> None:
    admin = new_tenant(client)
    # Mon-Fri 09:00-18:00 Hong Kong (the default). Three tickets:
    a = new_ticket(client, admin, type="refund", assignee="mandy")
    b = new_ticket(client, admin, type="billing", assignee="mandy")
    c = new_ticket(client, admin, type="refund", assignee="sam")
    for ticket in (a, b):
        move(client, admin, ticket, "resolved")
    move(client, admin, b, "reopened")
    move(client, admin, b, "resolved")
    client.post(f"/v1/tickets/{a['id']}/csat", json={"score": 5}, headers=auth(admin))
    client.post(f"/v1/tickets/{b['id']}/csat", json={"score": 2}, headers=auth(admin))
    # a: Fri 17:00 -> answered Mon 10:00 (2 h) -> resolved Mon 12:00 (4 h)
    place(client, a, created_at=hk(20, 17), first_response_at=hk(23, 10), resolved_at=hk(23, 12))
    # b: Mon 09:00 -> answered Mon 10:00 (1 h) -> resolved Tue 09:00 (9 h)
    place(
        client,
        b,
        created_at=hk(23, 9),
        first_response_at=hk(23, 10),
        resolved_at=hk(24, 9),
    )
    # c: Sat 12:00 -> answered Mon 09:30 (0.5 h), still open
    place(client, c, created_at=hk(21, 12), first_response_at=hk(23, 9, 30), resolved_at=None)

    m = client.get("/v1/tickets/metrics", headers=auth(admin)).json()
    assert m["tickets"] == 3 and m["resolved"] == 2
    assert m["first_response"] == {"count": 3, "mean_hours": round(3.5 / 3, 3), "median_hours": 1.0}
    assert m["resolution"] == {"count": 2, "mean_hours": 6.5, "median_hours": 6.5}
    assert m["first_contact_resolution"] == 0.5  # b was reopened
    assert m["csat"] == {"count": 2, "mean": 3.5, "satisfied_share": 0.5}
    assert m["volume_by_type"] == {"billing": 1, "refund": 2}
    assert m["per_agent"]["mandy"]["resolution"]["mean_hours"] == 6.5
    assert m["per_agent"]["sam"] == {
        "tickets": 1,
        "resolved": 0,
        "first_response": {"count": 1, "mean_hours": 0.5, "median_hours": 0.5},
        "resolution": {"count": 0, "mean_hours": None, "median_hours": None},
        "csat": {"count": 0, "mean": None, "satisfied_share": None},
    }
    only_monday = client.get(
        "/v1/tickets/metrics",
        params={"since": hk(23, 0).isoformat(), "until": hk(23, 23).isoformat()},
        headers=auth(admin),
    ).json()
    assert only_monday["tickets"] == 1  # b


def test_another_tenant_cannot_touch_tickets(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    ticket = new_ticket(client, mine)
    tid = ticket["id"]
    for method, path, body in (
        ("GET", f"/v1/tickets/{tid}", None),
        ("PATCH", f"/v1/tickets/{tid}", {"status": "in_progress"}),
        ("POST", f"/v1/tickets/{tid}/notes", {"text": "x"}),
        ("GET", f"/v1/tickets/{tid}/notes", None),
        ("POST", f"/v1/tickets/{tid}/csat", {"score": 5}),
    ):
        response = client.request(method, path, json=body, headers=auth(theirs))
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get("/v1/tickets", headers=auth(theirs)).json()["total"] == 0
    assert client.get("/v1/tickets/metrics", headers=auth(theirs)).json()["tickets"] == 0
    my_contact = new_contact(client, mine, name="Kerry")
    linked = client.post(
        "/v1/tickets",
        json={"type": "refund", "subject": "x", "contact_id": my_contact["id"]},
        headers=auth(theirs),
    )
    assert linked.status_code == 404
    assert client.get(f"/v1/tickets/{tid}", headers=auth(mine)).json()["status"] == "to_do"
