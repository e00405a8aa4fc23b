"""LINE, Viber and Twilio SMS end to end against a fake platform server on loopback, in their documented formats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.http_pool import HttpPool
from channels.models import ChannelMessage
from channels.twilio_sms import signature as twilio_signature
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth, ingested, new_tenant, services, settle, upload, wait_for

LINE_SECRET = "line-channel-secret-0123"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-auth-token-0123456"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    app = app_factory(line_api_base=fake.base, viber_api_base=fake.base, twilio_api_base=fake.base)
    with TestClient(app) as test_client:
        yield test_client


def shop(client: TestClient, channel: dict[str, Any]) -> str:
    key = new_tenant(client, "Harbour Tea House")
    wait_for(
        client,
        key,
        upload(
            client, key, "menu.md", b"# Menu\n\nQ: How much is the milk tea?\nA: Our milk tea costs HK$28."
        )["id"],
    )
    response = client.post("/v1/channels", headers=auth(key), json=channel)
    assert response.status_code == 201, response.text
    for secret in (LINE_SECRET, VIBER_TOKEN, TWILIO_TOKEN):
        assert secret not in response.text
    return str(response.json()["id"])


def outgoing(client: TestClient) -> list[ChannelMessage]:
    with services(client).core.db.session() as session:
        return list(session.scalars(select(ChannelMessage).where(ChannelMessage.direction == "out")))


# --- LINE -------------------------------------------------------------------------------------------


def line_event(event_id: str, text: str, at_ms: int = 0) -> dict[str, Any]:
    return {
        "destination": "U0000000000000000000000000000000",
        "events": [
            {
                "type": "message",
                "mode": "active",
                "timestamp": at_ms,
                "webhookEventId": event_id,
                "deliveryContext": {"isRedelivery": False},
                "replyToken": f"rt-{event_id}",
                "source": {"type": "user", "userId": "U4af4980629"},
                "message": {"id": "468789577898262530", "type": "text", "quoteToken": "q", "text": text},
            }
        ],
    }


def post_line(client: TestClient, channel: str, payload: dict[str, Any], secret: str = LINE_SECRET) -> Any:
    raw = json.dumps(payload).encode()
    sig = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return client.post(f"/webhooks/line/{channel}", content=raw, headers={"x-line-signature": sig})


def test_line_reply_then_push_when_the_token_is_stale(client: TestClient, fake: FakeGraph) -> None:
    channel = shop(
        client,
        {"kind": "line", "name": "LINE", "channel_secret": LINE_SECRET, "access_token": "line-access-token"},
    )
    assert post_line(client, channel, line_event("01H1", "x"), secret="forged-secret-0000").status_code == 401
    now = int(time.time() * 1000)
    for _ in range(2):  # a redelivery keeps its webhookEventId
        assert (
            post_line(client, channel, line_event("01H1", "How much is the milk tea?", now)).status_code
            == 200
        )
    sent = fake.wait_for(1)
    assert (
        sent[0]["api"] == "line-reply"
        and sent[0]["replyToken"] == "rt-01H1"
        and "HK$28" in sent[0]["messages"][0]["text"]
    )
    post_line(
        client, channel, line_event("01H2", "How much is the milk tea?", now - 120_000)
    )  # token long expired
    sent = fake.wait_for(2)
    assert sent[1]["api"] == "line-push" and sent[1]["to"] == "U4af4980629"
    settle(client)
    assert len(fake.sent) == 2 and fake.tokens[0] == "Bearer line-access-token"


# --- Viber ------------------------------------------------------------------------------------------


def post_viber(client: TestClient, channel: str, payload: dict[str, Any], token: str = VIBER_TOKEN) -> Any:
    raw = json.dumps(payload).encode()
    sig = hmac.new(token.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(f"/webhooks/viber/{channel}", content=raw, headers={"X-Viber-Content-Signature": sig})


def test_viber_message_and_statuses(client: TestClient, fake: FakeGraph) -> None:
    channel = shop(
        client, {"kind": "viber", "name": "Viber", "auth_token": VIBER_TOKEN, "bot_name": "Tea House"}
    )
    setup_check = {
        "event": "webhook",
        "timestamp": 1457764197627,
        "chat_hostname": "SN-376_",
        "message_token": 241256543215,
    }
    assert post_viber(client, channel, setup_check).status_code == 200
    message = {
        "event": "message",
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-376_",
        "message_token": 4912661846655238145,
        "sender": {
            "id": "01234567890A=",
            "name": "John McClane",
            "language": "en",
            "country": "HK",
            "api_version": 1,
        },
        "message": {"type": "text", "text": "How much is the milk tea?"},
        "silent": False,
    }
    assert post_viber(client, channel, message, token="forged-token-000000").status_code == 401
    assert post_viber(client, channel, message).json()["stored"] == 1
    assert post_viber(client, channel, message).json()["stored"] == 0
    sent = fake.wait_for(1)
    assert (
        sent[0]["receiver"] == "01234567890A="
        and sent[0]["sender"] == {"name": "Tea House"}
        and "HK$28" in sent[0]["text"]
    )
    deadline = time.monotonic() + 10
    while not outgoing(client) and time.monotonic() < deadline:
        time.sleep(0.02)
    token = outgoing(client)[0].external_id
    for event in ("seen", "delivered"):  # out of order: seen first, delivered must not move it back
        post_viber(
            client,
            channel,
            {"event": event, "timestamp": 1, "message_token": int(token), "user_id": "01234567890A="},
        )
    ingested(client)
    assert outgoing(client)[0].status == "read"


# --- Twilio SMS -------------------------------------------------------------------------------------


def post_sms(client: TestClient, channel: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> Any:
    url = f"http://testserver/webhooks/sms/{channel}"
    sig = twilio_signature(token, url, list(params.items()))
    return client.post(
        f"/webhooks/sms/{channel}",
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig},
    )


def test_twilio_sms(client: TestClient, fake: FakeGraph) -> None:
    channel = shop(
        client,
        {
            "kind": "sms",
            "name": "SMS",
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "from_number": "+85230001234",
        },
    )
    params = {
        "ToCountry": "HK",
        "SmsMessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "NumMedia": "0",
        "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "SmsStatus": "received",
        "Body": "How much is the milk tea?",
        "To": "+85230001234",
        "NumSegments": "1",
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "AccountSid": TWILIO_SID,
        "From": "+85291234567",
        "ApiVersion": "2010-04-01",
    }
    assert post_sms(client, channel, params, token="forged-token-0000000").status_code == 401
    answer = post_sms(client, channel, params)
    assert (
        answer.status_code == 200
        and answer.text == "<Response/>"
        and answer.headers["content-type"].startswith("text/xml")
    )
    post_sms(client, channel, params)  # Twilio retried: not answered twice
    sent = fake.wait_for(1)
    assert (
        sent[0]["api"] == "twilio" and sent[0]["To"] == "+85291234567" and sent[0]["From"] == "+85230001234"
    )
    assert "HK$28" in sent[0]["Body"] and fake.tokens[0].startswith("Basic ")
    settle(client)
    assert len(fake.sent) == 1
    deadline = time.monotonic() + 10
    while not outgoing(client) and time.monotonic() < deadline:
        time.sleep(0.02)
    sid = outgoing(client)[0].external_id
    status = {
        "MessageSid": sid,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": "+85291234567",
        "AccountSid": TWILIO_SID,
    }
    assert post_sms(client, channel, status).status_code == 200
    ingested(client)
    failed = outgoing(client)[0]
    assert failed.status == "failed" and "unreachable" in (failed.error or "")


def test_line_event_kinds() -> None:
    from channels.line import parse_events

    def event(kind: str, **body: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "timestamp": 1764000000000,
            "webhookEventId": f"ev-{kind}-{len(body)}",
            "replyToken": "rt",
            "source": {"type": "user", "userId": "U1"},
            **body,
        }

    payload = {
        "destination": "U0",
        "events": [
            event("message", message={"id": "1", "type": "image", "contentProvider": {"type": "line"}}),
            event(
                "message",
                message={
                    "id": "2",
                    "type": "location",
                    "title": "Lee Garden",
                    "address": "Causeway Bay",
                    "latitude": 22.28,
                    "longitude": 114.18,
                },
            ),
            event("message", message={"id": "3", "type": "sticker", "packageId": "1", "stickerId": "1"}),
            event("postback", postback={"data": "action=book&item=F02"}),
            event("follow"),
        ],
    }
    image, location, sticker, postback = parse_events(payload).inbound
    (follow,) = parse_events(payload).events
    assert image.text == "[image]" and image.data["message_id"] == "1"
    assert "Lee Garden" in location.text and location.data["location"]["latitude"] == 22.28
    assert sticker.answerable is False and follow.kind == "follow"
    assert postback.text == "action=book&item=F02"


def test_viber_and_twilio_kinds() -> None:
    from urllib.parse import urlencode

    from channels.twilio_sms import TwilioSmsAdapter
    from channels.viber import parse_callback

    picture = {
        "event": "message",
        "timestamp": 1764000000000,
        "message_token": 77,
        "sender": {"id": "v1", "name": "A"},
        "message": {"type": "picture", "text": "is this yours?", "media": "https://viber/x.jpg"},
    }
    location = {
        "event": "message",
        "timestamp": 1764000000000,
        "message_token": 78,
        "sender": {"id": "v1"},
        "message": {"type": "location", "location": {"lat": 22.28, "lon": 114.18}},
    }
    subscribed = {
        "event": "subscribed",
        "timestamp": 1764000000000,
        "user": {"id": "v1"},
        "message_token": 79,
    }
    failed = {
        "event": "failed",
        "timestamp": 1764000000000,
        "message_token": 80,
        "user_id": "v1",
        "desc": "not subscribed",
    }
    assert parse_callback(picture).inbound[0].data["media"] == "https://viber/x.jpg"
    assert parse_callback(location).inbound[0].text == "[location]"
    assert parse_callback(subscribed).events[0].kind == "follow"
    assert parse_callback(failed).statuses[0].status == "failed"
    mms = urlencode(
        {
            "MessageSid": "MM1",
            "From": "+85291234567",
            "To": "+85230001234",
            "Body": "",
            "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/1",
            "MediaContentType0": "image/jpeg",
        }
    )
    (message,), _, _, _ = TwilioSmsAdapter("https://api.twilio.com", http=HttpPool()).parse(mms.encode())
    assert (
        message.kind == "mms"
        and message.text == "[media]"
        and message.data["media"] == ["https://api.twilio.com/media/1"]
    )
