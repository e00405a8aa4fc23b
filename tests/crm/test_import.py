"""Bulk contact import through the HTTP API: mapping, dry run, per-row errors (bad values, wrong types,
duplicates) reported without rejecting the good rows, merging into existing contacts, XLSX, bad requests."""

from __future__ import annotations

import io
import json
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.conftest import auth, new_tenant
from tests.crm.test_contacts import define, new_contact, staff_key

CSV = (
    "Name,E-mail,Mobile,Plan,Tags,Ignored\n"
    "Kerry Chan,kerry@example.com,+852 9123 4567,premium,vip|hk,x\n"  # row 2: good
    "Bad Email,not-an-email,,basic,,x\n"  # row 3: bad email
    "Wrong Plan,wp@example.com,,gold,,x\n"  # row 4: not an option
    "Kerry Again,KERRY@example.com,,basic,,x\n"  # row 5: duplicate of row 2
    ",,,,,\n"  # an empty row is not a row
    "Sam Existing,sam@example.com,,basic,new,x\n"  # row 7: merges into the existing Sam
    "陳大文,tai@example.com,85261234567,,,x\n"  # row 8: good, Chinese
)
MAPPING = {
    "Name": "name",
    "E-mail": "email",
    "Mobile": "phone",
    "Plan": "attributes.plan",
    "Tags": "tags",
    "Ignored": "",
}


def upload(client: TestClient, key: str, data: bytes, name: str = "contacts.csv", **form: Any) -> Any:
    fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in form.items()}
    return client.post("/v1/contacts/import", files={"file": (name, data)}, data=fields, headers=auth(key))


def test_dry_run_then_import_with_per_row_errors(client: TestClient) -> None:
    admin = new_tenant(client)
    define(client, admin, key="plan", label="Plan", type="single_choice", options=["basic", "premium"])
    sam = new_contact(client, admin, name="Sam", email="sam@example.com", tags=["old"])

    dry = upload(client, admin, CSV.encode(), mapping=MAPPING, dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["rows"], report["created"], report["updated"], report["skipped"], report["failed"]) == (
        6,
        2,
        1,
        1,
        2,
    )
    assert {e["row"]: e["message"].split(" ")[0] for e in report["errors"]} == {
        3: "email",
        4: "attribute",
        5: "duplicate",
    }
    assert report["preview"][0] == {
        "row": 2,
        "name": "Kerry Chan",
        "email": "kerry@example.com",
        "phone": "+85291234567",
        "tags": ["vip", "hk"],
        "attributes": {"plan": "premium"},
    }
    assert client.get("/v1/contacts", headers=auth(admin)).json()["total"] == 1  # a dry run writes nothing

    done = upload(client, admin, CSV.encode(), mapping=MAPPING).json()
    assert (done["created"], done["updated"], done["failed"]) == (2, 1, 2)
    contacts = {c["name"]: c for c in client.get("/v1/contacts", headers=auth(admin)).json()["items"]}
    assert set(contacts) == {"Sam Existing", "Kerry Chan", "陳大文"}
    assert contacts["Sam Existing"]["id"] == sam["id"] and contacts["Sam Existing"]["tags"] == ["old", "new"]
    assert contacts["Kerry Chan"]["attributes"] == {"plan": "premium"}
    again = upload(client, admin, CSV.encode(), mapping=MAPPING, on_duplicate="skip").json()
    assert (again["created"], again["updated"], again["skipped"]) == (
        0,
        0,
        4,
    )  # 3 known + 1 in-file duplicate
    audit = client.get(
        "/v1/audit", params={"entity": "contact", "entity_id": "import"}, headers=auth(admin)
    ).json()
    assert audit[-1]["after"]["created"] == 2 and len(audit) == 2  # dry runs are not audited


def test_xlsx_with_columns_named_like_fields(client: TestClient) -> None:
    admin = new_tenant(client)
    define(client, admin, key="budget", label="Budget (HKD)", type="number")
    book = Workbook()
    sheet = book.active
    sheet.append(["first_name", "email", "Budget (HKD)", "notes nobody maps"])
    sheet.append(["Ann", "ann@example.com", 12000, "x"])
    sheet.append(["Bo", "bo@example.com", "lots", "x"])
    data = io.BytesIO()
    book.save(data)
    report = upload(client, admin, data.getvalue(), name="contacts.xlsx").json()
    assert report["mapping"] == {
        "first_name": "first_name",
        "email": "email",
        "Budget (HKD)": "attributes.budget",
    }
    assert report["created"] == 1 and report["errors"] == [
        {"row": 3, "message": "attribute 'budget' is a number; got 'lots'"}
    ]


def test_bad_requests_are_refused_with_reasons(client: TestClient) -> None:
    admin = new_tenant(client)
    staff = staff_key(client, admin)
    assert upload(client, staff, CSV.encode()).status_code == 403
    for response, status, named in (
        (upload(client, admin, CSV.encode(), mapping="{oops"), 422, "mapping"),
        (upload(client, admin, CSV.encode(), mapping={"Nope": "email"}), 422, "Nope"),
        (upload(client, admin, CSV.encode(), mapping={"Name": "shoe_size"}), 422, "shoe_size"),
        (upload(client, admin, b"", name="empty.csv"), 422, "empty"),
        (upload(client, admin, b"a,b\n1,2\n"), 422, "no column"),
        (upload(client, admin, b"%PDF-1.4", name="contacts.pdf"), 415, ".xlsx"),
        (upload(client, admin, b"\xff\xfe\x00garbage", name="c.csv"), 422, "UTF-8"),
        (upload(client, admin, b"PK\x03\x04broken", name="c.xlsx"), 422, "XLSX"),
        (upload(client, admin, CSV.encode(), on_duplicate="merge"), 422, "on_duplicate"),
    ):
        assert response.status_code == status and named in response.json()["error"]["message"], response.text
    assert client.get("/v1/contacts", headers=auth(admin)).json()["total"] == 0


def test_import_never_touches_another_tenant(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    kerry = new_contact(client, mine, name="Kerry", email="kerry@example.com")
    report = upload(client, theirs, b"Name,Email\nStranger,kerry@example.com\n").json()
    assert report["created"] == 1 and report["updated"] == 0  # de-duplication is within the tenant
    assert client.get(f"/v1/contacts/{kerry['id']}", headers=auth(mine)).json()["name"] == "Kerry"
    assert client.get(f"/v1/contacts/{kerry['id']}/lead", headers=auth(theirs)).status_code == 404
    assert client.get(f"/v1/contacts/{kerry['id']}/timeline", headers=auth(theirs)).status_code == 404


def test_opt_outs_come_along_from_another_tool(client: TestClient) -> None:
    key = new_tenant(client)
    rows = "name,phone,opted_out\nAda,85291000001,yes\nBo,85291000002,no\nCy,85291000003,maybe\n"
    report = upload(client, key, rows.encode()).json()
    assert report["created"] == 2 and report["failed"] == 1
    assert report["errors"][0]["row"] == 4 and "opted_out is yes or no" in report["errors"][0]["message"]
    contacts = {c["name"]: c for c in client.get("/v1/contacts", headers=auth(key)).json()["items"]}
    assert contacts["Ada"]["opted_out"] is True and contacts["Bo"]["opted_out"] is False
