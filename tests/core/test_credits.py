"""Credits per tenant and month: counting, trimming, the 402 at the limit, a new month, plans, isolation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from config import Settings
from core.credits import Credits, CreditsExhausted, next_reset
from tests.conftest import ADMIN_KEY, auth, services

PLANS = {"free": 4, "pro": 100, "unlimited": None}
DRAFT = "we open at 10:00"


@pytest.fixture
def client(app_factory: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(app_factory(plan_credits=PLANS)) as test_client:
        yield test_client


def tenant(client: TestClient, name: str = "Acme") -> tuple[str, str]:
    body = client.post("/v1/tenants", json={"name": name}, headers=auth(ADMIN_KEY)).json()
    return body["id"], body["api_key"]


def asked(client: TestClient, key: str, text: str = "What are your opening hours?") -> str:
    response = client.post("/v1/agent/chat", json={"message": text}, headers=auth(key))
    return str(response.json()["conversation_id"])


def balance(client: TestClient, key: str) -> dict[str, Any]:
    return dict(client.get("/v1/assist/credits", headers=auth(key)).json())


def test_a_new_tenant_is_on_the_free_plan(client: TestClient) -> None:
    _, key = tenant(client)
    body = balance(client, key)
    now = datetime.now(UTC)
    assert body["plan"] == "free" and body["allowance"] == 4 and body["used"] == 0 and body["remaining"] == 4
    assert body["period"] == f"{now:%Y-%m}"
    assert datetime.fromisoformat(body["resets_at"]) == next_reset(now)


def test_usage_is_counted_trimmed_and_then_refused(client: TestClient) -> None:
    _, key = tenant(client)
    conversation = asked(client, key)
    first = client.post(
        "/v1/assist/smart-reply", json={"conversation_id": conversation}, headers=auth(key)
    ).json()
    charged = len(first["suggestions"])
    assert charged >= 2 and first["credits"]["charged"] == charged and first["credits"]["used"] == charged
    while balance(client, key)["remaining"] > 1:
        client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key))
    trimmed = client.post("/v1/assist/smart-reply", json={"conversation_id": conversation}, headers=auth(key))
    assert trimmed.status_code == 200
    body = trimmed.json()
    assert (
        len(body["suggestions"]) == 1
        and body["credits"]["charged"] == 1
        and body["credits"]["remaining"] == 0
    )
    assert "ran out" in body["warnings"][-1]
    for path, payload in (
        ("/v1/assist/smart-reply", {"conversation_id": conversation}),
        ("/v1/assist/write", {"draft": DRAFT}),
    ):
        refused = client.post(path, json=payload, headers=auth(key))
        assert refused.status_code == 402
        error = refused.json()["error"]
        assert error["code"] == "credits_exhausted"
        assert "free plan's 4 credits" in error["message"] and "reset" in error["message"]
    assert balance(client, key)["used"] == 4


def test_a_new_month_starts_again(client: TestClient) -> None:
    _, key = tenant(client)
    for _ in range(4):
        assert client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key)).status_code == 200
    assert client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key)).status_code == 402
    credits: Credits = services(client).core.credits
    next_month = next_reset(datetime.now(UTC))
    credits.clock = lambda: next_month
    body = balance(client, key)
    assert body["used"] == 0 and body["period"] == f"{next_month:%Y-%m}"
    assert client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key)).status_code == 200


def test_the_platform_admin_changes_a_plan(client: TestClient) -> None:
    tenant_id, key = tenant(client)
    client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key))
    moved = client.patch(f"/v1/tenants/{tenant_id}", json={"plan": "pro"}, headers=auth(ADMIN_KEY))
    assert moved.status_code == 200 and moved.json() == {"id": tenant_id, "name": "Acme", "plan": "pro"}
    assert balance(client, key) | {"resets_at": None} == {
        "plan": "pro",
        "allowance": 100,
        "used": 1,
        "remaining": 99,
        "period": f"{datetime.now(UTC):%Y-%m}",
        "resets_at": None,
    }
    client.patch(f"/v1/tenants/{tenant_id}", json={"plan": "unlimited"}, headers=auth(ADMIN_KEY))
    assert balance(client, key)["allowance"] is None and balance(client, key)["remaining"] is None
    assert client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(key)).status_code == 200
    unknown = client.patch(f"/v1/tenants/{tenant_id}", json={"plan": "gold"}, headers=auth(ADMIN_KEY))
    assert unknown.status_code == 422 and "free, pro, unlimited" in unknown.json()["error"]["message"]
    assert client.patch("/v1/tenants/nope", json={"plan": "pro"}, headers=auth(ADMIN_KEY)).status_code == 404
    assert (
        client.patch(f"/v1/tenants/{tenant_id}", json={"plan": "pro"}, headers=auth(key)).status_code == 401
    )
    audit = client.get("/v1/audit?entity=tenant", headers=auth(key)).json()
    assert [e["after"] for e in audit] == [{"plan": "unlimited"}, {"plan": "pro"}]


def test_one_tenants_usage_is_not_anothers(client: TestClient) -> None:
    _, a = tenant(client, "A")
    _, b = tenant(client, "B")
    for _ in range(4):
        client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(b))
    assert balance(client, b)["remaining"] == 0
    assert balance(client, a)["used"] == 0
    assert client.post("/v1/assist/write", json={"draft": DRAFT}, headers=auth(a)).status_code == 200


def test_concurrent_spending_never_passes_the_allowance(client: TestClient) -> None:
    tenant_id, _ = tenant(client)
    credits: Credits = services(client).core.credits
    spent: list[int] = []
    refused: list[int] = []

    def spend() -> None:
        try:
            spent.append(credits.spend(tenant_id, 3)[0])
        except CreditsExhausted:
            refused.append(1)

    threads = [threading.Thread(target=spend) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(spent) == 4 and credits.balance(tenant_id).used == 4
    assert sorted(spent) == [1, 3] and len(refused) == 10


def test_plan_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_PLAN_CREDITS", '{"free": 10, "team": null}')
    assert Settings().plan_credits == {"free": 10, "team": None}
    monkeypatch.delenv("PARLEY_PLAN_CREDITS")
    bad_plans: list[tuple[dict[str, int | None], str]] = [
        ({"pro": 5}, '"free" plan'),
        ({"free": -1}, ">= 0"),
        ({"free": 1, "Gold Plan": 2}, "plan name"),
    ]
    for bad, message in bad_plans:
        with pytest.raises(ValidationError, match=message):
            Settings(plan_credits=bad)
