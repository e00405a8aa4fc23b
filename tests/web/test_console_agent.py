"""The Agent page: settings saved through the same validation and store as /v1/agent/settings, errors at
their field, and the playground chatting through the turn router and rating through the inbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, services, upload, wait_for
from tests.helpers.console import csrf, new_member, sign_in

FAQ = b"# Parking\n\nFree parking is available in the basement car park for two hours.\n"


@pytest.fixture(scope="module")
def acme(api: TestClient) -> str:
    key = new_tenant(api, "Acme Beauty")
    assert wait_for(api, key, upload(api, key, "faq.md", FAQ)["id"])["status"] == "ready"
    return key


def settings_form(token: str, **changes: str) -> dict[str, Any]:
    """The whole settings form as a browser posts it (an unticked box is not sent)."""
    form: dict[str, Any] = {
        "csrf": token,
        "tone": "warm and concise",
        "response_length": "brief",
        "objectives": "Book appointments\n\nSell gift cards\n",
        "languages": ["en"],
        "guardrails-0-topic": "medical advice",
        "guardrails-0-keywords": "diagnose\nprescription",
        "guardrails-0-message": "Please ask a doctor.",
        "custom_answers-0-question": "Do you sell gift cards?",
        "custom_answers-0-answer": "Yes, from HK$200.",
        "custom_answers-1-question": "",  # the blank row offered for adding
        "custom_answers-1-answer": "",
        "handoff-keywords": "speak to the manager",
        "handoff-on_complaint": "1",
        "handoff-max_failed_answers": "3",
        "handoff-team": "front desk",
        "handoff-complaint_team": "",
        "handoff-bot_return_keywords": "back to the bot",
        "handoff-routes-0-team": "sales",
        "handoff-routes-0-keywords": "wholesale",
        "handoff-routes-0-intent": "sales",
        "handoff-routes-0-vip_attribute": "",
        "handoff-routes-0-min_lead_score": "60",
        "welcome-en": "Hello from Acme!",
        "welcome-zh": "",
    }
    return {**form, **changes}


def test_settings_are_saved_and_read_back_through_the_api(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    token = csrf(admin, "/console/agent")
    saved = admin.post("/console/agent/settings", data=settings_form(token))
    assert saved.status_code == 303 and "notice=saved" in saved.headers["location"]
    stored = api.get("/v1/agent/settings", headers=auth(acme)).json()
    assert stored["tone"] == "warm and concise" and stored["response_length"] == "brief"
    assert stored["objectives"] == ["Book appointments", "Sell gift cards"] and stored["languages"] == ["en"]
    assert stored["guardrails"] == [
        {
            "topic": "medical advice",
            "keywords": ["diagnose", "prescription"],
            "message": "Please ask a doctor.",
        }
    ]
    assert stored["custom_answers"] == [
        {"question": "Do you sell gift cards?", "answer": "Yes, from HK$200."}
    ]
    handoff = stored["handoff"]
    assert (handoff["on_complaint"], handoff["on_low_confidence"], handoff["customer_can_return_to_bot"]) == (
        True,
        False,
        False,
    )
    assert handoff["team"] == "front desk" and handoff["max_failed_answers"] == 3
    assert handoff["routes"] == [
        {
            "team": "sales",
            "keywords": ["wholesale"],
            "intent": "sales",
            "vip_attribute": None,
            "min_lead_score": 60,
        }
    ]
    assert stored["welcome"] == {"en": "Hello from Acme!", "zh": None}
    page = admin.get("/console/agent")
    assert "Settings saved." not in page.text and 'value="warm and concise"' in page.text
    assert "Please ask a doctor." in page.text
    # Remove the guardrail, edit the custom answer.
    edited = settings_form(token, **{"guardrails-0-remove": "1", "custom_answers-0-answer": "Yes, HK$300."})
    assert admin.post("/console/agent/settings", data=edited).status_code == 303
    stored = api.get("/v1/agent/settings", headers=auth(acme)).json()
    assert stored["guardrails"] == [] and stored["custom_answers"][0]["answer"] == "Yes, HK$300."


def test_an_invalid_value_is_shown_at_its_field_and_nothing_is_saved(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    token = csrf(admin, "/console/agent")
    before = api.get("/v1/agent/settings", headers=auth(acme)).json()
    bad = admin.post(
        "/console/agent/settings",
        data=settings_form(
            token, tone="   ", **{"handoff-routes-0-min_lead_score": "150", "guardrails-0-message": ""}
        ),
    )
    assert bad.status_code == 422
    assert re.search(r'id="e-tone" class="error"[^>]*>must not be empty', bad.text)
    assert re.search(r'id="e-handoff-routes-0-min_lead_score"[^>]*>[^<]*less than or equal to 100', bad.text)
    assert 'id="e-guardrails-0-message"' in bad.text
    assert 'value="150"' in bad.text  # the posted values are shown again to correct
    assert api.get("/v1/agent/settings", headers=auth(acme)).json() == before
    long_line = admin.post(
        "/console/agent/settings", data=settings_form(token, objectives="ok\n" + "x" * 201)
    )
    assert long_line.status_code == 422 and re.search(r'id="e-objectives"[^>]*>line 2: ', long_line.text)
    # A crafted row number ("²" passes str.isdigit) is no row at all, not an error.
    # (The form otherwise as the first test left the settings: the playground test reads them.)
    odd = settings_form(
        token,
        **{"guardrails-0-remove": "1", "custom_answers-0-answer": "Yes, HK$300.", "guardrails-²-topic": "x"},
    )
    assert admin.post("/console/agent/settings", data=odd).status_code == 303


def test_forms_need_the_csrf_token_and_the_admin_role(
    app: Any, api: TestClient, acme: str, admin: TestClient
) -> None:
    assert admin.post("/console/agent/settings", data=settings_form("")).status_code == 403
    assert admin.post("/console/agent/chat", data={"message": "hi"}).status_code == 403
    new_member(api, acme, "agent@acme.example", "agent")
    agent = sign_in(app, "agent@acme.example", address="10.31.0.1")
    assert agent.get("/console/agent").status_code == 403
    token = csrf(agent)
    assert agent.post("/console/agent/settings", data=settings_form(token)).status_code == 403
    assert agent.post("/console/agent/chat", data={"csrf": token, "message": "hi"}).status_code == 403


def ask(person: TestClient, message: str, conversation_id: str = "") -> tuple[str, str]:
    """Send a playground message; (the conversation id, the page that shows it)."""
    token = csrf(person, "/console/agent")
    sent = person.post(
        "/console/agent/chat", data={"csrf": token, "message": message, "conversation_id": conversation_id}
    )
    assert sent.status_code == 303, sent.text
    found = re.search(r"conversation=(\w+)", sent.headers["location"])
    assert found
    page = person.get(sent.headers["location"].split("#")[0])
    assert page.status_code == 200
    return found.group(1), page.text


def replies(page: str) -> list[str]:
    return re.findall(r'<li class="bubble agent" id="m-(\w+)">', page)


def test_the_playground_answers_keeps_the_conversation_and_takes_ratings(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    conversation, page = ask(admin, "Where can I park?")
    assert "basement car park" in page and '<strong class="source-name">faq.md</strong>' in page
    assert f'name="conversation_id" value="{conversation}"' in page  # follow-ups go to the same one
    again, page = ask(admin, "Do you sell gift cards?", conversation)
    assert again == conversation and "Yes, HK$300." in page and len(replies(page)) == 2
    assert 'id="new-conversation"' in page
    empty = admin.post("/console/agent/chat", data={"csrf": csrf(admin), "message": "  "})
    assert empty.status_code == 422 and 'id="e-message"' in empty.text
    first = replies(page)[0]
    rated = admin.post(
        "/console/agent/feedback",
        data={
            "csrf": csrf(admin),
            "conversation_id": conversation,
            "message_id": first,
            "rating": "down",
            "correction": "Parking is free for two hours in the basement.",
        },
    )
    assert rated.status_code == 303 and "notice=rated" in rated.headers["location"]
    shown = admin.get(rated.headers["location"].split("#")[0]).text
    assert (
        'data-rating="down"' in shown and "Parking is free for two hours in the basement.</textarea>" in shown
    )
    exported = yaml.safe_load(api.get("/v1/evals/ratings.yaml", headers=auth(acme)).text)
    case = next(c for c in exported["cases"] if c["id"] == f"rated-{first}")
    assert case["rating"] == "down" and case["reference"] == "Parking is free for two hours in the basement."
    assert case["question"] == "Where can I park?"


def test_another_tenants_admin_sees_nothing_of_the_playground_or_settings(
    app: Any, api: TestClient, admin: TestClient
) -> None:
    conversation, page = ask(admin, "Where can I park?")
    message = replies(page)[0]
    other = new_tenant(api, "Other Shop")
    new_member(api, other, "owner@other.example", "admin")
    theirs = sign_in(app, "owner@other.example", address="10.32.0.1")
    own = theirs.get("/console/agent")
    assert own.status_code == 200 and "warm and concise" not in own.text and "Yes, HK$300." not in own.text
    assert theirs.get(f"/console/agent?conversation={conversation}").status_code == 404
    token = csrf(theirs, "/console/agent")
    peek = theirs.post(
        "/console/agent/chat", data={"csrf": token, "message": "hi", "conversation_id": conversation}
    )
    assert peek.status_code == 404
    rating = {"csrf": token, "message_id": message, "rating": "up", "conversation_id": ""}
    assert theirs.post("/console/agent/feedback", data=rating).status_code == 404
    assert api.get("/v1/agent/settings", headers=auth(other)).json()["tone"] == "friendly"
    # An unknown conversation id is a 404 page, not an empty playground.
    assert admin.get("/console/agent?conversation=nonexistent").status_code == 404


def test_the_playground_writes_in_no_other_channels_conversation(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    """A customer's WhatsApp conversation is not the playground's: an admin's test message would land in it."""
    tenant = services(api).core.keys.resolve(acme).tenant_id
    real = services(api).inbox_store.open(tenant, None, None, "whatsapp")
    assert admin.get(f"/console/agent?conversation={real.id}").status_code == 404
    sent = admin.post(
        "/console/agent/chat", data={"csrf": csrf(admin), "message": "test", "conversation_id": real.id}
    )
    assert sent.status_code == 404 and services(api).inbox_store.messages(tenant, real.id) == []


