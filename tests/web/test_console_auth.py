"""The console's sign-in, sessions, CSRF, throttling, password change and invitations, through HTTP as a
browser uses them (one app for the module; each test its own e-mail addresses and network address)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from core.db import utcnow
from core.staff.models import StaffInvitation, StaffSession, StaffUser
from knowledge.embeddings import LocalE5Embedder
from tests.conftest import BACKENDS, new_tenant, services
from tests.helpers.console import PASSWORD, browser, console_app, csrf, hidden, new_member, sign_in


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
) -> Iterator[Any]:
    # Low limits so the throttling test is quick; every other test uses its own addresses.
    for app in console_app(
        request,
        tmp_path_factory,
        migrated_sqlite,
        embedder,
        console_sign_in_failures_per_email=3,
        console_sign_in_failures_per_address=5,
    ):
        with TestClient(app):  # runs the lifespan for the module
            yield app


@pytest.fixture(scope="module")
def tenant_key(api: TestClient) -> str:
    return new_tenant(api, "Acme Beauty")


def post_sign_in(person: TestClient, email: str, password: str) -> Any:
    page = person.get("/console/sign-in")
    return person.post(
        "/console/sign-in",
        data={"email": email, "password": password, "form_token": hidden(page.text, "form_token")},
    )


def test_root_and_console_send_a_stranger_to_sign_in(app: Any) -> None:
    person = browser(app)
    root = person.get("/")
    assert root.status_code == 307 and root.headers["location"] == "/console"
    console = person.get("/console")
    assert console.status_code == 303 and console.headers["location"] == "/console/sign-in"
    team = person.get("/console/team")
    assert team.headers["location"] == "/console/sign-in?next=/console/team"


def test_sign_in_sets_a_secure_session_cookie_and_opens_the_home_page(
    app: Any, api: TestClient, tenant_key: str
) -> None:
    member = new_member(api, tenant_key, "ann@acme.example", "admin")
    person = browser(app, "10.1.0.1")
    response = post_sign_in(person, "ANN@acme.example ", member.password)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "parley_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie  # plain HTTP and no setting
    assert person.get("/console").headers["location"] == "/console/knowledge"
    page = person.get("/console/knowledge")
    assert page.status_code == 200 and "ann@acme.example" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    with services(browser(app)).core.db.session() as session:  # the token is stored hashed only
        hashes = session.scalars(select(StaffSession.token_hash)).all()
    assert person.cookies["parley_session"] not in hashes


def test_the_cookie_is_secure_over_https(app: Any, api: TestClient, tenant_key: str) -> None:
    member = new_member(api, tenant_key, "hana@acme.example", "agent")
    person = TestClient(app, base_url="https://testserver", client=("10.1.0.2", 1), follow_redirects=False)
    response = post_sign_in(person, member.email, member.password)
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


def test_the_setting_makes_the_cookies_secure_behind_a_tls_proxy(app: Any, api: TestClient) -> None:
    settings = services(api).settings
    settings.console_secure_cookie = True  # PARLEY_CONSOLE_SECURE_COOKIE=true
    try:
        page = browser(app, "10.1.0.3").get("/console/sign-in")
    finally:
        settings.console_secure_cookie = False
    # The same rule marks the session cookie (cookies.secure); a plain-HTTP client would not send it back.
    assert "parley_form=" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]


def test_a_wrong_password_or_unknown_email_is_refused_alike(
    app: Any, api: TestClient, tenant_key: str
) -> None:
    new_member(api, tenant_key, "ben@acme.example", "agent")
    person = browser(app, "10.2.0.1")
    wrong = post_sign_in(person, "ben@acme.example", "not the password")
    unknown = post_sign_in(person, "nobody@acme.example", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "Wrong e-mail address or password." in wrong.text
        and "Wrong e-mail address or password." in unknown.text
    )
    assert "parley_session" not in person.cookies


def test_a_control_character_in_the_address_is_a_wrong_sign_in_not_an_error(app: Any) -> None:
    # PostgreSQL refuses a NUL in text: it must never reach the database from the open sign-in page.
    person = browser(app, "10.2.0.9")
    for email in ("a\x00b@acme.example", "ben@acme.example\x00", "\x7f@acme.example"):
        assert post_sign_in(person, email, "whatever").status_code == 401, repr(email)


def test_sign_in_is_throttled_per_email_and_per_address(app: Any, api: TestClient, tenant_key: str) -> None:
    member = new_member(api, tenant_key, "cat@acme.example", "agent")
    for _ in range(3):
        assert post_sign_in(browser(app, "10.3.0.1"), member.email, "wrong password").status_code == 401
    # Locked: even the right password from another address is refused, with the wait.
    locked = post_sign_in(browser(app, "10.3.0.2"), member.email, member.password)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins. Try again in 15 min." in locked.text
    # The address that failed 3 times may fail twice more (any e-mail), then is refused.
    for email in ("x@acme.example", "y@acme.example"):
        assert post_sign_in(browser(app, "10.3.0.1"), email, "wrong password").status_code == 401
    assert post_sign_in(browser(app, "10.3.0.1"), "z@acme.example", "whatever").status_code == 429
    # Failures are rows in the database (every process counts them); the window passing lifts the lock.
    with services(api).core.db.session() as session:
        session.execute(update_failures_back(timedelta(minutes=16)))
    assert post_sign_in(browser(app, "10.3.0.2"), member.email, member.password).status_code == 303


def test_guesses_sent_at_once_do_not_slip_past_the_limit_together(
    app: Any, api: TestClient, tenant_key: str
) -> None:
    member = new_member(api, tenant_key, "guesser@acme.example", "agent")
    people = [browser(app, f"10.14.0.{i}") for i in range(8)]  # eight addresses: only the e-mail's limit (3)

    def guess(person: TestClient) -> int:
        return int(post_sign_in(person, member.email, "wrong password").status_code)

    with ThreadPoolExecutor(len(people)) as pool:
        codes = list(pool.map(guess, people))
    assert codes.count(401) <= 3 and codes.count(429) >= 5, codes


def update_failures_back(by: timedelta) -> Any:
    from core.staff.models import SignInFailure

    return update(SignInFailure).values(at=utcnow() - by)


def test_a_form_without_the_right_csrf_token_is_refused(app: Any, api: TestClient, tenant_key: str) -> None:
    member = new_member(api, tenant_key, "dan@acme.example", "admin")
    person = sign_in(app, member.email, address="10.4.0.1")
    for data in ({}, {"csrf": "forged"}):
        response = person.post(
            "/console/team/invite", data={**data, "email": "eve@acme.example", "role": "agent"}
        )
        assert response.status_code == 403 and "did not come from this console" in response.text
    signed_out_form = browser(app, "10.4.0.2").post(
        "/console/sign-in", data={"email": member.email, "password": member.password, "form_token": "guess"}
    )
    assert signed_out_form.status_code == 403
    assert person.get("/v1/staff/invitations").status_code == 401  # the cookie is no API key
    listed = api.get("/v1/staff/invitations", headers={"Authorization": f"Bearer {tenant_key}"}).json()
    assert "eve@acme.example" not in str(listed)


def test_sign_out_ends_the_session(app: Any, api: TestClient, tenant_key: str) -> None:
    member = new_member(api, tenant_key, "fay@acme.example", "agent")
    person = sign_in(app, member.email, address="10.5.0.1")
    token = person.cookies["parley_session"]
    out = person.post("/console/sign-out", data={"csrf": csrf(person)})
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in?out=1"
    thief = browser(app, "10.5.0.2")
    thief.cookies.set("parley_session", token, path="/console")
    assert thief.get("/console/inbox").status_code == 303  # the old token opens nothing


def test_password_change_needs_the_current_one_and_ends_other_sessions(
    app: Any, api: TestClient, tenant_key: str
) -> None:
    member = new_member(api, tenant_key, "gus@acme.example", "qa")
    laptop = sign_in(app, member.email, address="10.6.0.1")
    phone = sign_in(app, member.email, address="10.6.0.2")
    token = csrf(laptop)
    new = "a brand new passphrase"
    wrong = laptop.post(
        "/console/account/password",
        data={"csrf": token, "current_password": "not it at all", "new_password": new, "confirm": new},
    )
    assert wrong.status_code == 422 and 'id="e-current_password"' in wrong.text
    short = laptop.post(
        "/console/account/password",
        data={"csrf": token, "current_password": PASSWORD, "new_password": "short", "confirm": "short"},
    )
    assert short.status_code == 422 and 'id="e-new_password"' in short.text
    changed = laptop.post(
        "/console/account/password",
        data={"csrf": token, "current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert changed.status_code == 200 and "Your other sessions were signed out" in changed.text
    assert laptop.get("/console/evals").status_code == 200  # this session stays
    assert phone.get("/console/evals").status_code == 303  # the other one ended
    assert post_sign_in(browser(app, "10.6.0.3"), member.email, PASSWORD).status_code == 401
    sign_in(app, member.email, new, address="10.6.0.3")
    audit = api.get("/v1/audit?entity=staff_user", headers={"Authorization": f"Bearer {tenant_key}"}).json()
    users = api.get("/v1/staff/users", headers={"Authorization": f"Bearer {tenant_key}"}).json()["users"]
    gus = next(u for u in users if u["email"] == member.email)
    assert any(e["action"] == "staff_user.password" and e["actor"] == f"user:{gus['id']}" for e in audit)


def test_an_invitation_works_once_and_not_after_it_expires(
    app: Any, api: TestClient, tenant_key: str
) -> None:
    headers = {"Authorization": f"Bearer {tenant_key}"}
    first = api.post(
        "/v1/staff/invitations", json={"email": "ida@acme.example", "role": "agent"}, headers=headers
    )
    path = first.json()["url"].removeprefix("http://testserver")
    person = browser(app, "10.7.0.1")
    page = person.get(path)
    assert "Join Acme Beauty" in page.text and page.headers["referrer-policy"] == "no-referrer"
    form = {
        "name": "Ida",
        "password": PASSWORD,
        "confirm": "something else",
        "form_token": hidden(page.text, "form_token"),
    }
    mismatch = person.post(path, data=form)
    assert mismatch.status_code == 422 and 'id="e-confirm"' in mismatch.text
    weak = person.post(path, data={**form, "password": "short", "confirm": "short"})
    assert weak.status_code == 422 and 'id="e-password"' in weak.text
    accepted = person.post(path, data={**form, "confirm": PASSWORD})
    assert accepted.status_code == 303 and "parley_session" in person.cookies
    assert person.get("/console/inbox").status_code == 200
    reused = browser(app, "10.7.0.2").get(path)
    assert reused.status_code == 404 and "not valid" in reused.text
    again = browser(app, "10.7.0.2").post(path, data=form)
    assert again.status_code == 403  # that browser never got the form's token
    # Expired: the link stops working at its expiry.
    second = api.post(
        "/v1/staff/invitations", json={"email": "jon@acme.example", "role": "qa"}, headers=headers
    )
    with services(api).core.db.session() as session:
        session.execute(
            update(StaffInvitation)
            .where(StaffInvitation.id == second.json()["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert browser(app).get(second.json()["url"].removeprefix("http://testserver")).status_code == 404
    with services(api).core.db.session() as session:
        assert session.scalar(select(StaffUser).where(StaffUser.email == "jon@acme.example")) is None


def test_the_language_switch_translates_the_console(app: Any, api: TestClient, tenant_key: str) -> None:
    person = browser(app, "10.8.0.1")
    # Signed out, the switch is a form with the signed-out forms' double-submit token.
    token = hidden(person.get("/console/sign-in").text, "csrf")
    assert token == person.cookies.get("parley_form")
    switch = {"csrf": token, "to": "zh-Hant", "next": "/console/sign-in"}
    switched = person.post("/console/lang", data=switch)
    assert switched.status_code == 303 and switched.headers["location"] == "/console/sign-in"
    page = person.get("/console/sign-in")
    assert '<html lang="zh-Hant">' in page.text and "登入" in page.text
    assert person.post("/console/lang", data={**switch, "to": "fr"}).status_code == 404
    away = person.post("/console/lang", data={**switch, "to": "en", "next": "https://evil.example/"})
    assert away.headers["location"] == "/console"  # never an open redirect
    assert '<html lang="en">' in person.get("/console/sign-in").text
    # It changes state, so it is a POST with a CSRF token: neither a link nor a forged form switches.
    link = person.get("/console/lang?to=zh-Hant&next=/console/sign-in")  # /console/{section}: sign in
    assert "parley_lang" not in link.headers.get("set-cookie", "")
    forged = browser(app, "10.8.0.2")
    assert forged.get("/console/sign-in").status_code == 200 and forged.cookies.get("parley_form")
    assert forged.post("/console/lang", data={"to": "zh-Hant", "csrf": "y" * 40}).status_code == 403
    assert forged.post("/console/lang", data={"to": "zh-Hant"}).status_code == 403
    assert "parley_lang" not in forged.cookies
    assert '<html lang="en">' in person.get("/console/sign-in").text  # the refusals changed nothing
    chinese_browser = TestClient(app, headers={"Accept-Language": "zh-HK,zh;q=0.9"}, follow_redirects=False)
    assert "電郵" in chinese_browser.get("/console/sign-in").text
