"""WhatsApp Business Cloud API adapter: verify, parse, send (the HTTP client is whatsapp_client.py).

Webhooks: GET handshake (hub.mode / hub.verify_token / hub.challenge); POST signed with
X-Hub-Signature-256 = "sha256=" + HMAC-SHA256(app secret, raw body). One delivery may carry several
entries, changes, messages and statuses. Sending: POST /{phone-number-id}/messages on the Graph API.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from channels.base import Events, Inbound, Parsed, PlatformEvent, StatusUpdate, json_body, platform_time
from channels.http_pool import HttpPool
from channels.send_budget import SendBudgets
from channels.whatsapp_client import WhatsAppClient, meta_error
from channels.whatsapp_order import order_data, order_text
from core.errors import Forbidden, InvalidInput, Unauthorized
from core.signatures import matches

# --- verification -------------------------------------------------------------------------------------


def handshake(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str:
    if mode != "subscribe" or not matches(token, verify_token):
        raise Forbidden("webhook verification failed: wrong hub.verify_token")
    return challenge or ""


def verify_signature(raw: bytes, header: str | None, app_secret: str) -> None:
    if not header or not header.startswith("sha256="):
        raise Unauthorized("missing X-Hub-Signature-256 header")
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    if not matches(header.removeprefix("sha256="), expected):
        raise Unauthorized("bad X-Hub-Signature-256 signature")


# --- parsing ------------------------------------------------------------------------------------------


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
    if kind == "order":  # a cart from the catalog: the items are what to answer
        data["order"] = order_data(body)
        return order_text(data["order"]), True, data
    data["errors"] = message.get("errors", [])
    return "[unsupported message]", False, data


def parse(payload: dict[str, Any]) -> Parsed:
    """Every message and status of a delivery, each read on its own (entries and changes too: a broken
    one is kept as Unparsed whole, the ones beside it proceed)."""
    if payload.get("object") != "whatsapp_business_account" or not isinstance(payload.get("entry"), list):
        raise InvalidInput("not a WhatsApp Business Account webhook (object/entry missing)")
    events = Events()
    for entry in payload["entry"]:
        events.read(entry, lambda entry: _read_entry(events, entry))
    return events.parsed()


def _read_entry(events: Events, entry: Any) -> None:
    for change in _list(_object(entry, "entry").get("changes"), "changes"):
        events.read(change, lambda change: _read_change(events, change))


def _read_change(events: Events, change: Any) -> None:
    value = _object(_object(change, "change").get("value", {}), "value")
    people = {}
    for contact in _list(value.get("contacts"), "contacts"):
        if isinstance(contact, dict):
            for key in (contact.get("wa_id"), contact.get("user_id")):
                if isinstance(key, str) and key:
                    people[key] = contact
    for message in _list(value.get("messages"), "messages"):
        events.read(message, lambda message: [_message(message, people)])
    for status in _list(value.get("statuses"), "statuses"):
        events.read(status, lambda status: [_status(status)])


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{what} is not a list")
    return value


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} without an id")
    return value


def _message(message: Any, people: dict[str, Any]) -> Inbound | PlatformEvent:
    """A customer's message, or their reaction to one (an event: it attaches to the message it is about;
    an empty emoji takes the reaction away)."""
    message = _object(message, "message")
    external_id = _id(message.get("id"), "a message")
    wa_id = message.get("from")
    user_id = message.get("from_user_id")
    contact = people.get(user_id or "") or people.get(wa_id or "") or {}
    user_id = user_id or contact.get("user_id")
    profile = contact.get("profile")
    who: dict[str, Any] = {
        "external_id": external_id,
        "reply_to": str(wa_id or contact.get("wa_id") or user_id or ""),
        "sender": str(user_id or wa_id or "unknown"),
        "phone": str(wa_id or contact.get("wa_id") or "") or None,
        "name": _text(profile.get("name")) if isinstance(profile, dict) else None,
        "sent_at": platform_time(message.get("timestamp")),
    }
    if message.get("type") == "reaction":
        reaction = _object(message.get("reaction"), "reaction")
        emoji = reaction.get("emoji")
        return PlatformEvent(
            kind="reaction",
            target=_id(reaction.get("message_id"), "a reaction's message"),
            text=emoji if isinstance(emoji, str) else "",
            **who,
        )
    text, answerable, data = _describe(message)
    return Inbound(
        kind=str(message.get("type", "unsupported")),
        text=text,
        answerable=answerable and bool(text.strip()),
        data=data,
        **who,
    )


def _status(status: Any) -> StatusUpdate:
    status = _object(status, "status")
    errors = status.get("errors")
    error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    state = str(status.get("status", ""))
    return StatusUpdate(
        external_id=_id(status.get("id"), "a status"),
        status=state,
        sent_at=platform_time(status.get("timestamp")),
        recipient=_text(status.get("recipient_id")),
        tag=str(status.get("biz_opaque_callback_data") or ""),
        error_code=code,
        error=meta_error(code, str(error.get("title") or error.get("message") or "")).reason
        if state == "failed"
        else None,
    )


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


class WhatsAppAdapter:
    """The Adapter interface for WhatsApp (see channels/base.py)."""

    kind = "whatsapp"
    signs_url = False
    echoes_tags = True  # biz_opaque_callback_data comes back in the message's status webhooks

    def __init__(
        self,
        api_base: str,
        default_per_second: int = 80,
        budgets: SendBudgets | None = None,
        *,
        http: HttpPool,
    ) -> None:
        self._base = api_base
        self._http = http
        self._default_rate = default_per_second
        self._budgets = budgets or SendBudgets()  # the app's shares each number's budget across processes
        self._clients: dict[str, WhatsAppClient] = {}  # one per phone number: its rate limit is shared

    def per_second(self, config: Mapping[str, Any]) -> int:
        """The number's throughput, which its client keeps (PacesItself): the channel's own setting, else
        PARLEY_WHATSAPP_MESSAGES_PER_SECOND."""
        return int(config.get("messages_per_second") or self._default_rate)

    def client(self, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> WhatsAppClient:
        phone = str(config["phone_number_id"])
        if phone not in self._clients:
            rate = self.per_second(config)
            limiter = self._budgets.limiter(f"whatsapp:{phone}", rate)
            self._clients[phone] = WhatsAppClient(
                self._base, phone, secrets["access_token"], http=self._http, per_second=rate, limiter=limiter
            )
        return self._clients[phone]

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        verify_signature(raw, headers.get("x-hub-signature-256"), secrets["app_secret"])

    def parse(self, raw: bytes) -> Parsed:
        return parse(json_body(raw))

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str, tag: str = ""
    ) -> str:
        return await self.client(config, secrets).send_text(to, text, tag=tag)

    async def send_media(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        kind: str,
        link: str,
        caption: str,
        tag: str = "",
    ) -> str:
        return await self.client(config, secrets).send_media(to, kind, link, caption or None, tag=tag)

    async def send_template(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        tag: str = "",
    ) -> str:
        return await self.client(config, secrets).send_template(to, name, language, parameters, tag=tag)

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
