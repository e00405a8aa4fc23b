"""The console's test helpers: one app per test module (on SQLite, and on PostgreSQL when
PARLEY_TEST_DATABASE_URL is set), tenants with staff users, and signing in as a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import create_app
from config import Settings
from core.db import make_engine
from core.migrate import upgrade_to_head
from core.services import CoreServices
from knowledge.embeddings import LocalE5Embedder
from knowledge.index import KnowledgeIndex
from knowledge.services import KnowledgeServices, build_knowledge
from tests.conftest import ADMIN_KEY, PG_URL, auth, migrated_data_dir, throwaway_schema

PASSWORD = "correct horse battery"
_HIDDEN = r'name="{name}" value="([^"]*)"'


@dataclass
class Member:
    """A staff user of a tenant, with the tenant's admin API key."""

    tenant_key: str
    email: str
    role: str
    password: str = PASSWORD


def console_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    embedder: LocalE5Embedder,
    **overrides: Any,
) -> Iterator[Any]:
    """The body of a module-scoped app fixture parametrised over the backends (request.param)."""
    tmp = tmp_path_factory.mktemp("console")
    with ExitStack() as stack:
        url = schema = None
        if request.param == "sqlite":
            data = migrated_data_dir(tmp / "data", migrated_sqlite)
        else:
            data = tmp / "data"
            data.mkdir()
            url, schema = PG_URL, stack.enter_context(throwaway_schema())
            engine = make_engine(url or "", schema=schema)
            upgrade_to_head(engine)
            engine.dispose()
        settings = Settings(
            data_dir=data, database_url=url, admin_key=ADMIN_KEY, gc_freeze=False, **overrides
        )

        def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
            index = KnowledgeIndex.temporary(embedder.dim, parent=tmp)
            return build_knowledge(s, core, embedder=embedder, index=index)

        yield create_app(settings, knowledge_builder=knowledge, db_schema=schema)


def browser(app: Any, address: str = "10.0.0.1") -> TestClient:
    """A fresh browser (its own cookies) from a network address, on an app whose lifespan runs already."""
    return TestClient(app, client=(address, 50000), follow_redirects=False)


def hidden(html: str, name: str) -> str:
    found = re.search(_HIDDEN.format(name=name), html)
    assert found, f"no hidden field {name} in the page"
    return found.group(1)


def new_member(
    client: TestClient, tenant_key: str, email: str, role: str, password: str = PASSWORD
) -> Member:
    """Invite through /v1/staff and accept the link as the invited person's browser would."""
    invited = client.post(
        "/v1/staff/invitations", json={"email": email, "role": role}, headers=auth(tenant_key)
    )
    assert invited.status_code == 201, invited.text
    path = invited.json()["url"].removeprefix("http://testserver")
    person = browser(client.app)
    page = person.get(path)
    assert page.status_code == 200, page.text
    accepted = person.post(
        path,
        data={
            "name": email.split("@")[0],
            "password": password,
            "confirm": password,
            "form_token": hidden(page.text, "form_token"),
        },
    )
    assert accepted.status_code == 303, accepted.text
    return Member(tenant_key, email, role, password)


def sign_in(app: Any, email: str, password: str = PASSWORD, address: str = "10.0.0.1") -> TestClient:
    """A browser signed in as this user (asserts it worked)."""
    person = browser(app, address)
    page = person.get("/console/sign-in")
    response = person.post(
        "/console/sign-in",
        data={"email": email, "password": password, "form_token": hidden(page.text, "form_token")},
    )
    assert response.status_code == 303, response.text
    return person


def csrf(person: TestClient, path: str = "/console/account/password") -> str:
    """The signed-in browser's CSRF token, read from a page it can open."""
    page = person.get(path)
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf")


def switch_language(person: TestClient, to: str, path: str) -> None:
    """Press the language switch on this page, as the browser would (a form with the page's CSRF token)."""
    page = person.get(path)
    assert page.status_code == 200, page.text
    switched = person.post("/console/lang", data={"csrf": hidden(page.text, "csrf"), "to": to, "next": path})
    assert switched.status_code == 303 and switched.headers["location"] == path, switched.text


def user_ref(client: TestClient, tenant_key: str, email: str) -> str:
    """How the console stores a staff user as an owner or assignee: `user:<id>`."""
    users = client.get("/v1/staff/users", headers=auth(tenant_key)).json()["users"]
    return "user:" + next(str(u["id"]) for u in users if u["email"] == email)
