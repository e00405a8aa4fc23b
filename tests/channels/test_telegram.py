"""Telegram end to end: the secret-token header, update kinds, dedupe on update_id, replies, errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.telegram import parse_update
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth, new_tenant, settle, upload, wait_for

BOT = "123456789:AAH-fake_bot_token_0123456789"
SECRET = "telegram-secret-token-0123"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(telegram_api_base=fake.base)) as test_client:
        yield test_client


def update(update_id: int, text: str, chat: int = 555) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000,
            "date": int(time.time()),
            "from": {"id": chat, "is_bot": False, "first_name": "Kerry", "language_code": "en"},
            "chat": {"id": chat, "first_name": "Kerry", "type": "private"},
            "text": text,
        },
    }


def post(client: TestClient, channel_id: str, body: dict[str, Any], secret: str | None = SECRET) -> Any:
    headers = {
        "Content-Type": "application/json",
        **({"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}),
    }
    return client.post(f"/webhooks/telegram/{channel_id}", content=json.dumps(body), headers=headers)


def setup(client: TestClient) -> tuple[str, str]:
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
        json={"kind": "telegram", "name": "Bot", "bot_token": BOT, "secret_token": SECRET},
    )
    assert response.status_code == 201, response.text
    assert BOT not in response.text and SECRET not in response.text
    return key, str(response.json()["id"])


def test_update_kinds() -> None:
    photo = {
        "update_id": 2,
        "message": {
            "message_id": 2,
            "date": 1764000000,
            "from": {"id": 7, "first_name": "K"},
            "chat": {"id": 7, "type": "private"},
            "caption": "this one?",
            "photo": [{"file_id": "small", "width": 90}, {"file_id": "big", "width": 800}],
        },
    }
    location = {
        "update_id": 3,
        "message": {
            "message_id": 3,
            "date": 1764000000,
            "from": {"id": 7},
            "chat": {"id": 7},
            "location": {"latitude": 22.28, "longitude": 114.18},
        },
    }
    button = {
        "update_id": 4,
        "callback_query": {
            "id": "cb1",
            "from": {"id": 7, "first_name": "K"},
            "data": "book_F02",
            "message": {"message_id": 9, "chat": {"id": 7}},
        },
    }
    edited = {
        "update_id": 5,
        "edited_message": {
            "message_id": 1,
            "date": 1764000000,
            "from": {"id": 7},
            "chat": {"id": 7},
            "text": "fixed typo",
        },
    }
    sticker = {
        "update_id": 6,
        "message": {
            "message_id": 6,
            "date": 1764000000,
            "from": {"id": 7},
            "chat": {"id": 7},
            "sticker": {"file_id": "st", "emoji": "👍"},
        },
    }
    poll = {"update_id": 7, "poll": {"id": "p"}}
    assert (
        parse_update(photo).inbound[0].data["file_id"] == "big"
        and parse_update(photo).inbound[0].text == "this one?"
    )
    assert "22.28" in parse_update(location).inbound[0].text
    assert (
        parse_update(button).inbound[0].text == "book_F02" and parse_update(button).inbound[0].reply_to == "7"
    )
    (edit,) = parse_update(edited).events  # an event, never a message to answer
    assert (edit.kind, edit.target, edit.text) == ("edit", "7:1", "fixed typo")
    assert parse_update(edited).inbound == []
    assert parse_update(sticker).inbound[0].answerable is False
    assert parse_update(poll) == ([], [], [], [])


def test_secret_token_and_bad_bodies(client: TestClient) -> None:
    _, channel = setup(client)
    assert post(client, channel, update(1, "hi"), secret=None).status_code == 401
    assert post(client, channel, update(1, "hi"), secret="wrong-secret-token-000").status_code == 401
    assert post(client, channel, {"message": {}}).status_code == 422
    response = client.post(
        f"/webhooks/telegram/{channel}",
        content=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 422
    assert (
        client.post(f"/webhooks/whatsapp/{channel}", content=b"{}").status_code == 404
    )  # wrong kind for the id


def test_a_message_is_answered_once(client: TestClient, fake: FakeGraph) -> None:
    _, channel = setup(client)
    for _ in range(3):  # Telegram re-delivers until it gets a 200
        assert post(client, channel, update(10, "How much is the milk tea?")).status_code == 200
    sent = fake.wait_for(1)
    settle(client)
    assert len(sent) == 1 and sent[0]["chat_id"] == "555" and "HK$28" in sent[0]["text"]
    assert fake.tokens == [BOT]


def test_a_blocked_bot_is_recorded_not_retried(client: TestClient, fake: FakeGraph) -> None:
    _, channel = setup(client)
    fake.errors = [429]  # rate limited once: retried
    post(client, channel, update(20, "How much is the milk tea?"))
    assert len(fake.wait_for(1)) == 1
    fake.errors = [403]
    post(client, channel, update(21, "hello?", chat=777))
    settle(client)  # a retry of the 403 would be due within seconds: settle waits for it
    assert len(fake.sent) == 1
