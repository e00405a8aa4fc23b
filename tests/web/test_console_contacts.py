"""The console's Contacts pages: search and filters, a contact's page and its edit form, notes and lists,
the import's mapping step, dry run and run, the export, roles, and another tenant's contacts."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.conftest import auth, new_tenant
from tests.helpers.console import csrf, hidden, new_member, sign_in, user_ref


@pytest.fixture(scope="module")
def acme(api: TestClient) -> str:
    key = new_tenant(api, "Acme Contacts")
    made = api.post(
        "/v1/attributes",
        json={"key": "plan", "label": "Plan", "type": "single_choice", "options": ["basic", "premium"]},
        headers=auth(key),
    )
    assert made.status_code == 201, made.text
    return key


@pytest.fixture(scope="module")
def admin(app: Any, api: TestClient, acme: str) -> TestClient:
    new_member(api, acme, "boss@contacts.example", "admin")
    return sign_in(app, "boss@contacts.example", address="10.40.0.1")


@pytest.fixture(scope="module")
def agent(app: Any, api: TestClient, acme: str) -> TestClient:
    new_member(api, acme, "agent@contacts.example", "agent")
    return sign_in(app, "agent@contacts.example", address="10.40.0.2")


def contact(api: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    made = api.post("/v1/contacts", json=fields, headers=auth(key))
    assert made.status_code == 201, made.text
    return dict(made.json())


@pytest.fixture(scope="module")
def people(api: TestClient, acme: str) -> dict[str, dict[str, Any]]:
    alice = contact(
        api,
        acme,
        name="Alice Wong",
        phone="+852 9123 4567",
        email="alice@shop.example",
        tags=["vip"],
        attributes={"plan": "premium"},
    )
    bob = contact(api, acme, name="Bob Lee", email="bob@shop.example", tags=["lead"])
    chan = contact(api, acme, name="陳大文", phone="+852 6111 2222", attributes={"plan": "basic"})
    made = api.post("/v1/lists", json={"name": "Spring fair"}, headers=auth(acme))
    assert made.status_code == 201
    added = api.post(
        f"/v1/lists/{made.json()['id']}/contacts", json={"contact_ids": [bob["id"]]}, headers=auth(acme)
    )
    assert added.status_code == 200
    return {"alice": alice, "bob": bob, "chan": chan, "list": made.json()}


def listed(page: str) -> set[str]:
    """The contact ids in the list's table."""
    return set(re.findall(r'<tr id="contact-([0-9a-z]+)"', page))


def test_search_and_filters_find_the_right_contacts(
    agent: TestClient, people: dict[str, dict[str, Any]]
) -> None:
    alice, bob, chan = people["alice"]["id"], people["bob"]["id"], people["chan"]["id"]
    everyone = agent.get("/console/contacts")
    assert everyone.status_code == 200 and listed(everyone.text) == {alice, bob, chan}
    assert "3 contact(s)" in everyone.text
    assert listed(agent.get("/console/contacts?q=alice").text) == {alice}
    assert listed(agent.get("/console/contacts?q=91234567").text) == {alice}  # phone digits
    assert listed(agent.get("/console/contacts?q=bob@shop").text) == {bob}  # e-mail
    assert listed(agent.get("/console/contacts?q=陳").text) == {chan}
    assert listed(agent.get("/console/contacts?tag=vip").text) == {alice}
    assert listed(agent.get(f"/console/contacts?list={people['list']['id']}").text) == {bob}
    assert listed(agent.get("/console/contacts?attr=plan&value=basic").text) == {chan}
    none = agent.get("/console/contacts?q=nobody-like-this")
    assert listed(none.text) == set() and 'id="no-contacts"' in none.text
    unknown = agent.get("/console/contacts?attr=shoe_size&value=42")
    assert unknown.status_code == 422
    assert 'id="e-attr"' in unknown.text and "No attribute shoe_size is defined." in unknown.text
    too_long = agent.get("/console/contacts?q=" + "x" * 201)
    assert too_long.status_code == 422 and 'id="e-q"' in too_long.text


