"""Facebook Messenger and Instagram messaging: Meta's `entry[].messaging[]` webhooks, one adapter for both.

Same signature as WhatsApp (X-Hub-Signature-256 with the app secret) and the same hub.challenge
handshake. Echoes of the page's own messages are ignored. Replies go through the Send API
(POST /{page-id}/messages) as RESPONSE messages inside the 24-hour window; the HUMAN_AGENT tag
(7 days) is for messages written by a person, so an AI reply outside the window is never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from channels import http_pool
from channels.base import Inbound, SendError, StatusUpdate, json_body
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


def _when(ms: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def parse_events(payload: dict[str, Any], kind: str) -> tuple[list[Inbound], list[StatusUpdate]]:
    if payload.get("object") != OBJECTS[kind] or not isinstance(payload.get("entry"), list):
        raise InvalidInput(f"not a {kind} webhook (object must be {OBJECTS[kind]!r} with entry[])")
    inbound: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in payload["entry"]:
        for event in entry.get("messaging", []):
            sender = str(event.get("sender", {}).get("id", ""))
            when = _when(event.get("timestamp"))
            if "message" in event:
                message = event["message"]
                if message.get("is_echo"):
                    continue  # our own message coming back
                data: dict[str, Any] = {}
                if "reply_to" in message:
                    data["reply_to"] = message["reply_to"].get("mid")
                if "quick_reply" in message:
                    data["quick_reply"] = message["quick_reply"].get("payload")
                attachments = message.get("attachments", [])
                if attachments:
                    data["attachments"] = [
                        {"type": a.get("type"), "url": a.get("payload", {}).get("url")} for a in attachments
                    ]
                text = (
                    message.get("text") or " ".join(f"[{a.get('type')}]" for a in attachments) or "[message]"
                )
                inbound.append(
                    Inbound(
                        external_id=message["mid"],
                        sender=sender,
                        phone=None,
                        name=None,
                        kind="text" if "text" in message else "attachment",
                        text=text,
                        sent_at=when,
                        reply_to=sender,
                        data=data,
                    )
                )
            elif "postback" in event:  # a button in a template or the Get Started button
                postback = event["postback"]
                inbound.append(
                    Inbound(
                        external_id=postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}",
                        sender=sender,
                        phone=None,
                        name=None,
                        kind="postback",
                        text=postback.get("title", ""),
                        sent_at=when,
                        reply_to=sender,
                        data={"payload": postback.get("payload")},
                    )
                )
            elif "reaction" in event:
                reaction = event["reaction"]
                inbound.append(
                    Inbound(
                        external_id=f"reaction:{reaction.get('mid')}:{event.get('timestamp')}",
                        sender=sender,
                        phone=None,
                        name=None,
                        kind="reaction",
                        text=f"[reaction {reaction.get('emoji', '')}]",
                        sent_at=when,
                        answerable=False,
                        reply_to=sender,
                        data={"reaction": reaction},
                    )
                )
            elif "delivery" in event:
                for mid in event["delivery"].get("mids", []):
                    statuses.append(
                        StatusUpdate(external_id=mid, status="delivered", sent_at=when, recipient=sender)
                    )
    return inbound, statuses


class MessengerAdapter:
    """Messenger (kind="messenger") or Instagram (kind="instagram") through the Graph API's Send API."""

    signs_url = False

    def __init__(self, kind: str, api_base: str) -> None:
        self.kind = kind
        self._base = api_base.rstrip("/")

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        verify_signature(raw, headers.get("x-hub-signature-256"), secrets["app_secret"])

    def parse(self, raw: bytes) -> tuple[list[Inbound], list[StatusUpdate]]:
        payload = json_body(raw)
        return parse_events(payload, self.kind)

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
            response = await http_pool.client().post(
                f"{self._base}/{config['page_id']}/messages",
                json=payload,
                headers={"Authorization": f"Bearer {secrets['access_token']}"},
            )
        except httpx.HTTPError as exc:
            raise SendError(
                f"the Graph API could not be reached ({type(exc).__name__})", retryable=True
            ) from exc
        body = response.json()
        if response.status_code >= 400 or "error" in body:
            error = body.get("error", {})
            code = int(error.get("code", response.status_code))
            reason, retry = ERRORS.get(
                code, (error.get("message", "the Send API refused the message"), False)
            )
            raise SendError(f"{reason} (code {code})", code=code, retryable=retry)
        return str(body["message_id"])
