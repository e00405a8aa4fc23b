"""Property-based fuzzing of every channel adapter's verify and parse: whatever headers, URL and body
arrive, they raise only the project's own errors (a 4xx), never TypeError, KeyError, ValueError or
RecursionError (a 500); and whatever parse returns fits where it is stored (text fields, JSON data,
plausible times), so the ingest job never fails on it. Kept to a few seconds for `make test`."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import Adapter, Inbound, Parsed, StatusUpdate, json_body, platform_time
from channels.http_pool import HttpPool
from channels.line import LineAdapter
from channels.messenger import MessengerAdapter
from channels.telegram import TelegramAdapter
from channels.twilio_sms import TwilioSmsAdapter
from channels.viber import ViberAdapter
from channels.wechat import WeChatAdapter
from channels.whatsapp import WhatsAppAdapter
from core.errors import ParleyError
from core.signatures import matches
from tests.channels.signing import CHANNELS

FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
HTTP = HttpPool()  # nothing is sent: the adapters only parse here
ADAPTERS: dict[str, Adapter] = {
    "whatsapp": WhatsAppAdapter("http://127.0.0.1:9", http=HTTP),
    "messenger": MessengerAdapter("messenger", "http://127.0.0.1:9", http=HTTP),
    "instagram": MessengerAdapter("instagram", "http://127.0.0.1:9", http=HTTP),
    "telegram": TelegramAdapter("http://127.0.0.1:9", http=HTTP),
    "line": LineAdapter("http://127.0.0.1:9", http=HTTP),
    "viber": ViberAdapter("http://127.0.0.1:9", http=HTTP),
    "sms": TwilioSmsAdapter("http://127.0.0.1:9", http=HTTP),
    "wechat": WeChatAdapter("http://127.0.0.1:9", http=HTTP),
}
SECRETS = {kind: CHANNELS.get(kind, CHANNELS["messenger"]) for kind in ADAPTERS}

text = st.text(max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=25,
)
# Keys the adapters look for, so generated objects reach deep into their readers.
KEYS = st.sampled_from(
    [
        "id",
        "from",
        "type",
        "text",
        "body",
        "timestamp",
        "messages",
        "statuses",
        "changes",
        "value",
        "entry",
        "messaging",
        "message",
        "mid",
        "sender",
        "recipient",
        "delivery",
        "mids",
        "postback",
        "reaction",
        "events",
        "source",
        "userId",
        "webhookEventId",
        "replyToken",
        "event",
        "message_token",
        "update_id",
        "date",
        "chat",
        "callback_query",
        "edited_message",
        "photo",
        "caption",
        "location",
        "contact",
        "contacts",
        "profile",
        "wa_id",
        "user_id",
        "errors",
        "status",
        "interactive",
        "button_reply",
        "title",
        "referral",
        "context",
        "attachments",
        "payload",
        "quick_reply",
        "is_echo",
        "media",
        "tracking_data",
        "name",
        "emoji",
        "data",
    ]
)
shaped = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=40,
)
ENVELOPES = {
    "whatsapp": lambda v: {"object": "whatsapp_business_account", "entry": v if isinstance(v, list) else [v]},
    "messenger": lambda v: {"object": "page", "entry": v if isinstance(v, list) else [v]},
    "instagram": lambda v: {"object": "instagram", "entry": v if isinstance(v, list) else [v]},
    "line": lambda v: {"events": v if isinstance(v, list) else [v]},
    "telegram": lambda v: {**(v if isinstance(v, dict) else {"message": v}), "update_id": 1},
    "viber": lambda v: {**(v if isinstance(v, dict) else {"message": v}), "event": "message"},
}


def check(parsed: Parsed) -> None:
    """What parse returns can be stored: text where text goes, JSON data, a time within reason."""
    inbound, statuses, unparsed, _ = parsed
    items: list[Inbound | StatusUpdate] = [*inbound, *statuses]
    for item in items:
        assert isinstance(item.external_id, str) and 0 < len(item.external_id) <= 200
        assert 2000 <= item.sent_at.year <= 2100
        if isinstance(item, Inbound):
            assert all(isinstance(v, str) for v in (item.sender, item.text, item.kind, item.reply_to))
            json.dumps(item.data)
    for event in unparsed:
        assert isinstance(event.raw, str) and isinstance(event.error, str)


def parse_or_refuse(kind: str, raw: bytes) -> None:
    try:
        parsed = ADAPTERS[kind].parse(raw)
    except ParleyError:
        return
    check(parsed)


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
@FUZZ
@given(
    headers=st.dictionaries(st.text(max_size=40), st.text(max_size=80), max_size=5),
    raw=st.binary(max_size=200),
    url=st.text(max_size=120),
)
def test_verify_raises_only_our_errors(kind: str, headers: dict[str, str], raw: bytes, url: str) -> None:
    adapter = ADAPTERS[kind]
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("x-hub-signature-256", "x-telegram-bot-api-secret-token", "x-line-signature"):
        lowered.setdefault(name, headers.get("", "sha256=" + "é" * 64))
    with contextlib.suppress(ParleyError):  # Unauthorized: a 401
        adapter.verify(lowered, raw, SECRETS[kind], f"https://example.test/webhooks/{kind}/c?{url}")


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
@FUZZ
@given(raw=st.binary(max_size=300))
def test_parse_of_any_bytes_raises_only_our_errors(kind: str, raw: bytes) -> None:
    parse_or_refuse(kind, raw)


@pytest.mark.parametrize("kind", sorted(ENVELOPES))
@FUZZ
@given(value=shaped)
def test_parse_of_any_json_in_the_platforms_envelope(kind: str, value: Any) -> None:
    parse_or_refuse(kind, json.dumps(ENVELOPES[kind](value)).encode())


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["MessageSid", "Body", "From", "To", "NumMedia", "MediaUrl0", "MessageStatus", "ErrorCode"]
        ),
        st.text(max_size=30),
    )
)
def test_twilio_forms(fields: dict[str, str]) -> None:
    parse_or_refuse("sms", urlencode({"MessageSid": "SM1", **fields}).encode())


@FUZZ
@given(
    values=st.dictionaries(
        st.sampled_from(["CreateTime", "MsgType", "MsgId", "Content", "Event", "MediaId", "Label"]),
        st.text(max_size=30),
    )
)
def test_wechat_xml(values: dict[str, str]) -> None:
    from xml.sax.saxutils import escape

    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in values.items())
    parse_or_refuse(
        "wechat", f"<xml><FromUserName>o1</FromUserName>{inner}</xml>".encode("utf-8", "surrogatepass")
    )


@FUZZ
@given(depth=st.integers(min_value=1, max_value=5000), opener=st.sampled_from([b"[", b'{"a":']))
def test_json_body_refuses_deep_bodies_with_our_error(depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    try:
        json_body(b'{"x":' + opener * depth + b"1" + closer * depth + b"}")
    except ParleyError as exc:
        assert exc.code == "too_deep"
        assert depth > 60


@FUZZ
@given(value=json_values, millis=st.booleans())
def test_platform_time_is_always_a_plausible_time(value: Any, millis: bool) -> None:
    when = platform_time(value, millis=millis)
    assert when.tzinfo is UTC and datetime(2000, 1, 1, tzinfo=UTC) <= when <= datetime(2100, 1, 1, tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool) and 10**9 <= value <= 4 * 10**9 and not millis:
        assert math.isclose(when.timestamp(), value)


@FUZZ
@given(given_=st.none() | st.text() | st.binary(), expected=st.text(min_size=1) | st.binary(min_size=1))
def test_matches_compares_anything(given_: str | bytes | None, expected: str | bytes) -> None:
    assert matches(given_, expected) in (True, False)
    assert matches(expected, expected) is True
