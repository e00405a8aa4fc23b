"""The console's pages by role: the navigation each role sees, Team (invite, role, remove) and Knowledge
(upload, add a URL, live status, search, delete), and that a user of one tenant sees nothing of another's."""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant, upload, wait_for
from tests.helpers.console import browser, csrf, hidden, new_member, sign_in

FAQ = (
    b"# Opening hours\n\nWe are open Monday to Saturday, 10am to 8pm.\n\n"
    b"# Parking\n\nFree parking is available in the basement car park for two hours.\n"
)


def nav(page: str) -> list[str]:
    block = page.split('class="sections"', 1)[1].split("</nav>", 1)[0] if 'class="sections"' in page else ""
    return re.findall(r'href="/console/([a-z]+)"', block)


def test_each_role_sees_its_sections_and_cannot_open_the_others(
    app: Any, api: TestClient, acme: str, admin: TestClient
) -> None:
    new_member(api, acme, "agent@acme.example", "agent")
    new_member(api, acme, "qa@acme.example", "qa")
    agent = sign_in(app, "agent@acme.example", address="10.21.0.1")
    qa = sign_in(app, "qa@acme.example", address="10.21.0.2")
    work = ["knowledge", "agent", "inbox", "contacts", "tickets", "broadcasts", "channels", "evals"]
    assert nav(admin.get("/console/knowledge").text) == [*work, "team", "settings"]
    assert agent.get("/console").headers["location"] == "/console/inbox"
    assert nav(agent.get("/console/inbox").text) == ["inbox", "contacts", "tickets"]
    assert nav(qa.get("/console/evals").text) == ["inbox", "evals"]
    for path in ("/console/team", "/console/knowledge", "/console/knowledge/sources", "/console/channels"):
        refused = agent.get(path)
        assert refused.status_code == 403 and "Your role cannot open this page." in refused.text, path
    assert qa.get("/console/team").status_code == 403
    forged = agent.post(
        "/console/team/invite", data={"csrf": csrf(agent), "email": "x@acme.example", "role": "admin"}
    )
    assert forged.status_code == 403 and "Your role cannot do this here." in forged.text
    unknown = admin.get("/console/nothing")
    assert unknown.status_code == 404 and "Not found." in unknown.text


def test_team_invites_changes_roles_and_removes(
    app: Any, api: TestClient, acme: str, admin: TestClient
) -> None:
    token = csrf(admin, "/console/team")
    bad = admin.post("/console/team/invite", data={"csrf": token, "email": "not-an-address", "role": "agent"})
    assert bad.status_code == 422 and 'id="e-email"' in bad.text and "Not a valid e-mail address." in bad.text
    taken = admin.post(
        "/console/team/invite", data={"csrf": token, "email": "boss@acme.example", "role": "agent"}
    )
    assert taken.status_code == 422 and "already has a Parley account" in taken.text
    invited = admin.post(
        "/console/team/invite", data={"csrf": token, "email": "new@acme.example", "role": "qa"}
    )
    assert invited.status_code == 200
    link = hidden_link(invited.text)
    person = browser(app, "10.22.0.1")
    page = person.get(link)
    accepted = person.post(
        link,
        data={
            "password": "a long password",
            "confirm": "a long password",
            "form_token": hidden(page.text, "form_token"),
        },
    )
    assert accepted.status_code == 303
    users = api.get("/v1/staff/users", headers=auth(acme)).json()["users"]
    new = next(u for u in users if u["email"] == "new@acme.example")
    assert new["role"] == "qa"
    assert (
        admin.post(f"/console/team/users/{new['id']}/role", data={"csrf": token, "role": "agent"}).status_code
        == 303
    )
    assert person.get("/console").headers["location"] == "/console/inbox"  # the new role holds at once
    removed = admin.post(f"/console/team/users/{new['id']}/remove", data={"csrf": token})
    assert removed.status_code == 303 and removed.headers["location"] == "/console/team?notice=user_removed"
    assert person.get("/console/inbox").status_code == 303  # signed out with the account
    boss = next(u for u in users if u["email"] == "boss@acme.example")
    self_removal = admin.post(f"/console/team/users/{boss['id']}/remove", data={"csrf": token})
    assert self_removal.status_code == 422 and "You cannot remove yourself." in self_removal.text
    last = admin.post(f"/console/team/users/{boss['id']}/role", data={"csrf": token, "role": "agent"})
    assert last.status_code == 409 and "cannot change the role of the last admin" in last.text
    audit = api.get("/v1/audit?entity=staff_user", headers=auth(acme)).json()
    assert {"staff_user.role", "staff_user.remove"} <= {
        e["action"] for e in audit if e["actor"] == f"user:{boss['id']}"
    }


