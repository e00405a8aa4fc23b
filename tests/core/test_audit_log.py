"""The audit log's store and GET /v1/audit: a tenant's entries newest first, filtered by record, actor and
action (itself or its record's prefix), paged by limit and offset with a count to page through; API keys
created and revoked through /v1 are entries of the key that did it; one tenant never sees another's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from core.audit import AuditEvent, AuditLog
from core.db import Database, make_engine, utcnow
from core.migrate import upgrade_to_head
from core.models import Tenant
from tests.conftest import ADMIN_KEY, auth, services
from tests.query_plans import select_plans


def tenant(client: TestClient, name: str) -> tuple[str, str]:
    body = client.post("/v1/tenants", json={"name": name}, headers=auth(ADMIN_KEY)).json()
    return body["id"], body["api_key"]


def log(client: TestClient, key: str, **query: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params=query, headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_keys_made_and_revoked_through_the_api_are_the_keys_entries(client: TestClient) -> None:
    _, admin = tenant(client, "Acme")
    me = client.get("/v1/api-keys", headers=auth(admin)).json()[0]["id"]
    made = client.post("/v1/api-keys", json={"role": "staff", "name": "Zapier"}, headers=auth(admin)).json()
    assert client.delete(f"/v1/api-keys/{made['id']}", headers=auth(admin)).status_code == 200
    assert client.delete(f"/v1/api-keys/{made['id']}", headers=auth(admin)).status_code == 200  # no change
    entries = log(client, admin, entity="api_key")
    assert [(e["action"], e["actor"], e["entity_id"]) for e in entries] == [
        ("api_key.revoke", f"key:{me}", made["id"]),
        ("api_key.create", f"key:{me}", made["id"]),
    ]
    assert entries[1]["after"] == {"name": "Zapier", "role": "staff", "prefix": made["prefix"]}
    assert made["api_key"] not in str(entries)
    assert log(client, admin, entity="api_key", entity_id=me) == []  # the tenant's first key: no entry


def test_filters_and_pages_newest_first(client: TestClient) -> None:
    tenant_id, admin = tenant(client, "Acme")
    _, other = tenant(client, "Other")
    me = f"key:{client.get('/v1/api-keys', headers=auth(admin)).json()[0]['id']}"
    for n in range(4):
        client.post("/v1/api-keys", json={"role": "staff", "name": f"k{n}"}, headers=auth(admin))
    client.post("/v1/api-keys", json={"role": "staff", "name": "theirs"}, headers=auth(other))
    client.post(
        "/v1/staff/invitations", json={"email": "a@acme.example", "role": "agent"}, headers=auth(admin)
    )
    audit = services(client).core.audit
    with services(client).core.db.session() as session:
        AuditLog.record(session, tenant_id, "system", "contact.update", "contact", "c1", {"a": 1}, {"a": 2})
        AuditLog.record(session, tenant_id, "agent", "contact_note.add", "contact", "c1")  # not contact.*
    everything = log(client, admin)
    assert len(everything) == 7 == audit.count(tenant_id)
    assert [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    assert everything[0]["action"] == "contact_note.add" and everything[-1]["after"]["name"] == "k0"
    assert "theirs" not in str(everything)
    # Paged: limit and offset walk the same order, without a gap or a repeat.
    pages = [log(client, admin, limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [e["id"] for page in pages for e in page] == [e["id"] for e in everything]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    # By actor, exactly; by action, itself or its record's prefix (no partial word).
    assert {e["actor"] for e in log(client, admin, actor=me)} == {me} and audit.count(
        tenant_id, actor=me
    ) == 5
    assert [e["action"] for e in log(client, admin, actor="system")] == ["contact.update"]
    assert log(client, admin, actor="key:") == [] and log(client, admin, actor="user:nobody") == []
    assert len(log(client, admin, action="api_key.create")) == 4 == audit.count(tenant_id, action="api_key")
    assert [e["action"] for e in log(client, admin, action="contact")] == ["contact.update"]
    assert log(client, admin, action="api") == [] and log(client, admin, action="%") == []
    assert log(client, admin, action="api_key", actor="system") == []
    assert [e["entity_id"] for e in log(client, admin, action="contact", entity_id="c1")] == ["c1"]
    assert client.get("/v1/audit?offset=-1", headers=auth(admin)).status_code == 422


def test_a_tenants_page_walks_its_index_in_order(tmp_path: Path) -> None:
    """Newest first from any offset, without sorting the tenant's entries (SQLite's plan; PostgreSQL has
    the same index)."""
    db = Database(make_engine(f"sqlite:///{tmp_path / 'audit.db'}"))
    upgrade_to_head(db.engine)
    audit = AuditLog(db)
    with db.session() as session:
        tenants = [Tenant(name="A"), Tenant(name="B")]
        session.add_all(tenants)
        session.flush()
        for n in range(30):
            for tenant in tenants:
                AuditLog.record(session, tenant.id, "system", "contact.update", "contact", str(n))
    a = tenants[0].id
    with db.session() as session:  # two entries at the same instant: the id orders them, newest first
        at = utcnow() + timedelta(days=1)
        for entity_id in ("x", "y"):
            AuditLog.record(session, a, "system", "contact.update", "contact", entity_id)
            session.flush()
        session.execute(update(AuditEvent).where(AuditEvent.entity_id.in_(("x", "y"))).values(at=at))
    first = audit.list(a, limit=2)
    assert [e.entity_id for e in first] == ["y", "x"]
    plans = select_plans(db.engine, lambda: audit.list(a, limit=10, offset=10), "audit_events")
    assert len(plans) == 1
    for plan in plans.values():
        assert "ix_audit_events_tenant_at" in plan and "TEMP B-TREE" not in plan, plan
    plans = select_plans(db.engine, lambda: audit.list(a, actor="system", limit=10), "audit_events")
    for plan in plans.values():
        assert "ix_audit_events_tenant_at" in plan and "TEMP B-TREE" not in plan, plan
    assert audit.count(a) == 32 and [e.entity_id for e in audit.list(a, limit=1, offset=31)] == ["0"]
