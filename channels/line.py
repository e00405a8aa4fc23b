"""LINE Messaging API adapter.

Webhooks are signed: x-line-signature = base64(HMAC-SHA256(channel secret, body)); each event has a
`webhookEventId` (the dedupe key; redeliveries keep it). A reply token is valid for about a minute,
so a reply that comes later goes through the push API instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from channels.base import (
    EventKind,
    Events,
    Inbound,
    Parsed,
    PlatformEvent,
    SendError,
    json_body,
    platform_time,
    raw_text,
    response_json,
)
from channels.http_pool import HttpPool
from core.errors import InvalidInput, Unauthorized
from core.signatures import matches

REPLY_TOKEN_SECONDS = 50  # LINE accepts a reply token for about a minute; leave a margin


def _address(user_id: str, reply_token: str | None, timestamp_ms: int) -> str:
    """Where a reply goes: the user, plus the reply token while it is fresh (opaque outside this adapter)."""
    return json.dumps({"to": user_id, "token": reply_token, "at": timestamp_ms})


def parse_events(payload: dict[str, Any]) -> Parsed:
    """Every event of a delivery, each read on its own (see channels/base.py's Events)."""
    if not isinstance(payload.get("events"), list):
        raise InvalidInput("not a LINE webhook (events[] missing)")
    events = Events()
    for event in payload["events"]:
        events.read(event, _read_event)
    return events.parsed()


# LINE's account events, as the events every platform shares (channels/base.py's EventKind).
ACCOUNT_EVENTS: dict[str, EventKind] = {
    "follow": "follow",
    "unfollow": "unfollow",
    "join": "join",
    "leave": "leave",
}


def _read_event(event: Any) -> list[Inbound | PlatformEvent]:
    if not isinstance(event, dict):
        raise InvalidInput("an event that is not an object")
    source = event.get("source") or {}
    user = str(source.get("userId") or source.get("groupId") or source.get("roomId") or "")
    when = platform_time(event.get("timestamp"), millis=True)
    common: dict[str, Any] = {
        "external_id": str(event.get("webhookEventId") or _content_id(event)),
        "sender": user,
        "phone": None,
        "name": None,
        "sent_at": when,
        "reply_to": _address(user, event.get("replyToken"), int(when.timestamp() * 1000)),
    }
    kind = event.get("type")
    if kind == "message":
        message = event.get("message") or {}
        mtype = str(message.get("type", "unknown"))
        data: dict[str, Any] = {"message_id": message.get("id")}
        if mtype == "text":
            text, answerable = str(message.get("text", "")), True
        elif mtype == "location":
            text = f"[location] {message.get('title') or ''} {message.get('address') or ''}".strip()
            answerable, data["location"] = True, message
        elif mtype == "sticker":
            # A message sticker carries the words the customer typed on it (`text`): that is what they said.
            # Keywords describe the sticker (LINE picks up to 15 at random): kept, never answered.
            typed = message.get("text")
            data["sticker"] = {k: message.get(k) for k in ("packageId", "stickerId", "keywords")}
            said = typed.strip() if isinstance(typed, str) else ""
            text, answerable = said or "[sticker]", bool(said)
        else:  # image, video, audio, file: content via GET /v2/bot/message/{id}/content
            text, answerable = f"[{mtype}]", True
        return [Inbound(kind=mtype, text=text, answerable=answerable, data=data, **common)]
    if kind == "postback":
        postback = event.get("postback") or {}
        text = str(postback.get("data", ""))
        return [Inbound(kind="postback", text=text, data={"postback": postback}, **common)]
    if kind in ACCOUNT_EVENTS:  # an unfollow is LINE's block: nothing may be sent until a new follow
        data = {"follow": event["follow"]} if isinstance(event.get("follow"), dict) else {}
        return [PlatformEvent(kind=ACCOUNT_EVENTS[kind], data=data, **common)]
    return []


def _content_id(event: dict[str, Any]) -> str:
    """An id for an event without webhookEventId: from its content, so the delivery's two readings (on
    arrival and when ingested) agree, and a redelivery is recognised."""
    return "line:" + hashlib.sha256(raw_text(event).encode("utf-8", "surrogatepass")).hexdigest()[:40]


class LineAdapter:
    kind = "line"
    signs_url = False

    def __init__(self, api_base: str, *, http: HttpPool) -> None:
        self._base = api_base.rstrip("/")
        self._http = http

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        given = headers.get("x-line-signature")
        expected = base64.b64encode(
            hmac.new(str(secrets["channel_secret"]).encode(), raw, hashlib.sha256).digest()
        )
        if not matches(given, expected):
            raise Unauthorized("missing or bad x-line-signature")

    def parse(self, raw: bytes) -> Parsed:
        return parse_events(json_body(raw))

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        address = json.loads(to)
        fresh = address.get("token") and time.time() * 1000 - int(address["at"]) < REPLY_TOKEN_SECONDS * 1000
        messages = [{"type": "text", "text": text[:5000]}]
        if fresh:
            path, body = "/v2/bot/message/reply", {"replyToken": address["token"], "messages": messages}
        else:  # the agent was slow: the reply token has expired, push instead
            path, body = "/v2/bot/message/push", {"to": address["to"], "messages": messages}
        retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{address['to']}:{address['at']}:{text}"))
        headers = {"Authorization": f"Bearer {secrets['access_token']}", "X-Line-Retry-Key": retry_key}
        try:
            response = await self._http.client().post(self._base + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(f"LINE could not be reached ({type(exc).__name__})", retryable=True) from exc
        if response.status_code == 409:  # the retry key was used: this message was already sent
            return f"line:{retry_key}"
        answer = response_json(response)
        if response.status_code >= 400:
            detail = answer.get("message", "refused")
            raise SendError(
                f"LINE refused the message: {detail} (HTTP {response.status_code})",
                code=response.status_code,
                retryable=response.status_code in (429, 500, 502, 503),
            )
        # A 2xx is a message LINE took: without its id it was still sent (the retry key names it).
        sent = answer.get("sentMessages")
        first = sent[0] if isinstance(sent, list) and sent and isinstance(sent[0], dict) else {}
        return str(first.get("id") or f"line:{retry_key}")