def test_saved_views_keep_a_set_of_filters(
    agent: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    token = csrf(agent, "/console/contacts")
    filters = {"q": "", "tag": "vip", "owner": "", "list": "", "attr": "plan", "value": "premium"}
    saved = agent.post("/console/contacts/views", data={"csrf": token, "name": "VIP premium", **filters})
    assert saved.status_code == 303
    view_id = saved.headers["location"].split("view=", 1)[1]
    shown = agent.get(saved.headers["location"])
    assert listed(shown.text) == {people["alice"]["id"]}
    assert f'<option value="{view_id}" selected>VIP premium</option>' in shown.text
    views = api.get("/v1/views", headers=auth(acme)).json()
    assert [v["filters"]["attributes"] for v in views if v["id"] == view_id] == [{"plan": "premium"}]
    again = agent.post("/console/contacts/views", data={"csrf": token, "name": "VIP premium", **filters})
    assert again.status_code == 409 and 'id="e-view_name"' in again.text
    assert 'name="tag" value="vip"' in again.text  # the filters shown stay
    nameless = agent.post("/console/contacts/views", data={"csrf": token, "name": "", **filters})
    assert nameless.status_code == 422 and 'id="e-view_name"' in nameless.text
    assert agent.get("/console/contacts?view=nonexistent").status_code == 404


def test_paging_shows_fifty_a_page(app: Any, api: TestClient) -> None:
    key = new_tenant(api, "Many Contacts")
    for n in range(52):
        contact(api, key, name=f"Person {n:02d}")
    new_member(api, key, "admin@many.example", "admin")
    person = sign_in(app, "admin@many.example", address="10.40.0.9")
    first = person.get("/console/contacts")
    assert len(listed(first.text)) == 50 and "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = person.get("/console/contacts?page=2")
    assert len(listed(second.text)) == 2 and "Person 51" in second.text and "Person 00" not in second.text


def test_the_contact_page_shows_fields_attributes_tags_and_lists(
    agent: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    bob = people["bob"]["id"]
    ticket = api.post(
        "/v1/tickets",
        json={"type": "billing", "subject": "Charged twice", "contact_id": bob},
        headers=auth(acme),
    )
    assert ticket.status_code == 201
    page = agent.get(f"/console/contacts/{people['alice']['id']}")
    assert page.status_code == 200
    assert 'value="alice@shop.example"' in page.text and 'value="+85291234567"' in page.text
    assert '<option value="premium" selected>premium</option>' in page.text
    assert 'value="vip"' in page.text
    bobs = agent.get(f"/console/contacts/{bob}")
    assert "Spring fair" in bobs.text and "Charged twice" in bobs.text
    assert f'href="/console/tickets/{ticket.json()["id"]}"' in bobs.text
    assert agent.get("/console/contacts/nonexistent").status_code == 404


def test_editing_saves_fields_attributes_and_tags_as_the_user(
    agent: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    chan = people["chan"]["id"]
    token = csrf(agent, f"/console/contacts/{chan}")
    form = {
        "csrf": token,
        "name": "陳大文",
        "phone": "+852 6111 2222",
        "company": "大文茶餐廳",
        "attr-plan": "premium",
        "tags": "regular, 茶",
        "owner": user_ref(api, acme, "agent@contacts.example"),
    }
    saved = agent.post(f"/console/contacts/{chan}/edit", data=form)
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    shown = api.get(f"/v1/contacts/{chan}", headers=auth(acme)).json()
    assert shown["company"] == "大文茶餐廳" and shown["attributes"] == {"plan": "premium"}
    assert shown["tags"] == ["regular", "茶"] and shown["owner"] == form["owner"]
    assert listed(agent.get("/console/contacts", params={"owner": form["owner"]}).text) == {chan}
    events = api.get(f"/v1/audit?entity=contact&entity_id={chan}", headers=auth(acme)).json()
    assert any(e["action"] == "contact.update" and e["actor"].startswith("user:") for e in events)
    # Bad input: the store's message at the field, nothing saved.
    bad = agent.post(f"/console/contacts/{chan}/edit", data={**form, "phone": "12", "company": "Other"})
    assert bad.status_code == 422 and 'id="e-phone"' in bad.text and "is not a phone number" in bad.text
    assert 'value="Other"' in bad.text  # what was typed is shown again
    wrong_choice = agent.post(f"/console/contacts/{chan}/edit", data={**form, "attr-plan": "gold"})
    assert wrong_choice.status_code == 422 and 'id="e-attr-plan"' in wrong_choice.text
    taken = agent.post(f"/console/contacts/{chan}/edit", data={**form, "email": "alice@shop.example"})
    assert taken.status_code == 422 and 'id="e-email"' in taken.text
    assert api.get(f"/v1/contacts/{chan}", headers=auth(acme)).json()["company"] == "大文茶餐廳"
    forged = agent.post(f"/console/contacts/{chan}/edit", data={**form, "csrf": "nope", "company": "X"})
    assert forged.status_code == 403
    assert api.get(f"/v1/contacts/{chan}", headers=auth(acme)).json()["company"] == "大文茶餐廳"


def test_a_new_contact_from_the_console(agent: TestClient, api: TestClient, acme: str) -> None:
    token = csrf(agent, "/console/contacts/new")
    form = {
        "csrf": token,
        "name": "Ivy Tam",
        "email": "ivy@shop.example",
        "attr-plan": "basic",
        "tags": "new",
    }
    taken = agent.post("/console/contacts/new", data={**form, "email": "bob@shop.example"})
    assert taken.status_code == 422 and 'id="e-email"' in taken.text and 'value="Ivy Tam"' in taken.text
    bad = agent.post("/console/contacts/new", data={**form, "name": "x" * 201})
    assert bad.status_code == 422 and 'id="e-name"' in bad.text
    made = agent.post("/console/contacts/new", data=form)
    assert made.status_code == 303 and made.headers["location"].endswith("?notice=created")
    found = api.get("/v1/contacts?q=ivy@shop", headers=auth(acme)).json()["items"]
    assert [(c["name"], c["attributes"], c["tags"], c["phone"]) for c in found] == [
        ("Ivy Tam", {"plan": "basic"}, ["new"], None)
    ]
    assert agent.get(made.headers["location"]).text.count("Contact created.") == 1


def test_notes_and_static_lists_from_the_contact_page(
    agent: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    alice = people["alice"]["id"]
    token = csrf(agent, f"/console/contacts/{alice}")
    empty = agent.post(f"/console/contacts/{alice}/notes", data={"csrf": token, "text": "  "})
    assert empty.status_code == 422 and 'id="e-text"' in empty.text
    noted = agent.post(f"/console/contacts/{alice}/notes", data={"csrf": token, "text": "Prefers WhatsApp"})
    assert noted.status_code == 303
    page = agent.get(f"/console/contacts/{alice}").text
    assert "Prefers WhatsApp" in page and "Note by agent" in page
    list_id = people["list"]["id"]
    joined = agent.post(f"/console/contacts/{alice}/lists", data={"csrf": token, "list_id": list_id})
    assert joined.status_code == 303
    members = api.get(f"/v1/lists/{list_id}/contacts", headers=auth(acme)).json()["items"]
    assert alice in {m["id"] for m in members}
    left = agent.post(f"/console/contacts/{alice}/lists/{list_id}/remove", data={"csrf": token})
    assert left.status_code == 303
    members = api.get(f"/v1/lists/{list_id}/contacts", headers=auth(acme)).json()["items"]
    assert alice not in {m["id"] for m in members}


IMPORT = (
    "Full name,Mobile,E-mail,Plan\n"
    "Carol Chan,+852 9000 0001,carol@shop.example,basic\n"
    "Dave Ho,+852 9000 0002,not-an-email,premium\n"
    "Eve Yu,+852 9000 0003,eve@shop.example,gold\n"
    "Fay Lam,+852 9000 0004,fay@shop.example,premium\n"
)


def emails(api: TestClient, key: str) -> set[str]:
    items = api.get("/v1/contacts?limit=500", headers=auth(key)).json()["items"]
    return {c["email"] for c in items if c["email"]}


def test_import_maps_previews_with_row_errors_then_writes(
    admin: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    before = emails(api, acme)
    token = csrf(admin, "/console/contacts/import")
    uploaded = admin.post(
        "/console/contacts/import",
        data={"csrf": token, "on_duplicate": "update"},
        files={"file": ("people.csv", IMPORT.encode(), "text/csv")},
    )
    # No column is named like a field but "Plan" (the attribute's label): the importer's default mapping
    # reads only that, so every row is imported with a plan and nothing else.
    assert uploaded.status_code == 200, uploaded.text
    step = re.search(r'action="/console/contacts/import/([A-Za-z0-9_-]+)"', uploaded.text)
    assert step, uploaded.text
    path = f"/console/contacts/import/{step.group(1)}"
    assert '<option value="attributes.plan" selected>' in uploaded.text
    mapping = {"csrf": token, "filename": hidden(uploaded.text, "filename"), "on_duplicate": "update"}
    mapping |= {"map-0": "name", "map-1": "phone", "map-2": "email", "map-3": "attributes.plan"}
    preview = admin.post(path, data={**mapping, "step": "preview"})
    assert preview.status_code == 200 and "Dry run: nothing was written" in preview.text
    errors = dict(re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]+)</td></tr>", preview.text))
    assert set(errors) == {"3", "4"}, errors
    assert "not an email address" in errors["3"] and "gold" in errors["4"]
    assert "4 row(s): 2 new, 0 updated, 0 skipped, 2 with errors." in preview.text
    assert emails(api, acme) == before  # the dry run wrote nothing
    bad = admin.post(path, data={**mapping, "map-1": "shoe_size", "step": "preview"})
    assert bad.status_code == 422 and 'id="e-mapping"' in bad.text and "shoe_size" in bad.text
    ran = admin.post(path, data={**mapping, "step": "run"})
    assert ran.status_code == 200 and "Imported" in ran.text and "2 new" in ran.text
    assert emails(api, acme) == before | {"carol@shop.example", "fay@shop.example"}
    fay = api.get("/v1/contacts?q=fay@shop", headers=auth(acme)).json()["items"][0]
    assert fay["attributes"] == {"plan": "premium"} and fay["phone"] == "+85290000004"
    # The staged file is gone once it ran.
    assert admin.post(path, data={**mapping, "step": "run"}).status_code == 404


def test_an_xlsx_file_imports_with_the_columns_named_like_fields(
    admin: TestClient, api: TestClient, acme: str
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "email", "tags"])
    sheet.append(["黃小明", "siu.ming@shop.example", "xlsx|walk-in"])
    data = io.BytesIO()
    book.save(data)
    token = csrf(admin, "/console/contacts/import")
    uploaded = admin.post(
        "/console/contacts/import",
        data={"csrf": token},
        files={"file": ("people.xlsx", data.getvalue(), "application/octet-stream")},
    )
    assert uploaded.status_code == 200 and "1 row(s): 1 new" in uploaded.text
    assert "siu.ming@shop.example" not in emails(api, acme)
    step = re.search(r'action="(/console/contacts/import/[A-Za-z0-9_-]+)"', uploaded.text)
    assert step
    mapping = {"map-0": "name", "map-1": "email", "map-2": "tags", "filename": "people.xlsx"}
    ran = admin.post(step.group(1), data={"csrf": token, "step": "run", **mapping})
    assert ran.status_code == 200 and "Imported" in ran.text
    made = api.get("/v1/contacts?q=siu.ming", headers=auth(acme)).json()["items"]
    assert [(c["name"], c["tags"]) for c in made] == [("黃小明", ["xlsx", "walk-in"])]


def test_an_import_can_skip_existing_contacts_and_speaks_chinese(
    admin: TestClient, api: TestClient, acme: str, people: dict[str, dict[str, Any]]
) -> None:
    zh = {"accept-language": "zh-HK"}
    page = admin.get("/console/contacts/import", headers=zh)
    assert "匯入聯絡人" in page.text and "略過" in page.text
    token = hidden(page.text, "csrf")
    existing = "email,company\nalice@shop.example,New Co\n"
    skipped = admin.post(
        "/console/contacts/import",
        data={"csrf": token, "on_duplicate": "skip"},
        files={"file": ("again.csv", existing.encode(), "text/csv")},
        headers=zh,
    )
    assert skipped.status_code == 200 and "新增 0、更新 0、略過 1" in skipped.text
    step = re.search(r'action="(/console/contacts/import/[A-Za-z0-9_-]+)"', skipped.text)
    assert step
    mapping = {"map-0": "email", "map-1": "company", "on_duplicate": "skip"}
    ran = admin.post(step.group(1), data={"csrf": token, "step": "run", **mapping})
    assert ran.status_code == 200
    alice = api.get(f"/v1/contacts/{people['alice']['id']}", headers=auth(acme)).json()
    assert alice["company"] is None  # skipped, not updated


def test_import_refuses_a_wrong_file_at_the_field(admin: TestClient) -> None:
    token = csrf(admin, "/console/contacts/import")
    nothing = admin.post("/console/contacts/import", data={"csrf": token})
    assert nothing.status_code == 422 and 'id="e-file"' in nothing.text
    pdf = admin.post(
        "/console/contacts/import",
        data={"csrf": token},
        files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert pdf.status_code == 422 and 'id="e-file"' in pdf.text
    latin = admin.post(
        "/console/contacts/import",
        data={"csrf": token},
        files={"file": ("x.csv", "name\nJos\xe9\n".encode("latin-1"), "text/csv")},
    )
    assert latin.status_code == 422 and "UTF-8" in latin.text


def test_an_admin_deletes_a_contact_and_an_agent_cannot(
    admin: TestClient, agent: TestClient, api: TestClient, acme: str
) -> None:
    doomed = contact(api, acme, name="Temp Person", email="temp@shop.example")["id"]
    page = admin.get(f"/console/contacts/{doomed}")
    assert 'id="delete-contact"' in page.text
    assert 'id="delete-contact"' not in agent.get(f"/console/contacts/{doomed}").text
    refused = agent.post(
        f"/console/contacts/{doomed}/delete", data={"csrf": csrf(agent, "/console/contacts")}
    )
    assert refused.status_code == 403
    assert api.get(f"/v1/contacts/{doomed}", headers=auth(acme)).status_code == 200
    deleted = admin.post(f"/console/contacts/{doomed}/delete", data={"csrf": hidden(page.text, "csrf")})
    assert deleted.status_code == 303
    assert "Contact deleted." in admin.get(deleted.headers["location"]).text
    assert api.get(f"/v1/contacts/{doomed}", headers=auth(acme)).status_code == 404
    events = api.get(f"/v1/audit?entity=contact&entity_id={doomed}", headers=auth(acme)).json()
    assert any(e["action"] == "contact.delete" and e["actor"].startswith("user:") for e in events)


def test_export_downloads_every_contact(
    admin: TestClient, agent: TestClient, people: dict[str, dict[str, Any]]
) -> None:
    page = admin.get("/console/contacts")
    assert 'href="/console/contacts/export.csv"' in page.text
    exported = admin.get("/console/contacts/export.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id[people["alice"]["id"]]["email"] == "alice@shop.example"
    assert by_id[people["alice"]["id"]]["plan"] == "premium"
    assert people["chan"]["id"] in by_id
    # Import and export are for admins, as the API's (an admin key).
    assert "export.csv" not in agent.get("/console/contacts").text
    assert agent.get("/console/contacts/export.csv").status_code == 403
    assert agent.get("/console/contacts/import").status_code == 403


def test_roles_tenants_and_chinese(
    app: Any, api: TestClient, acme: str, agent: TestClient, people: dict[str, dict[str, Any]]
) -> None:
    new_member(api, acme, "qa@contacts.example", "qa")
    qa = sign_in(app, "qa@contacts.example", address="10.40.0.3")
    assert qa.get("/console/contacts").status_code == 403
    assert qa.get(f"/console/contacts/{people['alice']['id']}").status_code == 403
    other = new_tenant(api, "Other Contacts")
    theirs = contact(api, other, name="Their Customer", email="their@other.example")
    new_member(api, other, "admin@other-contacts.example", "admin")
    stranger = sign_in(app, "admin@other-contacts.example", address="10.40.0.4")
    assert "Alice Wong" not in stranger.get("/console/contacts").text
    assert stranger.get(f"/console/contacts/{people['alice']['id']}").status_code == 404
    token = csrf(stranger, "/console/contacts")
    edit = stranger.post(
        f"/console/contacts/{people['alice']['id']}/edit", data={"csrf": token, "company": "Hacked"}
    )
    assert edit.status_code == 404
    assert agent.get(f"/console/contacts/{theirs['id']}").status_code == 404
    chinese = agent.get("/console/contacts", headers={"accept-language": "zh-HK,zh;q=0.9"})
    assert chinese.status_code == 200 and "聯絡人" in chinese.text and "潛在客戶評分" in chinese.text
    page = agent.get(f"/console/contacts/{people['chan']['id']}", headers={"accept-language": "zh-HK"})
    assert "陳大文" in page.text and "時間線" in page.text


def test_conversations_link_to_the_inbox_and_the_lead_is_scored_again(
    agent: TestClient, api: TestClient, acme: str
) -> None:
    said = api.post(
        "/v1/agent/chat",
        json={
            "message": "I want to buy the premium package today",
            "contact": {"name": "Gigi Ho", "external_id": "gigi-1"},
        },
        headers=auth(acme),
    )
    assert said.status_code == 200, said.text
    conversation = said.json()["conversation_id"]
    found = api.get("/v1/contacts?q=Gigi", headers=auth(acme)).json()["items"]
    assert len(found) == 1
    gigi = found[0]["id"]
    page = agent.get(f"/console/contacts/{gigi}")
    assert f'href="/console/inbox/{conversation}"' in page.text
    assert "I want to buy the premium package today" in page.text  # the timeline
    token = csrf(agent, f"/console/contacts/{gigi}")
    scored = agent.post(f"/console/contacts/{gigi}/lead", data={"csrf": token})
    assert scored.status_code == 303 and scored.headers["location"].endswith("notice=scored")
    score = api.get(f"/v1/contacts/{gigi}/lead", headers=auth(acme)).json()["score"]
    assert score is not None
    shown = agent.get(f"/console/contacts/{gigi}").text
    assert f'<strong id="lead-score">{score}</strong>' in shown
