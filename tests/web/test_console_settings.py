"""The Settings page (admins): API keys created as through POST /v1/api-keys (the secret on the POST's page
only, working against /v1 at once), revoked as through DELETE /v1/api-keys/{id} (refused from then on), both
audited as the signed-in user; the plan and this month's credits as GET /v1/assist/credits tells them; the
audit log as GET /v1/audit lists it, newest first, filtered by actor and action, page by page. CSRF is
required; an agent or QA user is refused; another tenant's admin sees and touches nothing of it."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, auth, new_tenant
from tests.helpers.console import csrf, new_member, sign_in, switch_language, user_ref
from web.console import settings_routes

SECRET = re.compile(r'id="new-key" type="text" class="mono link-box" readonly value="(pk_[^"]+)"')


@pytest.fixture(scope="module")
def boss(api: TestClient, acme: str, admin: TestClient) -> str:
    """The signed-in admin as the audit log names them."""
    return user_ref(api, acme, "boss@acme.example")


def keys_of(api: TestClient, key: str) -> list[dict[str, Any]]:
    response = api.get("/v1/api-keys", headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def create_key(admin: TestClient, name: str, role: str = "staff") -> tuple[str, str]:
    """(the key's id, its secret) from the page the console's POST returns."""
    made = admin.post(
        "/console/settings/api-keys",
        data={"csrf": csrf(admin, "/console/settings"), "name": name, "role": role},
    )
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"  # the browser keeps no copy of the key
    found = SECRET.search(made.text)
    assert found, "the new key is shown on the page the POST returns"
    key_id = re.search(
        r'<tr id="key-(\w+)" data-state="active">\s*<td[^>]*>' + re.escape(name) + "<", made.text
    )
    assert key_id, "the new key is listed"
    return key_id.group(1), found.group(1)


def audit(api: TestClient, key: str, **query: str) -> list[dict[str, Any]]:
    response = api.get("/v1/audit", params=query, headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_created_key_works_against_the_api_and_is_never_shown_again(
    api: TestClient, acme: str, admin: TestClient, boss: str
) -> None:
    page = admin.get("/console/settings")
    assert page.status_code == 200 and "first admin key" in page.text and 'id="new-key"' not in page.text
    assert 'href="/console/team"' in page.text  # users and roles: the Team page
    key_id, secret = create_key(admin, "Zapier", "staff")
    assert secret.startswith("pk_") and len(secret) > 40
    # Stored as POST /v1/api-keys stores a key: same store, same fields, usable at once with its role.
    listed = {k["id"]: k for k in keys_of(api, acme)}
    assert listed[key_id]["name"] == "Zapier" and listed[key_id]["role"] == "staff"
    assert listed[key_id]["revoked_at"] is None and secret.startswith(listed[key_id]["prefix"])
    assert api.get("/v1/knowledge/sources", headers=auth(secret)).status_code == 200
    assert api.get("/v1/api-keys", headers=auth(secret)).status_code == 403  # a staff key
    # Never again: not on the page, not in the log.
    again = admin.get("/console/settings")
    assert secret not in again.text and 'id="new-key"' not in again.text
    assert f"{listed[key_id]['prefix']}…" in again.text
    log = admin.get("/console/settings/audit")
    assert secret not in log.text and "api_key.create" in log.text
    entries = audit(api, acme, entity="api_key", entity_id=key_id)
    assert [(e["action"], e["actor"]) for e in entries] == [("api_key.create", boss)]
    assert entries[0]["after"] == {"name": "Zapier", "role": "staff", "prefix": listed[key_id]["prefix"]}
    assert secret not in str(entries)
    admin_key_id, admin_secret = create_key(admin, "Back office", "admin")
    assert api.get("/v1/api-keys", headers=auth(admin_secret)).status_code == 200
    assert keys_of(api, acme)[-1]["id"] == admin_key_id


def test_a_revoked_key_stops_working_and_the_revocation_is_audited(
    api: TestClient, acme: str, admin: TestClient, boss: str
) -> None:
    key_id, secret = create_key(admin, "Old shop plugin")
    assert api.get("/v1/knowledge/sources", headers=auth(secret)).status_code == 200
    page = admin.get("/console/settings").text
    form = re.search(rf'action="/console/settings/api-keys/{key_id}/revoke"[^>]*data-confirm="([^"]+)"', page)
    assert form and "Old shop plugin" in html.unescape(form.group(1))  # confirmed first (console.js)
    token = csrf(admin, "/console/settings")
    revoked = admin.post(f"/console/settings/api-keys/{key_id}/revoke", data={"csrf": token})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/console/settings?notice=key_revoked#api-keys"
    refused = api.get("/v1/knowledge/sources", headers=auth(secret))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    after = admin.get("/console/settings?notice=key_revoked").text
    assert "Key revoked: it no longer works." in after
    assert f'<tr id="key-{key_id}" data-state="revoked">' in after
    assert f"/api-keys/{key_id}/revoke" not in after  # no button for a revoked key
    assert next(k for k in keys_of(api, acme) if k["id"] == key_id)["revoked_at"]
    # Revoking again changes nothing, and is not logged twice.
    assert admin.post(f"/console/settings/api-keys/{key_id}/revoke", data={"csrf": token}).status_code == 303
    entries = audit(api, acme, entity="api_key", entity_id=key_id)
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("api_key.revoke", boss),
        ("api_key.create", boss),
    ]
    assert entries[0]["before"] == {"revoked_at": None} and entries[0]["after"]["revoked_at"]
    assert admin.post("/console/settings/api-keys/nope/revoke", data={"csrf": token}).status_code == 404


def test_forms_without_the_csrf_token_are_refused(api: TestClient, acme: str, admin: TestClient) -> None:
    before = keys_of(api, acme)
    for data in ({"name": "Forged", "role": "admin"}, {"csrf": "forged", "name": "Forged", "role": "admin"}):
        refused = admin.post("/console/settings/api-keys", data=data)
        assert refused.status_code == 403 and "pk_" not in refused.text
    assert keys_of(api, acme) == before
    key_id, secret = create_key(admin, "Keep me")
    assert admin.post(f"/console/settings/api-keys/{key_id}/revoke").status_code == 403
    assert admin.post(f"/console/settings/api-keys/{key_id}/revoke", data={"csrf": "x"}).status_code == 403
    assert api.get("/v1/knowledge/sources", headers=auth(secret)).status_code == 200


def test_a_bad_key_is_refused_at_its_field(api: TestClient, acme: str, admin: TestClient) -> None:
    before = keys_of(api, acme)
    token = csrf(admin, "/console/settings")
    long = admin.post("/console/settings/api-keys", data={"csrf": token, "name": "x" * 201, "role": "staff"})
    assert long.status_code == 422 and 'id="e-name"' in long.text and "200 characters" in long.text
    assert 'id="new-key"' not in long.text
    role = admin.post("/console/settings/api-keys", data={"csrf": token, "name": "Owner", "role": "owner"})
    assert role.status_code == 422 and 'id="e-role"' in role.text and 'value="Owner"' in role.text
    assert keys_of(api, acme) == before


def test_agents_and_qa_cannot_open_or_use_settings(
    app: Any, api: TestClient, acme: str, admin: TestClient
) -> None:
    new_member(api, acme, "agent@acme.example", "agent")
    new_member(api, acme, "qa@acme.example", "qa")
    before = keys_of(api, acme)
    key_id = before[0]["id"]
    for email, address in (("agent@acme.example", "10.71.0.1"), ("qa@acme.example", "10.71.0.2")):
        person = sign_in(app, email, address=address)
        assert 'href="/console/settings"' not in person.get("/console/inbox").text
        for path in ("/console/settings", "/console/settings/audit", "/console/settings/audit?actor=system"):
            refused = person.get(path)
            assert refused.status_code == 403 and "Your role cannot open this page." in refused.text, path
        token = csrf(person)
        made = person.post(
            "/console/settings/api-keys", data={"csrf": token, "name": "Mine", "role": "admin"}
        )
        assert made.status_code == 403 and "Your role cannot do this here." in made.text
        assert (
            person.post(f"/console/settings/api-keys/{key_id}/revoke", data={"csrf": token}).status_code
            == 403
        )
    assert keys_of(api, acme) == before


def test_another_tenants_admin_sees_and_touches_nothing(
    app: Any, api: TestClient, acme: str, admin: TestClient, boss: str
) -> None:
    key_id, secret = create_key(admin, "Acme only")
    other = new_tenant(api, "Other Shop")
    new_member(api, other, "owner@other.example", "admin")
    stranger = sign_in(app, "owner@other.example", address="10.72.0.1")
    page = stranger.get("/console/settings").text
    assert "Acme only" not in page and key_id not in page and secret[:10] not in page
    token = csrf(stranger, "/console/settings")
    gone = stranger.post(f"/console/settings/api-keys/{key_id}/revoke", data={"csrf": token})
    assert gone.status_code == 404 and "not found" in gone.text.lower()
    assert api.get("/v1/knowledge/sources", headers=auth(secret)).status_code == 200
    log = stranger.get("/console/settings/audit").text
    assert "api_key.create" not in log and key_id not in log and boss not in log
    filtered = stranger.get("/console/settings/audit", params={"actor": boss})
    assert (
        filtered.status_code == 200
        and 'id="no-events"' in filtered.text
        and 'id="total">0 entries' in filtered.text
    )
    assert key_id not in stranger.get("/console/settings/audit", params={"action": "api_key"}).text


def test_plan_and_credits_are_the_assist_balance(app: Any, api: TestClient) -> None:
    shop = api.post("/v1/tenants", json={"name": "Credits Shop"}, headers=auth(ADMIN_KEY)).json()
    key = shop["api_key"]
    new_member(api, key, "owner@credits.example", "admin")
    owner = sign_in(app, "owner@credits.example", address="10.73.0.1")
    for _ in range(2):  # the Writing Assistant: one credit each
        wrote = api.post("/v1/assist/write", json={"draft": "we open at 10:00"}, headers=auth(key))
        assert wrote.status_code == 200, wrote.text
    balance = api.get("/v1/assist/credits", headers=auth(key)).json()
    assert balance["used"] == 2
    page = owner.get("/console/settings").text
    assert f'<dd id="plan-name">{balance["plan"]}</dd>' in page
    assert f'<dd id="plan-period">{balance["period"]}</dd>' in page
    assert f'<dd id="plan-allowance">{balance["allowance"]}</dd>' in page
    assert '<dd id="plan-used">2</dd>' in page
    assert f'<dd id="plan-remaining">{balance["remaining"]}' in page
    assert f'<meter min="0" max="{balance["allowance"]}" value="2"' in page
    assert "Smart Reply" in page and "Writing Assistant" in page
    assert "unlimited" in page and "credits a month" in page  # the configured plans
    # Read-only: the platform admin moves the tenant to another plan, and the page says so.
    moved = api.patch(f"/v1/tenants/{shop['id']}", json={"plan": "unlimited"}, headers=auth(ADMIN_KEY))
    assert moved.status_code == 200, moved.text
    page = owner.get("/console/settings").text
    assert '<dd id="plan-name">unlimited</dd>' in page and '<dd id="plan-allowance">Unlimited</dd>' in page
    assert "<meter" not in page
    switch_language(owner, "zh-Hant", "/console/settings")
    chinese = owner.get("/console/settings").text
    assert "計劃及點數" in chinese and "API 金鑰" in chinese and ">設定</a>" in chinese


def test_the_audit_log_is_newest_first_filtered_and_paged(
    monkeypatch: pytest.MonkeyPatch, api: TestClient, acme: str, admin: TestClient, boss: str
) -> None:
    first_key = keys_of(api, acme)[0]
    made = [create_key(admin, f"Paged {n}")[0] for n in range(3)]
    api.post("/v1/api-keys", json={"role": "staff", "name": "By the API"}, headers=auth(acme))
    newest = audit(api, acme, limit="1000")
    log = admin.get("/console/settings/audit")
    assert log.status_code == 200
    shown = re.findall(r'<tr id="event-(\w+)" data-action="([\w.]+)" data-actor="([\w:]+)">', log.text)
    assert [e for e, _, _ in shown] == [e["id"] for e in newest][: settings_routes.PAGE]
    assert f'id="total">{len(newest)} entries' in log.text
    assert "the API key first admin key" in html.unescape(log.text)  # a key's actor, by its name
    # By actor: the signed-in admin's own entries, exactly /v1/audit's.
    mine = admin.get("/console/settings/audit", params={"actor": boss}).text
    rows = re.findall(r'data-actor="([\w:]+)"', mine)
    assert rows and set(rows) == {boss}
    assert len(rows) == len(audit(api, acme, actor=boss, limit="1000"))
    by_key = admin.get("/console/settings/audit", params={"actor": f"key:{first_key['id']}"}).text
    assert set(re.findall(r'data-action="([\w.]+)"', by_key)) >= {"api_key.create", "staff_invitation.create"}
    # By action: itself, or every action of a kind of record.
    created = admin.get("/console/settings/audit", params={"action": "api_key.create"}).text
    assert set(re.findall(r'data-action="([\w.]+)"', created)) == {"api_key.create"}
    kinds = admin.get("/console/settings/audit", params={"action": "api_key"}).text
    assert set(re.findall(r'data-action="([\w.]+)"', kinds)) == {"api_key.create", "api_key.revoke"}
    assert 'id="no-events"' in admin.get("/console/settings/audit", params={"action": "api"}).text
    # Paging with the list's own pager, the filters kept.
    monkeypatch.setattr(settings_routes, "PAGE", 2)
    wanted = audit(api, acme, action="api_key", limit="1000")
    seen: list[str] = []
    page, pages = 1, -(-len(wanted) // 2)
    while True:
        body = admin.get("/console/settings/audit", params={"action": "api_key", "page": str(page)}).text
        seen += re.findall(r'<tr id="event-(\w+)"', body)
        assert f"Page {page} of {pages}" in body
        following = re.search(r'<a href="([^"]+)" rel="next">', body)
        if not following:
            break
        assert html.unescape(following.group(1)) == f"/console/settings/audit?action=api_key&page={page + 1}"
        page += 1
    assert seen == [e["id"] for e in wanted] and page == pages
    assert set(made) <= {e["entity_id"] for e in wanted}
    beyond = admin.get("/console/settings/audit", params={"action": "api_key", "page": str(pages + 1)})
    assert beyond.status_code == 200 and 'id="no-events"' in beyond.text
    assert admin.get("/console/settings/audit", params={"page": "0"}).status_code == 422
