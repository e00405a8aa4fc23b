"""WhatsApp Cloud API client: sending through POST /{phone-number-id}/messages, media download, Meta's error
codes by meaning, and the per-number send-rate ceiling."""

from __future__ import annotations

from typing import Any

import httpx

from channels.base import SendError, int_at, object_at, response_json, sent_without_id
from channels.http_pool import HttpPool
from channels.rate_limit import RateLimiter

THROUGHPUT_LIMIT = 130429
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
    # Too fast for the number: the client has slowed every send down already; this one may go again at once.
    after = 0.0 if code == THROUGHPUT_LIMIT else None
    return SendError(
        f"{reason} (code {code})" if code else reason, code=code, retryable=retry, retry_after=after
    )


class WhatsAppClient:
    def __init__(
        self,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        http: HttpPool,
        per_second: int = 80,
        timeout: float = 10.0,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._phone = phone_number_id
        self._http = http
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = timeout
        # The number's budget: given by the adapter (shared by every process), else this client's own.
        self._limiter = limiter or RateLimiter(per_second)

    async def _post(self, payload: dict[str, Any]) -> str:
        await self._limiter.wait()
        try:
            response = await self._http.client().post(
                f"{self._base}/{self._phone}/messages",
                json=payload,
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise SendError(
                f"the Graph API could not be reached ({type(exc).__name__})", retryable=True
            ) from exc
        body = response_json(response)
        if response.status_code >= 400 or "error" in body:
            error = object_at(body, "error")
            code = int_at(error, "code", 0) or None
            if code == THROUGHPUT_LIMIT:
                self._limiter.slow_down()
            raise meta_error(code, str(error.get("message", f"HTTP {response.status_code}")))
        self._limiter.recovered()
        # A 2xx is a message Meta took: without its id it was still sent, and must not be sent again.
        messages = body.get("messages")
        first = (
            messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        )
        return str(first.get("id") or sent_without_id("whatsapp"))

    def _base_payload(self, to: str, kind: str, reply_to: str | None = None, tag: str = "") -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        if tag:  # echoed in this message's status webhooks
            payload["biz_opaque_callback_data"] = tag[:512]
        return payload

    async def send_text(self, to: str, text: str, reply_to: str | None = None, *, tag: str = "") -> str:
        payload = self._base_payload(to, "text", reply_to, tag)
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

    async def send_media(
        self, to: str, kind: str, link: str, caption: str | None = None, *, tag: str = ""
    ) -> str:
        payload = self._base_payload(to, kind, tag=tag)
        payload[kind] = {"link": link, **({"caption": caption} if caption else {})}
        return await self._post(payload)

    async def send_template(
        self, to: str, name: str, language: str, body_parameters: list[str], *, tag: str = ""
    ) -> str:
        payload = self._base_payload(to, "template", tag=tag)
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if body_parameters:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in body_parameters]}
            ]
        payload["template"] = template
        return await self._post(payload)

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """GET /{media-id} gives a short-lived URL; fetching it needs the same token."""
        client = self._http.client()
        meta = await client.get(f"{self._base}/{media_id}", headers=self._headers, timeout=self._timeout)
        if meta.status_code >= 400:
            raise meta_error(meta.json().get("error", {}).get("code"), "media lookup failed")
        info = meta.json()
        media = await client.get(info["url"], headers=self._headers, timeout=self._timeout)
        media.raise_for_status()
        return media.content, str(info.get("mime_type", media.headers.get("content-type", "")))
