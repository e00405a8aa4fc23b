"""Contacts and custom attributes through the HTTP API: typed validation, uniqueness, tags, notes, the
timeline, the audit log, roles, and one tenant never seeing another's contacts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant


def staff_key(client: TestClient, admin: str) -> str:
    created = client.post("/v1/api-keys", json={"role": "staff", "name": "Mandy"}, headers=auth(admin))
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


def define(client: TestClient, api_key: str, **body: Any) -> Any:
    return client.post("/v1/attributes", json=body, headers=auth(api_key))


def new_contact(client: TestClient, key: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/contacts", json=fields, headers=auth(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_custom_attributes_are_typed_and_validated_on_write(client: TestClient) -> None:
    admin = new_tenant(client)
    assert (
        define(
            client, admin, key="plan", label="Plan", type="single_choice", options=["basic", "premium"]
        ).status_code
        == 201
    )
    assert define(client, admin, key="budget", label="Budget (HKD)", type="number").status_code == 201
    assert define(client, admin, key="renewal", label="Renewal", type="date").status_code == 201
    assert define(client, admin, key="vip", label="VIP", type="boolean").status_code == 201
    assert (
        define(
            client,
            admin,
            key="interests",
            label="Interests",
            type="multi_choice",
            options=["facial", "nails"],
        ).status_code
        == 201
    )
    bad = define(client, admin, key="plan", label="again", type="text")
    assert bad.status_code == 409 and "plan" in bad.json()["error"]["message"]
    assert define(client, admin, key="email", label="x", type="text").status_code == 422  # a built-in field
    assert (
        define(client, admin, key="tier", label="Tier", type="single_choice").status_code == 422
    )  # no options
    assert define(client, admin, key="Bad Key", label="x", type="text").status_code == 422

    contact = new_contact(
        client,
        admin,
        first_name="Kerry",
        phone="+852 9123 4567",
        email="Kerry@Example.com",
        attributes={
            "plan": "premium",
            "budget": "12,000",
            "renewal": "2026-12-01",
            "vip": "yes",
            "interests": "facial, nails",
        },
    )
    assert contact["phone"] == "+85291234567" and contact["email"] == "kerry@example.com"
    assert contact["attributes"] == {
        "plan": "premium",
        "budget": 12000,
        "renewal": "2026-12-01",
        "vip": True,
        "interests": ["facial", "nails"],
    }
    for attributes, named in (
        ({"plan": "gold"}, "plan"),
        ({"budget": "lots"}, "budget"),
        ({"renewal": "next week"}, "renewal"),
        ({"vip": "maybe"}, "vip"),
        ({"interests": ["massage"]}, "interests"),
        ({"shoe_size": 7}, "shoe_size"),
    ):
        response = client.patch(
            f"/v1/contacts/{contact['id']}", json={"attributes": attributes}, headers=auth(admin)
        )
        assert response.status_code == 422 and named in response.json()["error"]["message"], (
            attributes,
            response.text,
        )
    # nothing of the refused writes landed
    assert (
        client.get(f"/v1/contacts/{contact['id']}", headers=auth(admin)).json()["attributes"]
        == contact["attributes"]
    )
    cleared = client.patch(
        f"/v1/contacts/{contact['id']}", json={"attributes": {"vip": None}}, headers=auth(admin)
    )
    assert "vip" not in cleared.json()["attributes"] and cleared.json()["attributes"]["plan"] == "premium"


def test_built_in_fields_are_checked_and_email_and_phone_are_unique(client: TestClient) -> None:
    admin = new_tenant(client)
    first = new_contact(client, admin, name="Kerry Chan", email="kerry@example.com", phone="85291234567")
    for fields, named in (
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"shoe": "9"}, "shoe"),
    ):
        response = client.post("/v1/contacts", json=fields, headers=auth(admin))
        assert response.status_code == 422 and named in response.json()["error"]["message"]
    duplicate = client.post("/v1/contacts", json={"email": "KERRY@example.com"}, headers=auth(admin))
    assert duplicate.status_code == 409 and first["id"] in duplicate.json()["error"]["message"]
    second = new_contact(client, admin, name="Sam")
    taken = client.patch(
        f"/v1/contacts/{second['id']}", json={"phone": "+852-9123-4567"}, headers=auth(admin)
    )
    assert taken.status_code == 409


def test_search_by_text_tag_owner_and_attribute(client: TestClient) -> None:
    admin = new_tenant(client)
    define(client, admin, key="plan", label="Plan", type="single_choice", options=["basic", "premium"])
    define(client, admin, key="industry", label="Industry", type="text")
    a = new_contact(
        client,
        admin,
        name="陳大文",
        company="Harbour Tech",
        tags=["vip"],
        owner="mandy",
        attributes={"plan": "premium", "industry": "tech"},
    )
    new_contact(
        client, admin, name="Sam Lee", tags=["vip-lite"], attributes={"plan": "basic", "industry": "tech"}
    )
    new_contact(client, admin, name="Ann Ho", attributes={"plan": "premium", "industry": "retail"})

    def ids(**params: str) -> list[str]:
        body = client.get("/v1/contacts", params=params, headers=auth(admin)).json()
        assert body["total"] == len(body["items"])
        return [c["id"] for c in body["items"]]

    assert ids(q="陳") == [a["id"]] and ids(q="harbour") == [a["id"]]
    assert ids(tag="vip") == [a["id"]]  # not vip-lite
    assert ids(owner="mandy") == [a["id"]]
    assert ids(**{"attr.plan": "premium", "attr.industry": "tech"}) == [a["id"]]
    assert len(ids()) == 3
    page = client.get("/v1/contacts", params={"limit": 2, "offset": 2}, headers=auth(admin)).json()
    assert page["total"] == 3 and len(page["items"]) == 1


def test_tags_notes_timeline_and_audit(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = staff_key(client, admin)
    contact = new_contact(client, staff, name="Kerry")
    tagged = client.post(
        f"/v1/contacts/{contact['id']}/tags", json={"tags": ["vip", "hk", "vip"]}, headers=auth(staff)
    )
    assert tagged.json()["tags"] == ["vip", "hk"]
    assert client.delete(f"/v1/contacts/{contact['id']}/tags/hk", headers=auth(staff)).json()["tags"] == [
        "vip"
    ]
    assert client.delete(f"/v1/contacts/{contact['id']}/tags/nope", headers=auth(staff)).status_code == 404
    bad_tag = client.post(
        f"/v1/contacts/{contact['id']}/tags", json={"tags": ['"quoted"']}, headers=auth(staff)
    )
    assert bad_tag.status_code == 422
    note = client.post(
        f"/v1/contacts/{contact['id']}/notes", json={"text": "Prefers evening calls"}, headers=auth(staff)
    )
    assert note.status_code == 201
    client.patch(f"/v1/contacts/{contact['id']}", json={"company": "Lotus Glow"}, headers=auth(staff))

    entries = client.get(f"/v1/contacts/{contact['id']}/timeline", headers=auth(staff)).json()["entries"]
    kinds = [(e["kind"], e.get("action")) for e in entries]
    assert (
        ("note", None) in kinds
        and ("change", "contact.update") in kinds
        and ("change", "contact.tag") in kinds
    )
    update = next(e for e in entries if e.get("action") == "contact.update")
    assert update["before"] == {"company": None} and update["after"] == {"company": "Lotus Glow"}

    assert client.get("/v1/audit", headers=auth(staff)).status_code == 403  # the audit log is for admins
    audit = client.get(
        "/v1/audit", params={"entity": "contact", "entity_id": contact["id"]}, headers=auth(admin)
    ).json()
    assert {e["action"] for e in audit} >= {
        "contact.create",
        "contact.tag",
        "contact.untag",
        "contact.note",
        "contact.update",
    }
    assert all(e["actor"].startswith("key:") for e in audit)


def test_roles_staff_cannot_define_attributes_or_delete_contacts(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = staff_key(client, admin)
    assert define(client, staff, key="plan", label="Plan", type="text").status_code == 403
    contact = new_contact(client, staff, name="Kerry")
    assert client.delete(f"/v1/contacts/{contact['id']}", headers=auth(staff)).status_code == 403
    assert client.delete(f"/v1/contacts/{contact['id']}", headers=auth(admin)).status_code == 204
    settings = client.get("/v1/agent/settings", headers=auth(admin)).json()
    assert client.put("/v1/agent/settings", json=settings, headers=auth(staff)).status_code == 403
    assert client.get(f"/v1/contacts/{contact['id']}", headers=auth(admin)).status_code == 404


def test_another_tenant_can_neither_read_nor_change_contacts(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    define(client, mine, key="plan", label="Plan", type="text")
    contact = new_contact(client, mine, name="Kerry", email="kerry@example.com")
    cid = contact["id"]
    for method, path, body in (
        ("GET", f"/v1/contacts/{cid}", None),
        ("PATCH", f"/v1/contacts/{cid}", {"name": "stolen"}),
        ("DELETE", f"/v1/contacts/{cid}", None),
        ("POST", f"/v1/contacts/{cid}/tags", {"tags": ["x"]}),
        ("DELETE", f"/v1/contacts/{cid}/tags/x", None),
        ("POST", f"/v1/contacts/{cid}/notes", {"text": "x"}),
        ("GET", f"/v1/contacts/{cid}/notes", None),
        ("GET", f"/v1/contacts/{cid}/timeline", None),
    ):
        response = client.request(method, path, json=body, headers=auth(theirs))
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get("/v1/contacts", headers=auth(theirs)).json()["total"] == 0
    assert client.get("/v1/attributes", headers=auth(theirs)).json() == []
    assert client.delete("/v1/attributes/plan", headers=auth(theirs)).status_code == 404
    assert client.get("/v1/audit", headers=auth(theirs)).json() == []
    # the same email is free in another tenant
    assert (
        client.post("/v1/contacts", json={"email": "kerry@example.com"}, headers=auth(theirs)).status_code
        == 201
    )
    assert client.get(f"/v1/contacts/{cid}", headers=auth(mine)).json()["name"] == "Kerry"


def test_a_customer_message_shows_on_the_contacts_timeline_and_sets_last_contacted(
    client: TestClient,
) -> None:
    admin = new_tenant(client)
    chat = client.post(
        "/v1/agent/chat",
        json={"message": "Do you open on Sundays?", "contact": {"external_id": "web:kerry", "name": "Kerry"}},
        headers=auth(admin),
    )
    assert chat.status_code == 200, chat.text
    [contact] = client.get("/v1/contacts", params={"q": "kerry"}, headers=auth(admin)).json()["items"]
    assert contact["last_contacted_at"] is not None
    entries = client.get(f"/v1/contacts/{contact['id']}/timeline", headers=auth(admin)).json()["entries"]
    said = [(e["role"], e["text"]) for e in entries if e["kind"] == "message"]
    assert ("customer", "Do you open on Sundays?") in said and any(role == "agent" for role, _ in said)


def test_export_contacts_as_csv(client: TestClient) -> None:
    import csv
    import io

    admin = new_tenant(client)
    staff = staff_key(client, admin)
    define(
        client, admin, key="interests", label="Interests", type="multi_choice", options=["facial", "nails"]
    )
    new_contact(
        client,
        admin,
        name="陳大文",
        email="tai@example.com",
        tags=["vip", "hk"],
        attributes={"interests": ["facial", "nails"]},
    )
    new_contact(client, admin, name="Sam", phone="+852 9123 4567", opted_out=True)
    assert client.get("/v1/contacts/export.csv", headers=auth(staff)).status_code == 403
    response = client.get("/v1/contacts/export.csv", headers=auth(admin))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")  # Excel opens UTF-8 Chinese correctly with a BOM
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert [r["name"] for r in rows] == ["陳大文", "Sam"]
    assert (
        rows[0]["email"] == "tai@example.com"
        and rows[0]["tags"] == "vip|hk"
        and rows[0]["interests"] == "facial|nails"
    )
    assert rows[1]["interests"] == "" and rows[1]["email"] == ""
    assert [r["opted_out"] for r in rows] == ["no", "yes"]
    # the file imports as it is into another account, and the opt-out comes with it
    other = new_tenant(client, "Other")
    imported = client.post(
        "/v1/contacts/import",
        files={"file": ("contacts.csv", response.content, "text/csv")},
        headers=auth(other),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2, imported.json()
    [sam] = client.get("/v1/contacts", params={"q": "Sam"}, headers=auth(other)).json()["items"]
    assert sam["opted_out"] is True and sam["phone"] == rows[1]["phone"]


def test_an_exported_cell_a_spreadsheet_would_run_is_written_as_text(client: TestClient) -> None:
    import csv
    import io

    admin = new_tenant(client)
    new_contact(client, admin, name='=HYPERLINK("http://evil.example","Click")', company="@SUM(A1)")
    new_contact(client, admin, name="Sam", phone="+852 9123 4567")
    response = client.get("/v1/contacts/export.csv", headers=auth(admin))
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert (
        rows[0]["name"] == '\'=HYPERLINK("http://evil.example","Click")' and rows[0]["company"] == "'@SUM(A1)"
    )
    assert rows[1]["phone"].startswith("+852")  # a phone number is not a formula: left as it is
