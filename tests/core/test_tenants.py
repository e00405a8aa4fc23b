"""Tenants and API keys through the HTTP API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from core.models import ApiKey
from tests.conftest import ADMIN_KEY, auth, new_tenant, services


def test_create_tenant_needs_the_platform_admin_key(client: TestClient) -> None:
    missing = client.post("/v1/tenants", json={"name": "Acme"})
    assert missing.status_code == 401
    assert "Authorization" in missing.json()["error"]["message"]
    wrong = client.post("/v1/tenants", json={"name": "Acme"}, headers=auth("pa_wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


def test_tenant_key_is_not_a_platform_key(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.post("/v1/tenants", json={"name": "Other"}, headers=auth(key))
    assert response.status_code == 401


def test_create_tenant_returns_a_working_admin_key(client: TestClient) -> None:
    response = client.post("/v1/tenants", json={"name": "Acme Beauty"}, headers=auth(ADMIN_KEY))
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Acme Beauty" and body["id"] and body["api_key"].startswith("pk_")
    listed = client.get("/v1/knowledge/sources", headers=auth(body["api_key"]))
    assert listed.status_code == 200 and listed.json() == {"sources": []}


def test_bad_tenant_name_is_a_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/v1/tenants", json={"name": ""}, headers=auth(ADMIN_KEY))
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("name")


def test_keys_are_stored_hashed(client: TestClient) -> None:
    key = new_tenant(client)
    core = services(client).core
    with core.db.session() as session:
        rows = session.scalars(select(ApiKey)).all()
    assert rows and all(key not in (r.key_hash, r.prefix) and len(r.key_hash) == 64 for r in rows)


def test_staff_keys_can_read_but_not_administer(client: TestClient) -> None:
    admin = new_tenant(client)
    created = client.post("/v1/api-keys", json={"role": "staff", "name": "agent"}, headers=auth(admin))
    assert created.status_code == 201
    staff = created.json()["api_key"]
    assert client.get("/v1/knowledge/sources", headers=auth(staff)).status_code == 200
    assert client.post("/v1/knowledge/search", json={"query": "hi"}, headers=auth(staff)).status_code == 200
    upload = client.post("/v1/knowledge/sources", files={"file": ("a.txt", b"hello")}, headers=auth(staff))
    assert upload.status_code == 403
    assert upload.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/api-keys", headers=auth(staff)).status_code == 403


def test_bad_role_is_rejected(client: TestClient) -> None:
    admin = new_tenant(client)
    response = client.post("/v1/api-keys", json={"role": "owner"}, headers=auth(admin))
    assert response.status_code == 422
    assert "role" in response.json()["error"]["message"]


def test_revoked_key_stops_working(client: TestClient) -> None:
    admin = new_tenant(client)
    created = client.post("/v1/api-keys", json={"role": "admin"}, headers=auth(admin)).json()
    assert client.get("/v1/knowledge/sources", headers=auth(created["api_key"])).status_code == 200
    revoked = client.delete(f"/v1/api-keys/{created['id']}", headers=auth(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/v1/knowledge/sources", headers=auth(created["api_key"])).status_code == 401


def test_a_tenant_cannot_revoke_another_tenants_key(client: TestClient) -> None:
    a = new_tenant(client, "A")
    b = new_tenant(client, "B")
    b_key = client.post("/v1/api-keys", json={"role": "staff"}, headers=auth(b)).json()
    assert client.delete(f"/v1/api-keys/{b_key['id']}", headers=auth(a)).status_code == 404
    assert client.get("/v1/knowledge/sources", headers=auth(b_key["api_key"])).status_code == 200