def hidden_link(page: str) -> str:
    found = re.search(r'id="invite-link"[^>]*value="http://testserver(/console/invite/[^"]+)"', page)
    assert found, "the invitation link is shown"
    return found.group(1)


def wait_ready(admin: TestClient, name: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = admin.get("/console/knowledge/sources").text
        status = re.search(rf'data-status="(\w+)">\s*<td[^>]*class="name">{re.escape(name)}<', rows)
        if status and status.group(1) in ("ready", "failed"):
            return status.group(1)
        time.sleep(0.1)
    raise AssertionError(f"{name} not indexed after {timeout}s")


def test_knowledge_uploads_shows_status_searches_and_deletes(admin: TestClient) -> None:
    token = csrf(admin, "/console/knowledge")
    none = admin.post("/console/knowledge/upload", data={"csrf": token})
    assert none.status_code == 422 and 'id="e-files"' in none.text
    sent = admin.post(
        "/console/knowledge/upload",
        data={"csrf": token},
        files=[
            ("files", ("faq.md", FAQ)),
            ("files", ("notes.txt", b"Gift cards never expire.")),
            ("files", ("virus.exe", b"MZ")),
        ],
    )
    assert sent.status_code == 200 and "virus.exe: unsupported file type" in sent.text  # the others went in
    assert "2 file(s) queued for indexing." in sent.text
    assert 'data-live="1"' in sent.text  # the page refreshes the table while they are indexed
    assert wait_ready(admin, "faq.md") == "ready" and wait_ready(admin, "notes.txt") == "ready"
    page = admin.get("/console/knowledge")
    assert "2 of 10 sources" in page.text and "PDFs up to 1000 pages" in page.text
    found = admin.get("/console/knowledge", params={"q": "where can I park?"})
    hits = re.findall(
        r'<li class="hit">.*?<strong>([^<]+)</strong>\s*<span class="score">score ([0-9.]+)', found.text, re.S
    )
    assert hits and hits[0][0] == "faq.md" and float(hits[0][1]) > 0 and "basement car park" in found.text
    assert (
        "at most 2,000 characters" in admin.get("/console/knowledge", params={"q": "x" * 2001}).text.lower()
    )
    private = admin.post(
        "/console/knowledge/remote", data={"csrf": token, "kind": "url", "origin": "http://127.0.0.1/admin"}
    )
    assert private.status_code == 422 and 'id="e-origin"' in private.text
    notes = re.search(r'id="source-(\w+)" data-status="ready">\s*<td[^>]*class="name">notes.txt<', page.text)
    assert notes
    deleted = admin.post(f"/console/knowledge/sources/{notes.group(1)}/delete", data={"csrf": token})
    assert deleted.status_code == 303 and "notes.txt" not in admin.get("/console/knowledge").text


def test_a_user_of_one_tenant_sees_nothing_of_another(app: Any, api: TestClient, admin: TestClient) -> None:
    other_key = new_tenant(api, "Other Shop")
    theirs = upload(api, other_key, "secret-prices.md", b"# Prices\n\nThe secret VIP price is HK$1.")
    new_member(api, other_key, "owner@other.example", "admin")
    other_admin = sign_in(app, "owner@other.example", address="10.23.0.1")
    assert "secret-prices.md" not in admin.get("/console/knowledge").text
    assert "secret-prices.md" in other_admin.get("/console/knowledge").text
    token = csrf(admin, "/console/knowledge")
    for action in ("delete", "sync"):
        refused = admin.post(f"/console/knowledge/sources/{theirs['id']}/{action}", data={"csrf": token})
        assert refused.status_code == 404, action
    assert wait_for(api, other_key, theirs["id"])["status"] == "ready"
    assert "HK$1." in other_admin.get("/console/knowledge", params={"q": "secret VIP price"}).text
    assert "HK$1." not in admin.get("/console/knowledge", params={"q": "secret VIP price"}).text
    assert "owner@other.example" not in admin.get("/console/team").text
    other_users = api.get("/v1/staff/users", headers=auth(other_key)).json()["users"]
    refused_role = admin.post(
        f"/console/team/users/{other_users[0]['id']}/role", data={"csrf": token, "role": "agent"}
    )
    assert refused_role.status_code == 404
    assert api.get("/v1/staff/users", headers=auth(other_key)).json()["users"][0]["role"] == "admin"
