"""The one small interface every channel adapter implements, and the normalised events it produces.

An adapter verifies a webhook request, parses its body into normalised inbound messages and status
updates, and sends text. Nothing of a platform's wire format leaves its adapter; the processor,
the inbox and the agent only see these types. Messaging windows live in channels/window.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from core.errors import InvalidInput


@dataclass
class Inbound:
    external_id: str
    """The platform's id for this message or update: duplicates carry the same one."""
    sender: str
    """Stable customer id on the platform (never a phone number alone where a platform id exists)."""
    phone: str | None
    name: str | None
    kind: str
    text: str
    """What the agent reads (a caption, a button title, a location description, ...)."""
    sent_at: datetime
    answerable: bool = True
    reply_to: str = ""
    """Where a reply goes (a phone number, a chat id, a user id)."""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class StatusUpdate:
    external_id: str
    status: str
    sent_at: datetime
    recipient: str | None
    error_code: int | None = None
    error: str | None = None
    tag: str = ""
    """What the sender attached to the message and the platform echoes back (WhatsApp's
    biz_opaque_callback_data): how a status finds a message whose id was never recorded."""


def json_body(raw: bytes) -> dict[str, Any]:
    """The JSON object a webhook posted, or InvalidInput (a 4xx) naming what is wrong.

    orjson first: it parses a delivery in about a third of the standard library's time, on the request
    path of every webhook. What it refuses but json accepts (integers beyond 64 bits, NaN) gets a second
    look from json, so no body is refused that was accepted before."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput("the body is not JSON", code="bad_json") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object", code="bad_json")
    return payload


class SendError(Exception):
    """A platform refused a message; `retryable` says whether backing off and trying again can help."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds to wait before trying this message again, when the platform (or its client) knows."""


class Adapter(Protocol):
    kind: str
    signs_url: bool  # the signature covers the URL the platform called (Twilio, WeChat's query)

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        """Raise Unauthorized unless the request really comes from the platform (`url`: as the platform called it)."""
        ...

    def parse(self, raw: bytes) -> tuple[list[Inbound], list[StatusUpdate]]:
        """Normalised events of one delivery; raise InvalidInput for a body that is not the platform's."""
        ...

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        """Send a text; return the platform's id for it; raise SendError."""
        ...
