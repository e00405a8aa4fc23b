"""The welcome: edited by the tenant's admin in the agent settings (`welcome`, English and Traditional
Chinese, validated with a clear 422), answered to Viber's conversation_started in the webhook's answer in
the customer's language and recorded as sent, and sent on a follow; a channel's own welcome_message wins."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import CHANNELS, deliver, fake_platforms
from tests.channels.test_platform_events import line_event, messages
from tests.conftest import auth, ingested, new_tenant, settle

EN = "Welcome to Harbour Tea House! Ask us anything."
ZH = "歡迎光臨海港茶室！有咩想問都可以問我哋。"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def put_welcome(client: TestClient, key: str, welcome: Any) -> Any:
    settings = client.get("/v1/agent/settings", headers=auth(key)).json()
    return client.put("/v1/agent/settings", headers=auth(key), json={**settings, "welcome": welcome})


def channel_of(client: TestClient, key: str, kind: str, **extra: Any) -> str:
    body = {"kind": kind, "name": kind.title(), **CHANNELS[kind], **extra}
    response = client.post("/v1/channels", headers=auth(key), json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def opened(user_id: str, language: str | None, token: int, at_ms: int | None = None) -> dict[str, Any]:
    user = {"id": user_id, "name": "Mei", "country": "HK", **({"language": language} if language else {})}
    return {
        "event": "conversation_started",
        "timestamp": at_ms or int(time.time() * 1000),
        "message_token": token,
        "type": "open",
        "user": user,
        "subscribed": False,
    }


def test_the_admin_edits_the_welcome_in_both_languages(client: TestClient) -> None:
    key = new_tenant(client)
    assert client.get("/v1/agent/settings", headers=auth(key)).json()["welcome"] is None
    saved = put_welcome(client, key, {"en": EN, "zh": ZH})
    assert saved.status_code == 200, saved.text
    assert client.get("/v1/agent/settings", headers=auth(key)).json()["welcome"] == {"en": EN, "zh": ZH}
    assert put_welcome(client, key, {"zh": ZH}).json()["welcome"] == {"en": None, "zh": ZH}
    assert put_welcome(client, key, None).json()["welcome"] is None  # null turns it off


@pytest.mark.parametrize(
    ("welcome", "named"),
    [
        ({}, "welcome: Value error, a welcome needs its text in English (en) or Chinese (zh)"),
        ({"en": "   "}, "welcome.en: String should have at least 1 character"),
        ({"zh": "歡" * 2001}, "welcome.zh: String should have at most 2000 characters"),
        ({"en": EN, "fr": "Bienvenue"}, "welcome.fr: Extra inputs are not permitted"),
        ({"en": 5}, "welcome.en: Input should be a valid string"),
        ("Welcome!", "welcome: Input should be a valid dictionary"),
    ],
)
def test_a_bad_welcome_is_refused_naming_the_problem(client: TestClient, welcome: Any, named: str) -> None:
    key = new_tenant(client)
    response = put_welcome(client, key, welcome)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert named in response.json()["error"]["message"]
    assert client.get("/v1/agent/settings", headers=auth(key)).json()["welcome"] is None


def test_a_viber_chat_opened_is_answered_with_the_welcome_in_its_language(
    client: TestClient, fake: FakeGraph
) -> None:
    key = new_tenant(client)
    channel = channel_of(client, key, "viber", bot_name="Tea House")
    # No welcome set: the usual acknowledgement, nothing sent.
    plain = deliver(client, "viber", channel, opened("user-0=", "en", 4912661846655238100))
    assert plain.status_code == 200 and plain.json()["status"] == "ok"
    ingested(client)
    assert messages(client, channel) == []
    assert put_welcome(client, key, {"en": EN, "zh": ZH}).status_code == 200
    cases = [("user-1=", "zh-HK", ZH), ("user-2=", "en-GB", EN), ("user-3=", None, EN)]
    for n, (user, language, text) in enumerate(cases):
        response = deliver(client, "viber", channel, opened(user, language, 4912661846655238200 + n))
        assert response.status_code == 200, response.text
        assert response.json() == {"sender": {"name": "Tea House"}, "type": "text", "text": text}
    ingested(client)
    welcomes = [m for m in messages(client, channel) if m.meta.get("route") == "welcome"]
    assert sorted(m.text for m in welcomes) == sorted([ZH, EN, EN])
    assert {m.meta["delivery"] for m in welcomes} == {"sent"}  # sent in the webhook's answer
    # They subscribe next: no second welcome (a send to them would be queued; none is).
    subscribed = {
        "event": "subscribed",
        "timestamp": int(time.time() * 1000) + 5,
        "user": {"id": "user-1=", "name": "Mei", "language": "zh-HK"},
        "message_token": 4912661846655238300,
    }
    assert deliver(client, "viber", channel, subscribed).json()["status"] == "ok"
    settle(client)
    assert fake.sent == []
    assert len([m for m in messages(client, channel) if m.meta.get("route") == "welcome"]) == 3


def test_the_channels_own_welcome_wins_and_a_follow_gets_the_tenants(
    client: TestClient, fake: FakeGraph
) -> None:
    key = new_tenant(client)
    assert put_welcome(client, key, {"zh": ZH}).status_code == 200
    viber = channel_of(client, key, "viber", welcome_message="Hi from the Viber desk")
    response = deliver(client, "viber", viber, opened("user-9=", "en", 4912661846655238400))
    assert json.loads(response.content)["text"] == "Hi from the Viber desk"
    line = channel_of(client, key, "line")  # none of its own: the tenant's, Chinese the only one set
    at = int(time.time() * 1000)
    assert deliver(client, "line", line, line_event("follow", "01HWELCOME", at, replyToken="rt-1")).is_success
    ingested(client)
    (sent,) = fake.wait_for(1)
    assert sent["api"] == "line-reply" and sent["messages"][0]["text"] == ZH
