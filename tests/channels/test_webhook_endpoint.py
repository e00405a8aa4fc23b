"""The webhook POST's own ASGI endpoint (channels/webhook.py), ahead of FastAPI: refusals in the API's error
shape, the same answers as the documented FastAPI route, a failure answered as a 500 without losing the
server, a body cut off mid-way stores nothing, and the request counts as in flight for the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import priority
from tests.channels.test_whatsapp import delivery, post, records, setup_channel, text_message
from tests.conftest import new_tenant, services


@pytest.fixture
def client(app_factory: Callable[..., Any]) -> Any:
    with TestClient(app_factory(worker=False)) as test_client:
        yield test_client


def test_refusals_name_the_problem_in_the_api_error_shape(client: TestClient) -> None:
    channel = setup_channel(client, new_tenant(client))["id"]
    body = delivery([text_message("wamid.e1", "hi")])
    forged = post(client, channel, body, secret="forged-secret-000")
    assert forged.status_code == 401 and forged.headers["www-authenticate"] == "Bearer"
    assert forged.json()["error"] == {"code": "unauthorized", "message": "bad X-Hub-Signature-256 signature"}
    too_big = post(client, channel, b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "body_too_large"
    not_json = post(client, channel, body[:-3])
    assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "bad_json"
    unknown = post(client, "0" * 32, body)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong_kind = client.post(f"/webhooks/telegram/{channel}", content=body)
    assert wrong_kind.status_code == 404
    # not a webhook path: FastAPI's routing answers as for any unknown path
    assert client.post(f"/webhooks/whatsapp/{channel}/extra", content=body).status_code == 404
    assert records(client, "in") == []


def test_the_documented_route_answers_the_same(client: TestClient) -> None:
    """The FastAPI route (what /openapi.json documents) runs the same accept() wherever it serves."""
    channel = setup_channel(client, new_tenant(client))["id"]
    app = client.app

    async def without_the_shortcut(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)  # type: ignore[arg-type]

    routed = TestClient(without_the_shortcut)  # the lifespan already ran: the app holds its services
    body = delivery([text_message("wamid.r1", "hi")])
    first, again = post(routed, channel, body), post(client, channel, body)
    assert first.status_code == again.status_code == 200
    assert first.json() == {"status": "ok", "messages": 1, "stored": 1, "statuses": 0}
    assert again.json() == {
        "status": "ok",
        "messages": 1,
        "stored": 0,
        "statuses": 0,
    }  # a retry claims nothing
    forged = post(routed, channel, body, secret="forged-secret-000")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "unauthorized"


def test_a_failure_to_store_is_a_500_and_the_next_delivery_is_stored(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = setup_channel(client, new_tenant(client))["id"]
    intake = services(client).channel_intake
    real_store = intake.store

    async def broken(delivery: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(intake, "store", broken)
    failed = post(client, channel, delivery([text_message("wamid.f1", "hi")]))
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "internal_error"
    monkeypatch.setattr(intake, "store", real_store)
    retried = post(client, channel, delivery([text_message("wamid.f1", "hi")]))  # the platform retries
    assert retried.status_code == 200 and retried.json()["stored"] == 1


def test_a_body_cut_off_by_a_disconnect_stores_nothing(client: TestClient) -> None:
    channel = setup_channel(client, new_tenant(client))["id"]
    body = delivery([text_message("wamid.c1", "hi")])
    path = f"/webhooks/whatsapp/{channel}"
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "scheme": "http",
        "server": ("testserver", 80),
    }
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent == []  # nobody is left to answer
    assert records(client, "in") == []


def test_a_webhook_counts_as_a_request_in_flight(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background worker steps aside for webhooks too (core/priority.py)."""
    channel = setup_channel(client, new_tenant(client))["id"]
    intake = services(client).channel_intake
    real_store, seen = intake.store, []
    foreground: priority.Foreground = client.app.foreground  # type: ignore[attr-defined]

    async def counting(delivery: Any) -> Any:
        seen.append(foreground.in_flight)
        return await real_store(delivery)

    monkeypatch.setattr(intake, "store", counting)
    assert post(client, channel, delivery([text_message("wamid.p1", "hi")])).status_code == 200
    assert seen == [1] and foreground.in_flight == 0
