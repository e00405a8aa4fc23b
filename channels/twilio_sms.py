"""Twilio SMS adapter: form-encoded webhooks signed with X-Twilio-Signature.

The signature is base64(HMAC-SHA1(auth token, full URL + each POST parameter name and value, sorted
by name)). Inbound messages carry a MessageSid (the dedupe key); status callbacks carry
MessageStatus. Replies go through POST /2010-04-01/Accounts/{sid}/Messages.json.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from channels.base import (
    Events,
    Inbound,
    Parsed,
    SendError,
    StatusUpdate,
    int_at,
    response_json,
    sent_without_id,
)
from channels.http_pool import HttpPool
from core.errors import InvalidInput, Unauthorized
from core.signatures import matches

STATUSES = {
    "queued": "pending",
    "accepted": "pending",
    "sending": "pending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}
MAX_MEDIA = 10
ERRORS = {
    21610: "the recipient replied STOP and is unsubscribed",
    21211: "the number is not a valid phone number",
    21614: "the number cannot receive SMS",
    30003: "the handset is unreachable",
    30005: "unknown destination",
}


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _read_form(form: dict[str, str]) -> list[Inbound | StatusUpdate]:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    now = datetime.now(UTC)  # Twilio's webhooks carry no time
    if "MessageStatus" in form and "Body" not in form:
        status = STATUSES.get(form["MessageStatus"], "pending")
        code = int(form["ErrorCode"]) if form.get("ErrorCode", "").isdigit() else None
        return [
            StatusUpdate(
                external_id=sid,
                status=status,
                sent_at=now,
                recipient=form.get("To"),
                error_code=code,
                error=ERRORS.get(code or 0) if status == "failed" else None,
            )
        ]
    count = form.get("NumMedia", "0")
    # Twilio attaches at most 10 media; a larger count is not looped over
    listed = range(min(int(count), MAX_MEDIA) if count.isdigit() else 0)
    media = [form[f"MediaUrl{i}"] for i in listed if f"MediaUrl{i}" in form]
    text = form.get("Body", "").strip() or ("[media]" if media else "")
    return [
        Inbound(
            external_id=sid,
            sender=form.get("From", ""),
            phone=form.get("From"),
            name=None,
            kind="sms" if not media else "mms",
            text=text,
            sent_at=now,
            answerable=bool(text),
            reply_to=form.get("From", ""),
            data={"media": media, "our_number": form.get("To")},
        )
    ]


class TwilioSmsAdapter:
    kind = "sms"
    signs_url = True

    def __init__(self, api_base: str, *, http: HttpPool) -> None:
        self._base = api_base.rstrip("/")
        self._http = http

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        params = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        given = headers.get("x-twilio-signature")
        if not matches(given, signature(str(secrets["auth_token"]), url, params)):
            raise Unauthorized("missing or bad X-Twilio-Signature")

    def parse(self, raw: bytes) -> Parsed:
        """A delivery holds one message or status: read on its own all the same (channels/base.py's Events)."""
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if not (form.get("MessageSid") or form.get("SmsSid")):
            raise InvalidInput("not a Twilio message webhook (MessageSid missing)")
        events = Events()
        events.read(form, _read_form)
        return events.parsed()

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        sid = config["account_sid"]
        try:
            response = await self._http.client().post(
                f"{self._base}/2010-04-01/Accounts/{sid}/Messages.json",
                data={"To": to, "From": config["from_number"], "Body": text[:1600]},
                auth=(sid, str(secrets["auth_token"])),
            )
        except httpx.HTTPError as exc:
            raise SendError(f"Twilio could not be reached ({type(exc).__name__})", retryable=True) from exc
        body = response_json(response)
        if response.status_code >= 400:
            code = int_at(body, "code", response.status_code)
            reason = ERRORS.get(code, body.get("message", "Twilio refused the message"))
            raise SendError(
                f"{reason} (code {code})",
                code=code,
                retryable=code in (20429, 429) or response.status_code >= 500,
            )
        return str(body.get("sid") or sent_without_id("sms"))
