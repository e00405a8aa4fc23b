"""GDPR through the HTTP API: export everything held about a contact, then erase it and find nothing of it
anywhere: no table row, no raw webhook delivery, no agent memory; the erasure itself is audited."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, table, text

from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import delivery, post, setup_channel, text_message
from tests.conftest import auth, ingested, new_tenant, services, settle

NEEDLES = ("kerry", "85291234567", "evening calls", "arrived broken")


def traces(client: TestClient) -> list[str]:
    """Every place in the database (and the agent's checkpoint file) where a needle still appears."""
    found = []
    engine = services(client).core.db.engine
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            for row in connection.execute(select(text("*")).select_from(table(name))):
                blob = " ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                ).lower()
                found += [f"{name}: {needle}" for needle in NEEDLES if needle in blob]
    checkpoints = Path(services(client).settings.data_dir) / "checkpoints.db"
    if checkpoints.exists():
        with sqlite3.connect(checkpoints) as db:
            for (name,) in db.execute("select name from sqlite_master where type='table'"):
                for row in db.execute(f'select * from "{name}"'):  # noqa: S608 (names from sqlite_master)
                    blob = " ".join(
                        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                    ).lower()
                    found += [f"checkpoints.{name}: {needle}" for needle in NEEDLES if needle in blob]
    return found


def test_export_then_erase_leaves_nothing_retrievable(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    with TestClient(app_factory(whatsapp_api_base=fake.url)) as client:
        admin = new_tenant(client)
        channel = setup_channel(client, admin)["id"]
        post(
            client, channel, delivery([text_message("wamid.k1", "My order arrived broken, I want a refund")])
        )
        settle(client)
        [contact] = client.get("/v1/contacts", headers=auth(admin)).json()["items"]
        cid = contact["id"]
        assert contact["phone"] == "85291234567" or contact["name"] == "Kerry"
        client.patch(f"/v1/contacts/{cid}", json={"email": "kerry@example.com"}, headers=auth(admin))
        client.post(f"/v1/contacts/{cid}/notes", json={"text": "Prefers evening calls"}, headers=auth(admin))
        someone_else = client.post(
            "/v1/contacts", json={"name": "Sam", "email": "sam@example.com"}, headers=auth(admin)
        )
        assert traces(client)  # the needles are there to begin with

        staff = client.post("/v1/api-keys", json={"role": "staff"}, headers=auth(admin)).json()["api_key"]
        assert client.get(f"/v1/contacts/{cid}/export", headers=auth(staff)).status_code == 403
        exported = client.get(f"/v1/contacts/{cid}/export", headers=auth(admin)).json()
        assert exported["contact"]["email"] == "kerry@example.com"
        assert [n["text"] for n in exported["notes"]] == ["Prefers evening calls"]
        said = [m["text"] for c in exported["conversations"] for m in c["messages"]]
        assert "My order arrived broken, I want a refund" in said and len(said) == 2
        assert exported["tickets"][0]["type"] == "refund" and exported["changes"]

        assert client.post(f"/v1/contacts/{cid}/erase", headers=auth(staff)).status_code == 403
        erased = client.post(f"/v1/contacts/{cid}/erase", headers=auth(admin))
        assert erased.status_code == 200 and erased.json()["removed"]["messages"] == 2
        assert client.get(f"/v1/contacts/{cid}", headers=auth(admin)).status_code == 404
        assert client.get(f"/v1/contacts/{cid}/export", headers=auth(admin)).status_code == 404
        assert client.get("/v1/inbox/conversations", headers=auth(admin)).json()["total"] == 0
        [ticket] = client.get("/v1/tickets", headers=auth(admin)).json()["items"]  # kept as a business record
        assert ticket["subject"] == "[erased]" and ticket["contact_id"] is None
        audit = client.get("/v1/audit", params={"entity_id": cid}, headers=auth(admin)).json()
        assert audit[0]["action"] == "contact.erase" and audit[0]["actor"].startswith("key:")
        assert traces(client) == []
        # someone else's data is untouched
        assert (
            client.get(f"/v1/contacts/{someone_else.json()['id']}", headers=auth(admin)).json()["name"]
            == "Sam"
        )
        ingested(client)


def test_erasure_is_per_tenant(client: TestClient) -> None:
    mine, theirs = new_tenant(client, "Mine"), new_tenant(client, "Theirs")
    contact = client.post("/v1/contacts", json={"name": "Kerry"}, headers=auth(mine)).json()
    assert client.post(f"/v1/contacts/{contact['id']}/erase", headers=auth(theirs)).status_code == 404
    assert client.get(f"/v1/contacts/{contact['id']}/export", headers=auth(theirs)).status_code == 404
    assert client.get(f"/v1/contacts/{contact['id']}", headers=auth(mine)).status_code == 200
