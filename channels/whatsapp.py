"""WhatsApp Business Cloud API adapter: verify, parse, send. Nothing of its wire format leaves this file.

Webhooks: GET handshake (hub.mode / hub.verify_token / hub.challenge); POST signed with
X-Hub-Signature-256 = "sha256=" + HMAC-SHA256(app secret, raw body). One delivery may carry several
entries, changes, messages and statuses. Sending: POST /{phone-number-id}/messages on the Graph API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from channels.base import Inbound, SendError, StatusUpdate, json_body
from core.errors import Forbidden, InvalidInput, Unauthorized

# Meta's error codes by meaning: (readable reason, retry with back-off?)
ERRORS: dict[int, tuple[str, bool]] = {
    131047: (
        "window closed: the customer last wrote more than 24 hours ago; only an approved template may be sent",
        False,
    ),
    130429: ("throughput limit of the phone number reached; retried with back-off", True),
    131056: (
        "too many messages to this customer in a short time (pair rate limit); retried with back-off",
        True,
    ),
    131026: ("undeliverable: the number may not use WhatsApp or has not accepted the latest terms", False),
    131049: ("not delivered by Meta to keep ecosystem engagement healthy (marketing message limit)", False),
    131048: ("spam rate limit: too many of this number's messages were blocked or reported", False),
    368: ("the WhatsApp Business account is temporarily restricted for policy violations", False),
    131057: ("the WhatsApp Business account is in maintenance mode", False),
}


def meta_error(code: int | None, title: str) -> SendError:
    """A Graph API error by meaning: a readable reason, and whether backing off can help."""
    reason, retry = ERRORS.get(code or 0, (title or "the Graph API refused the message", False))
    return SendError(f"{reason} (code {code})" if code else reason, code=code, retryable=retry)


# --- verification -------------------------------------------------------------------------------------


def handshake(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str:
    if mode != "subscribe" or token is None or not hmac.compare_digest(token, verify_token):
        raise Forbidden("webhook verification failed: wrong hub.verify_token")
    return challenge or ""


def verify_signature(raw: bytes, header: str | None, app_secret: str) -> None:
    if not header or not header.startswith("sha256="):
        raise Unauthorized("missing X-Hub-Signature-256 header")
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.removeprefix("sha256=")):
        raise Unauthorized("bad X-Hub-Signature-256 signature")


# --- parsing ------------------------------------------------------------------------------------------


def _when(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _describe(message: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """The text the agent reads, whether it should answer, and what to keep."""
    kind = message.get("type", "unsupported")
    raw = message.get(kind)
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    data: dict[str, Any] = {}
    if "context" in message:
        data["reply_to"] = message["context"].get("id")
    if "referral" in message:
        data["referral"] = message["referral"]
    if kind == "text":
        return body.get("body", ""), True, data
    if kind in ("image", "audio", "video", "document", "sticker"):
        data.update(
            {
                "media_id": body.get("id"),
                "mime_type": body.get("mime_type"),
                "filename": body.get("filename"),
                "caption": body.get("caption"),
            }
        )
        caption = body.get("caption") or ""
        return caption or f"[{kind}]", kind != "sticker", data
    if kind == "location":
        data["location"] = body
        place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        return f"[location] {place} ({body.get('latitude')}, {body.get('longitude')})".strip(), True, data
    if kind == "contacts":
        people = message.get("contacts", [])
        data["contacts"] = people
        names = ", ".join(p.get("name", {}).get("formatted_name", "") for p in people)
        return f"[shared contacts] {names}", True, data
    if kind == "interactive":
        reply = body.get(str(body.get("type", "")), {})
        data["interactive"] = {"type": body.get("type"), "id": reply.get("id"), "title": reply.get("title")}
        return reply.get("title", ""), True, data
    if kind == "button":  # a template's quick-reply button
        data["button"] = body
        return body.get("text", ""), True, data
    if kind == "reaction":
        data["reaction"] = body
        return f"[reaction {body.get('emoji', '')}]", False, data
    data["errors"] = message.get("errors", [])
    return "[unsupported message]", False, data


def parse(payload: dict[str, Any]) -> tuple[list[Inbound], list[StatusUpdate]]:
    if payload.get("object") != "whatsapp_business_account" or not isinstance(payload.get("entry"), list):
        raise InvalidInput("not a WhatsApp Business Account webhook (object/entry missing)")
    inbound: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in payload["entry"]:
        for change in entry.get("changes", []):
            value = change.get("value", {})
            people = {}
            for contact in value.get("contacts", []):
                for key in (contact.get("wa_id"), contact.get("user_id")):
                    if key:
                        people[key] = contact
            for message in value.get("messages", []):
                wa_id = message.get("from")
                user_id = message.get("from_user_id")
                contact = people.get(user_id or "") or people.get(wa_id or "") or {}
                user_id = user_id or contact.get("user_id")
                text, answerable, data = _describe(message)
                inbound.append(
                    Inbound(
                        external_id=message["id"],
                        reply_to=wa_id or contact.get("wa_id") or user_id or "",
                        sender=user_id or wa_id or "unknown",
                        phone=wa_id or contact.get("wa_id"),
                        name=contact.get("profile", {}).get("name"),
                        kind=message.get("type", "unsupported"),
                        text=text,
                        sent_at=_when(message.get("timestamp")),
                        answerable=answerable and bool(text.strip()),
                        data=data,
                    )
                )
            for status in value.get("statuses", []):
                error = (status.get("errors") or [{}])[0]
                statuses.append(
                    StatusUpdate(
                        external_id=status["id"],
                        status=status.get("status", ""),
                        sent_at=_when(status.get("timestamp")),
                        recipient=status.get("recipient_id"),
                        error_code=error.get("code"),
                        error=meta_error(
                            error.get("code"), error.get("title") or error.get("message") or ""
                        ).reason
                        if status.get("status") == "failed"
                        else None,
                    )
                )
    return inbound, statuses


# --- sending ------------------------------------------------------------------------------------------


class RateLimiter:
    """Never exceed the number's throughput: each send reserves the next free slot, 1/rate apart.

    Slots are reserved under a thread lock (senders may run on several threads and event loops);
    the wait itself is an asyncio sleep.
    """

    def __init__(self, per_second: int) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    async def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class WhatsAppClient:
    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        per_second: int = 80,
        timeout: float = 10.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._phone = phone_number_id
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = timeout
        self._limiter = RateLimiter(per_second)

    async def _post(self, payload: dict[str, Any]) -> str:
        await self._limiter.wait()
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            try:
                response = await client.post(
                    f"{self._base}/{self._phone}/messages", json=payload, headers=self._headers
                )
            except httpx.HTTPError as exc:
                raise SendError(
                    f"the Graph API could not be reached ({type(exc).__name__})", retryable=True
                ) from exc
        body = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        if response.status_code >= 400 or "error" in body:
            error = body.get("error", {})
            raise meta_error(error.get("code"), error.get("message", f"HTTP {response.status_code}"))
        return str(body["messages"][0]["id"])

    def _base_payload(self, to: str, kind: str, reply_to: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        return payload

    async def send_text(self, to: str, text: str, reply_to: str | None = None) -> str:
        payload = self._base_payload(to, "text", reply_to)
        payload["text"] = {"body": text[:4096], "preview_url": False}
        return await self._post(payload)

    async def send_buttons(self, to: str, text: str, buttons: list[tuple[str, str]]) -> str:
        payload = self._base_payload(to, "interactive")
        payload["interactive"] = {
            "type": "button",
            "body": {"text": text},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": i, "title": t[:20]}} for i, t in buttons[:3]]
            },
        }
        return await self._post(payload)

    async def send_list(self, to: str, text: str, button: str, rows: list[tuple[str, str]]) -> str:
        payload = self._base_payload(to, "interactive")
        payload["interactive"] = {
            "type": "list",
            "body": {"text": text},
            "action": {
                "button": button[:20],
                "sections": [
                    {"title": button[:24], "rows": [{"id": i, "title": t[:24]} for i, t in rows[:10]]}
                ],
            },
        }
        return await self._post(payload)

    async def send_media(self, to: str, kind: str, link: str, caption: str | None = None) -> str:
        payload = self._base_payload(to, kind)
        payload[kind] = {"link": link, **({"caption": caption} if caption else {})}
        return await self._post(payload)

    async def send_template(self, to: str, name: str, language: str, body_parameters: list[str]) -> str:
        payload = self._base_payload(to, "template")
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if body_parameters:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in body_parameters]}
            ]
        payload["template"] = template
        return await self._post(payload)

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """GET /{media-id} gives a short-lived URL; fetching it needs the same token."""
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            meta = await client.get(f"{self._base}/{media_id}", headers=self._headers)
            if meta.status_code >= 400:
                raise meta_error(meta.json().get("error", {}).get("code"), "media lookup failed")
            info = meta.json()
            media = await client.get(info["url"], headers=self._headers)
            media.raise_for_status()
            return media.content, str(info.get("mime_type", media.headers.get("content-type", "")))


class WhatsAppAdapter:
    """The Adapter interface for WhatsApp (see channels/base.py)."""

    kind = "whatsapp"

    def __init__(self, api_base: str, default_per_second: int = 80) -> None:
        self._base = api_base
        self._default_rate = default_per_second
        self._clients: dict[str, WhatsAppClient] = {}  # one per phone number: its rate limit is shared

    def client(self, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> WhatsAppClient:
        phone = str(config["phone_number_id"])
        if phone not in self._clients:
            rate = int(config.get("messages_per_second") or self._default_rate)
            self._clients[phone] = WhatsAppClient(self._base, phone, secrets["access_token"], per_second=rate)
        return self._clients[phone]

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        verify_signature(raw, headers.get("x-hub-signature-256"), secrets["app_secret"])

    def parse(self, raw: bytes) -> tuple[list[Inbound], list[StatusUpdate]]:
        payload = json_body(raw)
        return parse(payload)

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        return await self.client(config, secrets).send_text(to, text)

    async def send_outside_window(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str
    ) -> str | None:
        """Outside the 24-hour window only an approved template may go: the channel's fallback, if any."""
        template = config.get("fallback_template")
        if not template:
            return None
        return await self.client(config, secrets).send_template(
            to, template["name"], template.get("language", "en"), []
        )
