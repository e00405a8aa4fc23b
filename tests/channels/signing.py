"""One channel of each kind and correctly signed deliveries to it, for the tests that send every platform
the same hostile input (tests/channels/test_hostile_input.py, test_unparsed_events.py, test_wechat_replay.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi.testclient import TestClient

from channels.twilio_sms import signature as twilio_signature
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth

META_SECRET = "meta-app-secret-0123"
TELEGRAM_SECRET = "telegram-secret-token-0123"
LINE_SECRET = "line-channel-secret-0123"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
TWILIO_TOKEN = "twilio-auth-token-0123456"
WECHAT_TOKEN = "parleytoken"

CHANNELS: dict[str, dict[str, Any]] = {
    "whatsapp": {
        "phone_number_id": "1234567890",
        "access_token": "EAAG-access-token-0123",
        "app_secret": META_SECRET,
        "verify_token": "verify-token-0123",
    },
    "messenger": {
        "page_id": "1029384756",
        "access_token": "EAAG-access-token-0123",
        "app_secret": META_SECRET,
        "verify_token": "verify-token-0123",
    },
    "telegram": {"bot_token": "123456789:AAH-abcdefghijklmnopqrstu", "secret_token": TELEGRAM_SECRET},
    "line": {"channel_secret": LINE_SECRET, "access_token": "line-access-token-0123"},
    "viber": {"auth_token": VIBER_TOKEN},
    "sms": {"account_sid": "AC" + "0" * 31 + "1", "auth_token": TWILIO_TOKEN, "from_number": "+85230001234"},
    "wechat": {"app_id": "wx1234567890abcdef", "app_secret": "wechat-app-secret-0123", "token": WECHAT_TOKEN},
}
# The header each platform signs its deliveries in (WeChat signs the query string).
SIGNATURE_HEADERS = {
    "whatsapp": "x-hub-signature-256",
    "messenger": "x-hub-signature-256",
    "telegram": "x-telegram-bot-api-secret-token",
    "line": "x-line-signature",
    "viber": "x-viber-content-signature",
    "sms": "x-twilio-signature",
}


def fake_platforms(fake: FakeGraph) -> dict[str, str]:
    """Settings that point every channel's API at the fake server."""
    bases = ("telegram", "line", "viber", "twilio", "wechat")
    return {
        "whatsapp_api_base": fake.url,
        "messenger_api_base": fake.url,
        **{f"{name}_api_base": fake.base for name in bases},
    }


def create_channel(client: TestClient, key: str, kind: str) -> str:
    body = {"kind": kind, "name": kind.title(), **CHANNELS[kind]}
    response = client.post("/v1/channels", headers=auth(key), json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wechat_query(timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(8)
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, stamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": stamp, "nonce": nonce}


def deliver(client: TestClient, kind: str, channel: str, body: bytes | dict[str, Any], **query: str) -> Any:
    """POST a delivery signed as the platform signs it (a dict is sent as JSON, or as a form for SMS)."""
    url = f"/webhooks/{kind}/{channel}"
    if isinstance(body, dict):
        body = urlencode(body).encode() if kind == "sms" else json.dumps(body).encode()
    headers: dict[str, str] = {}
    if kind in ("whatsapp", "messenger"):
        headers[SIGNATURE_HEADERS[kind]] = (
            "sha256=" + hmac.new(META_SECRET.encode(), body, "sha256").hexdigest()
        )
    elif kind == "telegram":
        headers[SIGNATURE_HEADERS[kind]] = TELEGRAM_SECRET
    elif kind == "line":
        digest = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
        headers[SIGNATURE_HEADERS[kind]] = base64.b64encode(digest).decode()
    elif kind == "viber":
        headers[SIGNATURE_HEADERS[kind]] = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    elif kind == "sms":
        params = parse_qsl(body.decode(), keep_blank_values=True)
        headers[SIGNATURE_HEADERS[kind]] = twilio_signature(TWILIO_TOKEN, f"http://testserver{url}", params)
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif kind == "wechat":
        query = {**wechat_query(), **query}
    return client.post(url, content=body, headers=headers, params=query or None)


# --- a text message in each platform's format --------------------------------------------------------


def wechat_xml(created: str, msg_id: str, text: str = "hi") -> bytes:
    return (
        "<xml><ToUserName>gh_9f2b2f3c8a1e</ToUserName><FromUserName>oUpF8uMuAJO</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>text</MsgType><Content>{text}</Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def telegram_update(date: Any, update_id: int, text: str = "hi") -> dict[str, Any]:
    message = {"message_id": 1, "date": date, "from": {"id": 7}, "chat": {"id": 7}, "text": "hi"}
    return {"update_id": update_id, "message": message}


def line_events(timestamp: Any, event_id: str, text: str = "hi") -> dict[str, Any]:
    event = {
        "type": "message",
        "timestamp": timestamp,
        "webhookEventId": event_id,
        "source": {"type": "user", "userId": "U4af4980629"},
        "message": {"id": "1", "type": "text", "text": text},
    }
    return {"destination": "U0", "events": [event]}


def viber_callback(timestamp: Any, token: str, text: str = "hi") -> dict[str, Any]:
    return {
        "event": "message",
        "timestamp": timestamp,
        "message_token": token,
        "sender": {"id": "v1", "name": "A"},
        "message": {"type": "text", "text": text},
    }


def whatsapp_delivery(timestamp: Any, wamid: str, text: str = "hi") -> dict[str, Any]:
    message = {
        "from": "85291234567",
        "id": wamid,
        "timestamp": timestamp,
        "type": "text",
        "text": {"body": text},
    }
    value = {"messaging_product": "whatsapp", "messages": [message]}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"value": value}]}]}


def messenger_delivery(timestamp: Any, mid: str, text: str = "hi") -> dict[str, Any]:
    event = {"sender": {"id": "6754230144662"}, "recipient": {"id": "1"}, "timestamp": timestamp}
    return {
        "object": "page",
        "entry": [{"id": "1", "messaging": [{**event, "message": {"mid": mid, "text": text}}]}],
    }


def sms_form(sid: str, text: str = "hi") -> dict[str, str]:
    return {"MessageSid": sid, "From": "+85291234567", "To": "+85230001234", "Body": text, "NumMedia": "0"}


def text_delivery(kind: str, n: int, text: str) -> bytes | dict[str, Any]:
    """Message number n of a customer, sent now, in the platform's format."""
    now = int(time.time())
    builders: dict[str, Callable[[], bytes | dict[str, Any]]] = {
        "whatsapp": lambda: whatsapp_delivery(now, f"wamid.t{n}", text),
        "messenger": lambda: messenger_delivery(now * 1000, f"m_t{n}", text),
        "telegram": lambda: telegram_update(now, 5000 + n, text),
        "line": lambda: line_events(now * 1000, f"01HT{n}", text),
        "viber": lambda: viber_callback(now * 1000, f"7{n:08d}", text),
        "sms": lambda: sms_form(f"SM{n:032d}", text),
        "wechat": lambda: wechat_xml(str(now), f"70547685900647{n:05d}", text),
    }
    return builders[kind]()
