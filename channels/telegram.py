"""Telegram Bot API adapter: webhook updates verified by the secret token set with setWebhook.

Telegram signs nothing; it sends the `secret_token` given to setWebhook in the
X-Telegram-Bot-Api-Secret-Token header. Updates carry an `update_id`, the dedupe key (Telegram
re-delivers an update until it gets a 200). Replies go through POST /bot<token>/sendMessage.
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
    int_at,
    json_body,
    object_at,
    platform_time,
    response_json,
    sent_without_id,
)
from channels.http_pool import HttpPool
from core.errors import InvalidInput, Unauthorized
from core.signatures import matches


def _message_text(message: dict[str, Any]) -> tuple[str, str, bool, dict[str, Any]]:
    """(kind, text for the agent, answerable, data to keep)."""
    if "text" in message:
        return "text", message["text"], True, {}
    caption = message.get("caption", "")
    for kind in ("photo", "document", "voice", "audio", "video", "sticker"):
        if kind in message:
            media = message[kind][-1] if isinstance(message[kind], list) else message[kind]
            data = {"file_id": media.get("file_id"), "mime_type": media.get("mime_type")}
            return kind, caption or f"[{kind}]", kind != "sticker", data
    if "location" in message:
        loc = message["location"]
        return (
            "location",
            f"[location] ({loc.get('latitude')}, {loc.get('longitude')})",
            True,
            {"location": loc},
        )
    if "contact" in message:
        contact = message["contact"]
        name = " ".join(filter(None, (contact.get("first_name"), contact.get("last_name"))))
        return "contact", f"[shared contact] {name}", True, {"contact": contact}
    return "unsupported", "[unsupported message]", False, {}


def parse_update(update: dict[str, Any]) -> Parsed:
    """A delivery holds one update: read on its own all the same, so an update of a shape we did not
    foresee is kept as Unparsed instead of failing the delivery (Telegram would resend it for a day)."""
    if not isinstance(update.get("update_id"), int):
        raise InvalidInput("not a Telegram update (update_id missing)")
    events = Events()
    events.read(update, _read_update)
    return events.parsed()


def _read_update(update: dict[str, Any]) -> list[Inbound | PlatformEvent]:
    external_id = str(update["update_id"])
    if "callback_query" in update:  # an inline keyboard button press
        query = update["callback_query"]
        sender = query.get("from", {})
        chat = (query.get("message") or {}).get("chat", {})
        return [
            Inbound(
                external_id=external_id,
                sender=str(sender.get("id")),
                phone=None,
                name=sender.get("first_name"),
                kind="button",
                text=str(query.get("data", "")),
                sent_at=platform_time(None),  # a button press carries no time: now
                reply_to=str(chat.get("id", sender.get("id"))),
                data={"callback_query_id": query.get("id")},
            )
        ]
    if "edited_message" in update:
        return [_edit(external_id, update["edited_message"])]
    if "my_chat_member" in update:
        return _membership(external_id, update["my_chat_member"])
    message = update.get("message")
    if not message:
        return []  # channel posts, polls, other member updates: nothing for the agent
    sender = message.get("from", {})
    kind, text, answerable, data = _message_text(message)
    # How an edit or a reaction finds this message later: message ids count per chat.
    data["platform_id"] = f"{message.get('chat', {}).get('id', sender.get('id'))}:{message.get('message_id')}"
    if "reply_to_message" in message:
        data["reply_to"] = message["reply_to_message"].get("message_id")
    return [
        Inbound(
            external_id=external_id,
            sender=str(sender.get("id")),
            phone=None,
            name=" ".join(filter(None, (sender.get("first_name"), sender.get("last_name")))) or None,
            kind=kind,
            text=text,
            sent_at=platform_time(message.get("date")),
            answerable=answerable,
            reply_to=str(message.get("chat", {}).get("id", sender.get("id"))),
            data=data,
        )
    ]


def _edit(external_id: str, message: dict[str, Any]) -> PlatformEvent:
    """An edited message: the stored one takes the new text (channels/platform_events.py), unanswered."""
    sender = message.get("from", {})
    chat = message.get("chat", {}).get("id", sender.get("id"))
    _, text, _, _ = _message_text(message)
    return PlatformEvent(
        external_id=external_id,
        sender=str(sender.get("id")),
        kind="edit",
        sent_at=platform_time(message.get("edit_date") or message.get("date")),
        target=f"{chat}:{message.get('message_id')}",
        text=text,
        reply_to=str(chat),
    )


def _membership(external_id: str, change: dict[str, Any]) -> list[Inbound | PlatformEvent]:
    """The bot's own membership in a private chat: "kicked" is the customer blocking the bot (nothing may
    be sent until they unblock it), "member" is starting or unblocking it. Groups are left alone."""
    chat = change.get("chat", {})
    if chat.get("type") != "private":
        return []
    status = (change.get("new_chat_member") or {}).get("status")
    kind = {"kicked": "unfollow", "member": "follow"}.get(str(status))
    if kind is None:
        return []
    sender = change.get("from", {})
    return [
        PlatformEvent(
            external_id=external_id,
            sender=str(sender.get("id")),
            kind="unfollow" if kind == "unfollow" else "follow",
            sent_at=platform_time(change.get("date")),
            name=" ".join(filter(None, (sender.get("first_name"), sender.get("last_name")))) or None,
            reply_to=str(chat.get("id", sender.get("id"))),
        )
    ]


class TelegramAdapter:
    kind = "telegram"
    signs_url = False

    def __init__(self, api_base: str, *, http: HttpPool) -> None:
        self._base = api_base.rstrip("/")
        self._http = http

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        given = headers.get("x-telegram-bot-api-secret-token")
        if not matches(given, str(secrets["secret_token"])):
            raise Unauthorized("missing or wrong X-Telegram-Bot-Api-Secret-Token")

    def parse(self, raw: bytes) -> Parsed:
        return parse_update(json_body(raw))

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        url = f"{self._base}/bot{secrets['bot_token']}/sendMessage"
        try:
            response = await self._http.client().post(url, json={"chat_id": to, "text": text[:4096]})
        except httpx.HTTPError as exc:
            raise SendError(f"Telegram could not be reached ({type(exc).__name__})", retryable=True) from exc
        body = response_json(response)
        if response.status_code < 300 and not body:  # taken, but the answer could not be read
            return sent_without_id("telegram")
        if not body.get("ok"):
            code = int_at(body, "error_code", response.status_code)
            description = str(body.get("description", "refused"))
            if code == 429:
                retry_after = object_at(body, "parameters").get("retry_after")
                raise SendError(
                    f"Telegram rate limit; retry after {retry_after} s",
                    code=code,
                    retryable=True,
                    retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
                )
            if code == 403:
                raise SendError(f"the customer blocked the bot ({description})", code=code)
            raise SendError(f"Telegram refused the message: {description}", code=code, retryable=code >= 500)
        # Message ids count per chat: with the chat's id they are unique on the channel.
        result = body.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return f"{to}:{message_id}" if message_id is not None else sent_without_id("telegram")
