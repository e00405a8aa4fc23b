"""Staff accounts through /v1/staff with a tenant's admin API key: users and invitations, the last-admin
rule, tenant isolation, the audit as the key, and passwords stored as argon2id hashes only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from core.db import utcnow
from core.errors import Unauthorized
from core.staff.models import SignInFailure, StaffInvitation, StaffSession, StaffUser
from core.staff.sessions import hash_token
from knowledge.embeddings import LocalE5Embedder
from tests.conftest import BACKENDS, auth, new_tenant, services
from tests.helpers.console import PASSWORD, console_app, new_member


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
) -> Iterator[TestClient]:
    for app in console_app(request, tmp_path_factory, migrated_sqlite, embedder):
        with TestClient(app) as client:
            yield client


def test_invitations_and_users_need_an_admin_key(api: TestClient) -> None:
    key = new_tenant(api, "Keys Co")
    staff = api.post("/v1/api-keys", json={"role": "staff"}, headers=auth(key)).json()["api_key"]
    assert api.get("/v1/staff/users").status_code == 401
    assert api.get("/v1/staff/users", headers=auth(staff)).status_code == 403
    body = {"email": "a@keys.example", "role": "agent"}
    assert api.post("/v1/staff/invitations", json=body, headers=auth(staff)).status_code == 403


def test_an_invitation_gives_a_link_once_and_bad_input_names_the_field(api: TestClient) -> None:
    key = new_tenant(api, "Links Co")
    created = api.post(
        "/v1/staff/invitations", json={"email": " Amy@Links.example", "role": "qa"}, headers=auth(key)
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "amy@links.example" and body["role"] == "qa"
    assert body["url"].startswith("http://testserver/console/invite/") and len(body["url"]) > 70
    listed = api.get("/v1/staff/invitations", headers=auth(key)).json()["invitations"]
    assert [i["email"] for i in listed] == ["amy@links.example"] and "url" not in listed[0]
    bad_role = api.post(
        "/v1/staff/invitations", json={"email": "b@links.example", "role": "owner"}, headers=auth(key)
    )
    assert bad_role.status_code == 422 and bad_role.json()["error"]["message"].startswith("role")
    bad_email = api.post(
        "/v1/staff/invitations", json={"email": "no-at-sign", "role": "qa"}, headers=auth(key)
    )
    assert bad_email.status_code == 422 and bad_email.json()["error"]["message"].startswith("email")
    again = api.post(
        "/v1/staff/invitations", json={"email": "amy@links.example", "role": "agent"}, headers=auth(key)
    )
    assert again.status_code == 201  # replaces the open one: the first link stops working
    assert api.get(body["url"].removeprefix("http://testserver")).status_code == 404
    revoked = api.delete(f"/v1/staff/invitations/{again.json()['id']}", headers=auth(key))
    assert (
        revoked.status_code == 204
        and api.get("/v1/staff/invitations", headers=auth(key)).json()["invitations"] == []
    )


def test_an_address_with_a_control_character_is_refused_at_the_field(api: TestClient) -> None:
    key = new_tenant(api, "Nul Co")
    for email in ("a\u0000@nul.example", "tab\t@nul.example"):
        refused = api.post("/v1/staff/invitations", json={"email": email, "role": "qa"}, headers=auth(key))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_email", email


def test_roles_change_the_last_admin_stays_and_removal_is_audited_as_the_key(api: TestClient) -> None:
    key = new_tenant(api, "Roles Co")
    new_member(api, key, "root@roles.example", "admin")
    new_member(api, key, "ops@roles.example", "agent")
    users = {u["email"]: u for u in api.get("/v1/staff/users", headers=auth(key)).json()["users"]}
    root, ops = users["root@roles.example"], users["ops@roles.example"]
    last = api.patch(f"/v1/staff/users/{root['id']}", json={"role": "agent"}, headers=auth(key))
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_admin"
    assert api.delete(f"/v1/staff/users/{root['id']}", headers=auth(key)).status_code == 409
    promoted = api.patch(f"/v1/staff/users/{ops['id']}", json={"role": "admin"}, headers=auth(key))
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert api.delete(f"/v1/staff/users/{root['id']}", headers=auth(key)).status_code == 204
    key_id = api.get("/v1/api-keys", headers=auth(key)).json()[0]["id"]
    audit = api.get("/v1/audit?entity=staff_user", headers=auth(key)).json()
    assert {(e["action"], e["actor"]) for e in audit} >= {
        ("staff_user.role", f"key:{key_id}"),
        ("staff_user.remove", f"key:{key_id}"),
        ("staff_invitation.accept", f"user:{ops['id']}"),
    }
    assert all("password" not in str(e["after"]) for e in audit)


def test_a_tenant_sees_and_changes_only_its_own_users(api: TestClient) -> None:
    mine, theirs = new_tenant(api, "Mine"), new_tenant(api, "Theirs")
    new_member(api, theirs, "them@theirs.example", "admin")
    their_id = api.get("/v1/staff/users", headers=auth(theirs)).json()["users"][0]["id"]
    assert api.get("/v1/staff/users", headers=auth(mine)).json()["users"] == []
    assert (
        api.patch(f"/v1/staff/users/{their_id}", json={"role": "qa"}, headers=auth(mine)).status_code == 404
    )
    assert api.delete(f"/v1/staff/users/{their_id}", headers=auth(mine)).status_code == 404
    # An e-mail address is one account in the whole installation: another tenant cannot invite it.
    taken = api.post(
        "/v1/staff/invitations", json={"email": "them@theirs.example", "role": "qa"}, headers=auth(mine)
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"


def test_passwords_are_stored_as_argon2id_hashes(api: TestClient) -> None:
    key = new_tenant(api, "Hash Co")
    new_member(api, key, "h@hash.example", "agent")
    with services(api).core.db.session() as session:
        stored = session.scalar(select(StaffUser.password_hash).where(StaffUser.email == "h@hash.example"))
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_demo_admin_is_created_once_and_a_lost_password_file_gets_a_new_password(
    api: TestClient, tmp_path: Path
) -> None:
    from knowledge.demo import DEMO_ADMIN_EMAIL, ensure_demo_admin

    key = new_tenant(api, "Demo-like")
    core: Any = services(api).core
    email, password = ensure_demo_admin(core, key, tmp_path)
    assert email == DEMO_ADMIN_EMAIL and (tmp_path / "demo_admin_password").read_text().strip() == password
    assert (tmp_path / "demo_admin_password").stat().st_mode & 0o777 == 0o600  # only this user reads it
    assert ensure_demo_admin(core, key, tmp_path) == (email, password)
    (tmp_path / "demo_admin_password").unlink()
    _, renewed = ensure_demo_admin(core, key, tmp_path)
    assert renewed != password
    assert core.staff.sign_in(email, renewed, "127.0.0.1")


def test_the_retention_sweep_deletes_old_sign_in_failures_and_ended_sessions(api: TestClient) -> None:
    key = new_tenant(api, "Sweep Co")
    member = new_member(api, key, "sweep@sweep.example", "agent")
    staff: Any = services(api).core.staff
    kept, ended = (staff.sign_in(member.email, PASSWORD, "10.9.0.1") for _ in range(2))
    for _ in range(2):
        with pytest.raises(Unauthorized):
            staff.sign_in("nobody@sweep.example", "wrong", "10.9.0.2")
    long_ago = utcnow() - timedelta(days=2)
    with services(api).core.db.session() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == hash_token(ended))
            .values(expires_at=long_ago)
        )
        session.execute(
            update(SignInFailure).where(SignInFailure.scope == "address:10.9.0.2").values(at=long_ago)
        )
    assert staff.prune() >= 3  # the ended session and the address's two old failures (and any other test's)

    def count(model: Any, *where: Any) -> int:
        with services(api).core.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    assert count(StaffSession, StaffSession.token_hash == hash_token(ended)) == 0
    assert staff.sessions.resolve(kept) is not None  # a live session stays
    assert count(SignInFailure, SignInFailure.scope == "address:10.9.0.2") == 0
    assert (
        count(SignInFailure, SignInFailure.scope == "email:nobody@sweep.example") == 2
    )  # still in the window


def test_the_retention_sweep_deletes_expired_invitations_nobody_accepted(api: TestClient) -> None:
    """Without the sweep they went only when the tenant invited again."""
    key = new_tenant(api, "Lapsed Co")
    new_member(api, key, "joined@lapsed.example", "agent")  # an accepted invitation: the record stays
    for email in ("late@lapsed.example", "soon@lapsed.example"):
        invited = api.post("/v1/staff/invitations", json={"email": email, "role": "qa"}, headers=auth(key))
        assert invited.status_code == 201
    tenant = services(api).core.keys.resolve(key).tenant_id
    ours = StaffInvitation.tenant_id == tenant
    with services(api).core.db.session() as session:
        session.execute(
            update(StaffInvitation)
            .where(ours, StaffInvitation.email.in_(["late@lapsed.example", "joined@lapsed.example"]))
            .values(expires_at=utcnow() - timedelta(days=1))
        )
    services(api).sweep.run({})  # the retention job's run, as app.py wires it
    with services(api).core.db.session() as session:
        left = sorted(session.scalars(select(StaffInvitation.email).where(ours)))
    assert left == ["joined@lapsed.example", "soon@lapsed.example"]
    listed = api.get("/v1/staff/invitations", headers=auth(key)).json()["invitations"]
    assert [i["email"] for i in listed] == ["soon@lapsed.example"]
