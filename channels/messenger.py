"""Facebook Messenger and Instagram messaging: Meta's `entry[].messaging[]` webhooks, one adapter for both.

Same signature as WhatsApp (X-Hub-Signature-256 with the app secret) and the same hub.challenge
handshake. Echoes of the page's own messages are ignored. Replies go through the Send API
(POST /{page-id}/messages) as RESPONSE messages inside the 24-hour window; the HUMAN_AGENT tag
(7 days) is for messages written by a person, so an AI reply outside the window is never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from channels.base import (
    Events,
    Inbound,
    Parsed,
    PlatformEvent,
    SendError,
    StatusUpdate,
    int_at,
    json_body,
    object_at,
    platform_time,
    response_json,
    sent_without_id,
)
from channels.http_pool import HttpPool
from channels.whatsapp import verify_signature
from core.errors import InvalidInput

OBJECTS = {"messenger": "page", "instagram": "instagram"}
# Send API errors by meaning: (reason, retry?)
ERRORS: dict[int, tuple[str, bool]] = {
    10: ("outside the 24-hour messaging window; only a person may reply now (HUMAN_AGENT tag)", False),
    551: ("the person is not available to receive messages", False),
    613: ("the page is sending too fast (rate limit); retried with back-off", True),
    4: ("the app hit its request limit; retried with back-off", True),
}


def parse_events(payload: dict[str, Any], kind: str) -> Parsed:
    """Every messaging event of a delivery, each read on its own (see channels/base.py's Events)."""
    if payload.get("object") != OBJECTS[kind] or not isinstance(payload.get("entry"), list):
        raise InvalidInput(f"not a {kind} webhook (object must be {OBJECTS[kind]!r} with entry[])")
    events = Events()
    for entry in payload["entry"]:
        events.read(entry, lambda entry: _read_entry(events, entry))
    return events.parsed()


def _read_entry(events: Events, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise InvalidInput("an entry that is not an object")
    messaging = entry.get("messaging", [])
    if not isinstance(messaging, list):
        raise InvalidInput("messaging is not a list")
    for event in messaging:
        events.read(event, _read_event)


def _read_event(event: Any) -> list[Inbound | StatusUpdate | PlatformEvent]:
    if not isinstance(event, dict):
        raise InvalidInput("an event that is not an object")
    sender = str((event.get("sender") or {}).get("id", ""))
    when = platform_time(event.get("timestamp"), millis=True)
    if "message" in event:
        message = event["message"]
        if message.get("is_echo"):
            return []  # our own message coming back
        mid = message.get("mid")
        if not isinstance(mid, str) or not mid:
            raise InvalidInput("a message without mid")
        data: dict[str, Any] = {}
        if "reply_to" in message:
            data["reply_to"] = message["reply_to"].get("mid")
        if "quick_reply" in message:
            data["quick_reply"] = message["quick_reply"].get("payload")
        attachments = message.get("attachments") or []
        if attachments:
            data["attachments"] = [
                {"type": a.get("type"), "url": (a.get("payload") or {}).get("url")} for a in attachments
            ]
        text = message.get("text") or " ".join(f"[{a.get('type')}]" for a in attachments) or "[message]"
        return [
            Inbound(
                external_id=mid,
                sender=sender,
                phone=None,
                name=None,
                kind="text" if "text" in message else "attachment",
                text=text,
                sent_at=when,
                reply_to=sender,
                data=data,
            )
        ]
    if "postback" in event:  # a button in a template or the Get Started button
        postback = event["postback"]
        return [
            Inbound(
                external_id=postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}",
                sender=sender,
                phone=None,
                name=None,
                kind="postback",
                text=str(postback.get("title", "")),
                sent_at=when,
                reply_to=sender,
                data={"payload": postback.get("payload")},
            )
        ]
    if "reaction" in event:  # on a message of ours or theirs; "unreact" takes it away
        reaction = event["reaction"]
        emoji = reaction.get("emoji") if reaction.get("action") != "unreact" else ""
        return [
            PlatformEvent(
                external_id=f"reaction:{reaction.get('mid')}:{sender}:{event.get('timestamp')}",
                sender=sender,
                kind="reaction",
                sent_at=when,
                target=str(reaction.get("mid") or ""),
                text=emoji if isinstance(emoji, str) else "",
                reply_to=sender,
                data={"reaction": reaction.get("reaction")},
            )
        ]
    if "message_edit" in event:  # the customer edited a message (up to five times)
        edit = event["message_edit"]
        return [
            PlatformEvent(
                external_id=f"edit:{edit.get('mid')}:{edit.get('num_edit')}:{event.get('timestamp')}",
                sender=sender,
                kind="edit",
                sent_at=when,
                target=str(edit.get("mid") or ""),
                text=str(edit.get("text") or ""),
                reply_to=sender,
            )
        ]
    if "delivery" in event:
        return [
            StatusUpdate(external_id=str(mid), status="delivered", sent_at=when, recipient=sender)
            for mid in event["delivery"].get("mids") or []
        ]
    return []


class MessengerAdapter:
    """Messenger (kind="messenger") or Instagram (kind="instagram") through the Graph API's Send API."""

    signs_url = False

    def __init__(self, kind: str, api_base: str, *, http: HttpPool) -> None:
        self.kind = kind
        self._base = api_base.rstrip("/")
        self._http = http

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        verify_signature(raw, headers.get("x-hub-signature-256"), secrets["app_secret"])

    def parse(self, raw: bytes) -> Parsed:
        return parse_events(json_body(raw), self.kind)

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        payload = {"recipient": {"id": to}, "messaging_type": "RESPONSE", "message": {"text": text[:2000]}}
        return await self._send(config, secrets, payload)

    async def send_human_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        """A message a person wrote, after the 24-hour window (up to 7 days): the HUMAN_AGENT tag. Never
        used for AI replies."""
        payload = {
            "recipient": {"id": to},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": {"text": text[:2000]},
        }
        return await self._send(config, secrets, payload)

    async def _send(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], payload: dict[str, Any]
    ) -> str:
        try:
            response = await self._http.client().post(
                f"{self._base}/{config['page_id']}/messages",
                json=payload,
                headers={"Authorization": f"Bearer {secrets['access_token']}"},
            )
        except httpx.HTTPError as exc:
            raise SendError(
                f"the Graph API could not be reached ({type(exc).__name__})", retryable=True
            ) from exc
        body = response_json(response)
        if response.status_code >= 400 or "error" in body:
            error = object_at(body, "error")
            code = int_at(error, "code", response.status_code)
            reason, retry = ERRORS.get(
                code, (str(error.get("message", "the Send API refused the message")), False)
            )
            raise SendError(f"{reason} (code {code})", code=code, retryable=retry)
        # A 2xx is a message Meta took: without its id it was still sent, and must not be sent again.
        return str(body.get("message_id") or sent_without_id(self.kind))
