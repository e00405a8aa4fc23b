"""The console's Tickets pages: the list's filters and SLA clocks, status moves (a refused one says why),
fields and staff assignees, notes, CSAT, a new ticket for a contact, roles, another tenant, Chinese."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crm.contacts import FIELDS
from tests.conftest import auth, new_tenant
from tests.helpers.console import csrf, new_member, sign_in, user_ref
from web.console import contact_routes, ticket_list_routes, ticket_routes
from web.console.i18n import CATALOGUE


@pytest.fixture(scope="module")
def acme(api: TestClient) -> str:
    return new_tenant(api, "Acme Tickets")


@pytest.fixture(scope="module")
def agent(app: Any, api: TestClient, acme: str) -> TestClient:
    new_member(api, acme, "agent@tickets.example", "agent")
    return sign_in(app, "agent@tickets.example", address="10.50.0.1")


@pytest.fixture(scope="module")
def customer(api: TestClient, acme: str) -> dict[str, Any]:
    made = api.post("/v1/contacts", json={"name": "May Cheung", "phone": "+85291110000"}, headers=auth(acme))
    assert made.status_code == 201
    return dict(made.json())


def ticket(api: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    made = api.post("/v1/tickets", json={"type": "general_support", **fields}, headers=auth(key))
    assert made.status_code == 201, made.text
    return dict(made.json())


@pytest.fixture(scope="module")
def tickets(api: TestClient, acme: str, customer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "urgent": ticket(
            api,
            acme,
            subject="Card declined",
            priority="urgent",
            contact_id=customer["id"],
            assignee="Old Mary",
        ),
        "low": ticket(api, acme, subject="Wrong colour on the site", priority="low"),
    }


def listed(page: str) -> set[str]:
    return set(re.findall(r'<tr id="ticket-([0-9a-z]+)"', page))


def test_the_list_filters_and_shows_sla_clocks(agent: TestClient, tickets: dict[str, dict[str, Any]]) -> None:
    urgent, low = tickets["urgent"]["id"], tickets["low"]["id"]
    every = agent.get("/console/tickets")
    assert every.status_code == 200 and {urgent, low} <= listed(every.text)
    row = every.text.split(f'id="ticket-{urgent}"', 1)[1].split("</tr>", 1)[0]
    assert (
        "First response:" in row
        and "Resolution:" in row
        and re.search(r'class="sla (running|breached)"', row)
    )
    assert "Old Mary" in row  # an old free-text assignee still shows
    assert listed(agent.get("/console/tickets?priority=urgent").text) == {urgent}
    assert listed(agent.get("/console/tickets?priority=low").text) == {low}
    assert listed(agent.get("/console/tickets?assignee=Old+Mary").text) == {urgent}
    assert listed(agent.get("/console/tickets?status=resolved").text) == set()
    assert {urgent, low} <= listed(agent.get("/console/tickets?type=general_support").text)
    assert listed(agent.get("/console/tickets?type=bug_report").text) == set()
    bad = agent.get("/console/tickets?status=lost")
    assert bad.status_code == 422 and 'id="e-status"' in bad.text and "lost" in bad.text


def test_a_late_ticket_shows_its_breached_clock_and_the_list_pages(app: Any, api: TestClient) -> None:
    """A tenant open round the clock whose SLA gives a second to answer: its ticket is late at once."""
    key = new_tenant(api, "Late Tickets")
    always = {
        day: {"start": "00:00", "end": "23:59:59"}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    tight = {"first_response_hours": 0.0003, "resolution_hours": 1000}
    settings = {
        "sla": {p: tight for p in ("urgent", "high", "medium", "low")},
        "working_hours": {"days": always},
    }
    saved = api.put("/v1/tickets/settings", json=settings, headers=auth(key))
    assert saved.status_code == 200, saved.text
    late = [ticket(api, key, subject=f"Late {n}", priority="low") for n in range(51)]
    new_member(api, key, "agent@late.example", "agent")
    person = sign_in(app, "agent@late.example", address="10.50.0.9")
    time.sleep(1.5)
    first = person.get("/console/tickets")
    assert len(listed(first.text)) == 50 and "Page 1 of 2" in first.text
    row = first.text.split(f'id="ticket-{late[-1]["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="sla breached">First response:' in row and "breached" in row
    assert '<span class="sla running">Resolution:' in row
    second = person.get("/console/tickets?page=2")
    assert listed(second.text) == {late[0]["id"]}


def test_status_moves_the_service_allows_and_a_refused_one_says_why(
    agent: TestClient, api: TestClient, acme: str, tickets: dict[str, dict[str, Any]]
) -> None:
    tid = tickets["low"]["id"]
    page = agent.get(f"/console/tickets/{tid}")
    # to_do may go to in_progress, on_hold, resolved: exactly those buttons.
    buttons = set(re.findall(r'name="status" value="([a-z_]+)"', page.text))
    assert buttons == {"in_progress", "on_hold", "resolved"}
    token = csrf(agent, f"/console/tickets/{tid}")
    moved = agent.post(f"/console/tickets/{tid}/status", data={"csrf": token, "status": "in_progress"})
    assert moved.status_code == 303 and moved.headers["location"].endswith("notice=moved")
    shown = api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()
    assert shown["status"] == "in_progress" and shown["first_response_at"]
    refused = agent.post(f"/console/tickets/{tid}/status", data={"csrf": token, "status": "reopened"})
    assert refused.status_code == 409 and 'id="e-status"' in refused.text
    assert "This move is not allowed" in refused.text and "not reopened" in refused.text
    unknown = agent.post(f"/console/tickets/{tid}/status", data={"csrf": token, "status": "lost"})
    assert unknown.status_code == 422 and 'id="e-status"' in unknown.text
    assert api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()["status"] == "in_progress"
    forged = agent.post(f"/console/tickets/{tid}/status", data={"status": "resolved"})
    assert forged.status_code == 403
    assert api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()["status"] == "in_progress"


def test_fields_assignee_and_notes_are_saved_as_the_user(
    agent: TestClient, api: TestClient, acme: str, tickets: dict[str, dict[str, Any]]
) -> None:
    tid = tickets["urgent"]["id"]
    page = agent.get(f"/console/tickets/{tid}")
    assert '<option value="Old Mary" selected>Old Mary</option>' in page.text
    ken = user_ref(api, acme, "agent@tickets.example")
    assert f'value="{ken}"' in page.text  # the tenant's staff users to pick from, stored as user:<id>
    assert "May Cheung" in page.text  # the contact, linked
    assert "by an API key" in page.text  # who created it, as the audit actor says
    token = csrf(agent, f"/console/tickets/{tid}")
    form = {
        "csrf": token,
        "subject": "Card declined at checkout",
        "type": "billing",
        "description": "Visa ending 4242",
        "priority": "high",
        "assignee": ken,
        "team": "Payments",
    }
    saved = agent.post(f"/console/tickets/{tid}/edit", data=form)
    assert saved.status_code == 303
    shown = api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()
    fields = ("subject", "type", "description", "priority", "assignee", "team")
    assert {name: shown[name] for name in fields} == {name: form[name] for name in fields}
    custom = agent.post(f"/console/tickets/{tid}/edit", data={**form, "type": "custom", "team": "Other"})
    assert custom.status_code == 422 and 'id="e-custom_type"' in custom.text
    assert 'value="Other"' in custom.text  # what was typed is shown again
    nameless = agent.post(f"/console/tickets/{tid}/edit", data={**form, "subject": " "})
    assert nameless.status_code == 422 and 'id="e-subject"' in nameless.text
    assert api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()["team"] == "Payments"
    mine = agent.get("/console/tickets", params={"assignee": ken})
    assert listed(mine.text) == {tid}
    bad = agent.post(f"/console/tickets/{tid}/edit", data={**form, "priority": "asap"})
    assert bad.status_code == 422 and 'id="e-priority"' in bad.text
    empty = agent.post(f"/console/tickets/{tid}/notes", data={"csrf": token, "text": " "})
    assert empty.status_code == 422 and 'id="e-text"' in empty.text
    noted = agent.post(f"/console/tickets/{tid}/notes", data={"csrf": token, "text": "Called the bank"})
    assert noted.status_code == 303
    notes = api.get(f"/v1/tickets/{tid}/notes", headers=auth(acme)).json()
    assert notes[-1]["text"] == "Called the bank" and notes[-1]["author"].startswith("user:")
    shown_page = agent.get(f"/console/tickets/{tid}").text
    assert "Called the bank" in shown_page and "<strong>agent</strong>" in shown_page


def test_csat_shows_once_recorded(
    agent: TestClient, api: TestClient, acme: str, tickets: dict[str, dict[str, Any]]
) -> None:
    tid = ticket(api, acme, subject="Refund please", priority="medium")["id"]
    token = csrf(agent, f"/console/tickets/{tid}")
    assert 'id="csat"' not in agent.get(f"/console/tickets/{tid}").text
    resolved = agent.post(f"/console/tickets/{tid}/status", data={"csrf": token, "status": "resolved"})
    assert resolved.status_code == 303
    rated = api.post(
        f"/v1/tickets/{tid}/csat", json={"score": 4, "comment": "Quick, thanks"}, headers=auth(acme)
    )
    assert rated.status_code == 200, rated.text
    page = agent.get(f"/console/tickets/{tid}").text
    assert 'id="csat"' in page and "4 of 5" in page and "Quick, thanks" in page
    assert set(re.findall(r'name="status" value="([a-z_]+)"', page)) == {"reopened"}


def test_a_new_ticket_for_a_contact(
    agent: TestClient, api: TestClient, acme: str, customer: dict[str, Any]
) -> None:
    contact_page = agent.get(f"/console/contacts/{customer['id']}")
    assert f'href="/console/tickets/new?contact={customer["id"]}"' in contact_page.text
    form = agent.get(f"/console/tickets/new?contact={customer['id']}")
    assert form.status_code == 200 and "May Cheung" in form.text
    token = csrf(agent, f"/console/tickets/new?contact={customer['id']}")
    data = {
        "csrf": token,
        "contact_id": customer["id"],
        "type": "refund",
        "priority": "high",
        "subject": "",
        "description": "Ordered twice",
        "assignee": user_ref(api, acme, "agent@tickets.example"),
    }
    missing = agent.post("/console/tickets/new", data=data)
    assert missing.status_code == 422 and 'id="e-subject"' in missing.text
    custom = agent.post("/console/tickets/new", data={**data, "subject": "Odd one", "type": "custom"})
    assert custom.status_code == 422 and 'id="e-custom_type"' in custom.text
    made = agent.post("/console/tickets/new", data={**data, "subject": "Double order"})
    assert made.status_code == 303
    tid = made.headers["location"].split("/console/tickets/", 1)[1].split("?", 1)[0]
    shown = api.get(f"/v1/tickets/{tid}", headers=auth(acme)).json()
    assert (shown["contact_id"], shown["type"], shown["subject"]) == (
        customer["id"],
        "refund",
        "Double order",
    )
    assert shown["created_by"].startswith("user:")
    assert "Double order" in agent.get(f"/console/contacts/{customer['id']}").text


def test_roles_another_tenant_and_chinese(
    app: Any, api: TestClient, acme: str, agent: TestClient, tickets: dict[str, dict[str, Any]]
) -> None:
    tid = tickets["urgent"]["id"]
    new_member(api, acme, "qa@tickets.example", "qa")
    qa = sign_in(app, "qa@tickets.example", address="10.50.0.2")
    assert qa.get("/console/tickets").status_code == 403
    assert qa.get(f"/console/tickets/{tid}").status_code == 403
    other = new_tenant(api, "Other Tickets")
    theirs = ticket(api, other, subject="Their secret")
    new_member(api, other, "admin@other-tickets.example", "admin")
    stranger = sign_in(app, "admin@other-tickets.example", address="10.50.0.3")
    assert "Card declined" not in stranger.get("/console/tickets").text
    assert stranger.get(f"/console/tickets/{tid}").status_code == 404
    token = csrf(stranger, "/console/tickets")
    moved = stranger.post(f"/console/tickets/{tid}/status", data={"csrf": token, "status": "resolved"})
    assert moved.status_code == 404
    noted = stranger.post(f"/console/tickets/{tid}/notes", data={"csrf": token, "text": "peek"})
    assert noted.status_code == 404
    assert agent.get(f"/console/tickets/{theirs['id']}").status_code == 404
    chinese = agent.get(f"/console/tickets/{tid}", headers={"accept-language": "zh-HK"})
    assert chinese.status_code == 200 and "工單" in chinese.text and "內部備註" in chinese.text
    assert "首次回應" in chinese.text and "優先次序" in chinese.text


def test_every_built_ticket_key_has_both_languages() -> None:
    """Keys built from the models' values (the catalogue test finds only literal ones)."""
    keys = {f"ticket.status.{s}" for s in ticket_list_routes.STATUSES}
    keys |= {f"ticket.move_to.{s}" for s in ticket_list_routes.STATUSES}
    keys |= {f"ticket.priority.{p}" for p in ("urgent", "high", "medium", "low")}
    keys |= {f"ticket.type.{t}" for t in ticket_list_routes.TYPES}
    keys |= {f"notice.ticket_{n}" for n in ticket_routes.NOTICES}
    keys |= {"contact.said_by.customer", "contact.said_by.agent", "common.true", "common.false"}
    keys |= {"import.duplicate.update", "import.duplicate.skip"}
    keys |= {f"actor.{a}" for a in ("key", "agent", "system", "customer")}
    keys |= {f"contact.field.{f}" for f in FIELDS} | {f"notice.contact_{n}" for n in contact_routes.NOTICES}
    missing = sorted(k for k in keys if k not in CATALOGUE or not all(CATALOGUE[k]))
    assert not missing
