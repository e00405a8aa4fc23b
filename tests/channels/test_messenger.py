"""Messenger and Instagram: Meta's messaging webhooks, echoes ignored, the AI never replies outside 24 hours."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.messenger import parse_events
from core.errors import InvalidInput
from inbox.models import Message
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth, new_tenant, services, settle, upload, wait_for

APP_SECRET = "meta-app-secret-123"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(messenger_api_base=fake.url)) as test_client:
        yield test_client


def event(
    mid: str, text: str, sender: str = "6754230144662", at_ms: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": "106540352242922"},
        "timestamp": at_ms or int(time.time() * 1000),
        "message": {"mid": mid, "text": text, **extra},
    }


def body(kind: str, events: list[dict[str, Any]]) -> bytes:
    obj = "page" if kind == "messenger" else "instagram"
    return json.dumps(
        {
            "object": obj,
            "entry": [{"id": "106540352242922", "time": int(time.time() * 1000), "messaging": events}],
        }
    ).encode()


def post(client: TestClient, kind: str, channel: str, raw: bytes, secret: str = APP_SECRET) -> Any:
    sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        f"/webhooks/{kind}/{channel}",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig},
    )


def setup(client: TestClient, kind: str) -> str:
    key = new_tenant(client, "Harbour Tea House")
    wait_for(
        client,
        key,
        upload(
            client, key, "menu.md", b"# Menu\n\nQ: How much is the milk tea?\nA: Our milk tea costs HK$28."
        )["id"],
    )
    response = client.post(
        "/v1/channels",
        headers=auth(key),
        json={
            "kind": kind,
            "name": "Page",
            "page_id": "106540352242922",
            "access_token": "EAAG-page-token-123",
            "app_secret": APP_SECRET,
            "verify_token": "verify-token-123",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_event_kinds() -> None:
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "1",
                "time": 1,
                "messaging": [
                    event("m_text", "hi", quick_reply={"payload": "MENU"}),
                    {
                        "sender": {"id": "7"},
                        "recipient": {"id": "1"},
                        "timestamp": 1764000000000,
                        "message": {
                            "mid": "m_img",
                            "attachments": [{"type": "image", "payload": {"url": "https://cdn/x.jpg"}}],
                        },
                    },
                    {
                        "sender": {"id": "1"},
                        "recipient": {"id": "7"},
                        "timestamp": 1764000000000,
                        "message": {"mid": "m_echo", "text": "our reply", "is_echo": True, "app_id": 1},
                    },
                    {
                        "sender": {"id": "7"},
                        "recipient": {"id": "1"},
                        "timestamp": 1764000000000,
                        "postback": {"title": "Get Started", "payload": "GET_STARTED", "mid": "m_pb"},
                    },
                    {
                        "sender": {"id": "7"},
                        "recipient": {"id": "1"},
                        "timestamp": 1764000000000,
                        "reaction": {"mid": "m_out1", "action": "react", "emoji": "❤", "reaction": "love"},
                    },
                    {
                        "sender": {"id": "7"},
                        "recipient": {"id": "1"},
                        "timestamp": 1764000000000,
                        "delivery": {"mids": ["m_out1"], "watermark": 1764000000000},
                    },
                ],
            }
        ],
    }
    inbound, statuses, unparsed, events = parse_events(payload, "messenger")
    assert unparsed == []
    by_id = {m.external_id: m for m in inbound}
    assert "m_echo" not in by_id  # echoes of our own messages are ignored
    assert by_id["m_text"].data["quick_reply"] == "MENU"
    assert (
        by_id["m_img"].text == "[image]"
        and by_id["m_img"].data["attachments"][0]["url"] == "https://cdn/x.jpg"
    )
    assert by_id["m_pb"].text == "Get Started" and by_id["m_pb"].data["payload"] == "GET_STARTED"
    assert not any(m.kind == "reaction" for m in inbound)  # an event, never a message to answer
    (reaction,) = events
    assert (reaction.kind, reaction.target, reaction.text) == ("reaction", "m_out1", "❤")
    assert [(s.external_id, s.status) for s in statuses] == [("m_out1", "delivered")]
    with pytest.raises(InvalidInput):
        parse_events(payload, "instagram")  # an instagram channel refuses page payloads


@pytest.mark.parametrize("kind", ["messenger", "instagram"])
def test_answered_once_and_statuses(client: TestClient, fake: FakeGraph, kind: str) -> None:
    channel = setup(client, kind)
    assert (
        post(client, kind, channel, body(kind, [event("m_1", "How much is the milk tea?")] * 2)).json()[
            "stored"
        ]
        == 1
    )
    assert (
        post(client, kind, channel, body(kind, [event("m_1", "How much is the milk tea?")])).json()["stored"]
        == 0
    )
    sent = fake.wait_for(1)
    settle(client)
    assert len(sent) == 1 and sent[0]["recipient"] == {"id": "6754230144662"}
    assert sent[0]["messaging_type"] == "RESPONSE" and "HK$28" in sent[0]["message"]["text"]
    delivery = {
        "sender": {"id": "6754230144662"},
        "recipient": {"id": "1"},
        "timestamp": 1,
        "delivery": {"mids": ["m_out1"], "watermark": 1},
    }
    assert post(client, kind, channel, body(kind, [delivery])).json()["statuses"] == 1
    assert (
        post(client, kind, channel, body(kind, [event("m_2", "x")]), secret="forged-000000").status_code
        == 401
    )


def test_no_ai_reply_outside_the_window(client: TestClient, fake: FakeGraph) -> None:
    channel = setup(client, "messenger")
    old = int((time.time() - 25 * 3600) * 1000)
    post(
        client,
        "messenger",
        channel,
        body("messenger", [event("m_old", "How much is the milk tea?", at_ms=old)]),
    )
    deadline = time.monotonic() + 20
    reply: Any = None
    while time.monotonic() < deadline:
        with services(client).core.db.session() as session:
            reply = session.scalar(select(Message).where(Message.role == "agent"))
        if reply is not None and reply.meta.get("delivery") != "pending":
            break
        time.sleep(0.05)
    assert (
        reply is not None
        and reply.meta["delivery"] == "skipped"
        and "window closed" in reply.meta["delivery_error"]
    )
    assert fake.sent == []