def test_a_console_save_is_audited_as_the_signed_in_user(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    """The same audited store as PUT /v1/agent/settings: the entry names the user, as the API's names its key."""
    users = api.get("/v1/staff/users", headers=auth(acme)).json()["users"]
    boss = next(u for u in users if u["email"] == "boss@acme.example")
    stored = api.get("/v1/agent/settings", headers=auth(acme)).json()
    form = settings_form(csrf(admin, "/console/agent"), tone="calm and exact")
    assert admin.post("/console/agent/settings", data=form).status_code == 303
    audit = api.get("/v1/audit", params={"entity": "agent_settings"}, headers=auth(acme)).json()
    mine = [e for e in audit if e["actor"] == f"user:{boss['id']}"]
    assert mine and {e["action"] for e in mine} == {"agent_settings.update"}  # the earlier tests' saves too
    assert mine[0]["after"]["tone"] == "calm and exact" and mine[0]["before"]["tone"] == stored["tone"]
    # The API's save, for comparison: its entry names the key, not a user.
    assert api.put("/v1/agent/settings", json=stored, headers=auth(acme)).status_code == 200
    audit = api.get("/v1/audit", params={"entity": "agent_settings"}, headers=auth(acme)).json()
    assert audit[0]["actor"].startswith("key:") and audit[0]["after"]["tone"] == stored["tone"]
