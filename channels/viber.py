"""Viber bot adapter: X-Viber-Content-Signature = hex HMAC-SHA256(auth token, body).

Callbacks carry a `message_token` (the dedupe key); delivered/seen/failed callbacks update our own
messages. Replies go through POST /pa/send_message with the X-Viber-Auth-Token header.
"""

from __future__ import annotations

import hashlib
import hmac
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
    StatusUpdate,
    int_at,
    json_body,
    platform_time,
    response_json,
    sent_without_id,
)
from channels.http_pool import HttpPool
from core.errors import InvalidInput, Unauthorized
from core.signatures import matches

STATUSES = {"delivered": "delivered", "seen": "read", "failed": "failed"}
# Viber's account events as the events every platform shares: a bot may write to a subscribed user only
# (a conversation_started user has opened the chat but not subscribed yet).
EVENTS: dict[str, EventKind] = {
    "subscribed": "follow",
    "unsubscribed": "unfollow",
    "conversation_started": "started",
}
ERRORS = {
    6: "the receiver is not subscribed to the bot",
    5: "the receiver is not registered to Viber",
    12: "the bot sent too many messages (rate limit); retried",
}


def parse_callback(payload: dict[str, Any]) -> Parsed:
    """A delivery holds one callback: read on its own all the same (see channels/base.py's Events)."""
    if not isinstance(payload.get("event"), str):
        raise InvalidInput("not a Viber callback (event missing)")
    events = Events()
    events.read(payload, _read_callback)
    return events.parsed()


def _read_callback(payload: dict[str, Any]) -> list[Inbound | StatusUpdate | PlatformEvent]:
    event = payload["event"]
    when = platform_time(payload.get("timestamp"), millis=True)
    token = str(payload.get("message_token", ""))
    if event in STATUSES:
        return [
            StatusUpdate(
                external_id=token,
                status=STATUSES[event],
                sent_at=when,
                recipient=payload.get("user_id"),
                error=payload.get("desc"),
            )
        ]
    if event in EVENTS:
        found = payload.get("user")
        user: dict[str, Any] = found if isinstance(found, dict) else {}
        who = str(user.get("id") or payload.get("user_id") or "")
        return [
            PlatformEvent(
                external_id=token or f"{event}:{who}:{payload.get('timestamp')}",
                sender=who,
                kind=EVENTS[event],
                sent_at=when,
                name=user.get("name") if isinstance(user.get("name"), str) else None,
                reply_to=who,
                data={
                    **{k: payload[k] for k in ("context", "subscribed") if k in payload},
                    # the device's language (channels/welcome.py picks the welcome's by it)
                    **({"language": user["language"]} if isinstance(user.get("language"), str) else {}),
                },
            )
        ]
    if event != "message":
        return []  # the webhook set-up check, client_status: nothing to store
    sender = payload.get("sender") or {}
    message = payload.get("message") or {}
    mtype = message.get("type", "text")
    text = message.get("text") or (f"[{mtype}]" if mtype != "text" else "")
    data = {k: message[k] for k in ("media", "location", "contact", "tracking_data") if k in message}
    return [
        Inbound(
            external_id=token,
            sender=str(sender.get("id", "")),
            phone=None,
            name=sender.get("name"),
            kind=mtype,
            text=text,
            sent_at=when,
            answerable=mtype != "sticker" and bool(text),
            reply_to=str(sender.get("id", "")),
            data=data,
        )
    ]


class ViberAdapter:
    kind = "viber"
    signs_url = False

    def __init__(self, api_base: str, *, http: HttpPool) -> None:
        self._base = api_base.rstrip("/")
        self._http = http

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        given = headers.get("x-viber-content-signature")
        expected = hmac.new(str(secrets["auth_token"]).encode(), raw, hashlib.sha256).hexdigest()
        if not matches(given, expected):
            raise Unauthorized("missing or bad X-Viber-Content-Signature")

    def parse(self, raw: bytes) -> Parsed:
        return parse_callback(json_body(raw))

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        body = {
            "receiver": to,
            "type": "text",
            "text": text[:7000],
            "sender": {"name": config.get("bot_name", "Bot")},
        }
        try:
            response = await self._http.client().post(
                f"{self._base}/pa/send_message",
                json=body,
                headers={"X-Viber-Auth-Token": str(secrets["auth_token"])},
            )
        except httpx.HTTPError as exc:
            raise SendError(f"Viber could not be reached ({type(exc).__name__})", retryable=True) from exc
        result = response_json(response)
        if response.status_code < 300 and not result:  # taken, but the answer could not be read
            return sent_without_id("viber")
        status = int_at(result, "status", -1)
        if status != 0:
            reason = ERRORS.get(status, result.get("status_message", "Viber refused the message"))
            raise SendError(f"{reason} (status {status})", code=status, retryable=status == 12)
        return str(result.get("message_token") or sent_without_id("viber"))
