"""Every channel's webhook POST: verify, store, acknowledge. The agent answers in the background.

This is the hottest path under a delivery storm (Meta asks for a median acknowledgement under 250 ms and
retries for days), so it is served by `WebhookEndpoint`, a plain ASGI callable the app hands these
requests to before FastAPI's middleware stack, routing and dependency solving (app.py). Measured in
process by driving the app's ASGI callable with prepared deliveries and the store stubbed out: 53 µs per
delivery through a Starlette route at the head of the routes (the previous way), 25 µs this way, most of it
verifying and parsing. The FastAPI route in channels/routes.py documents the path in the OpenAPI schema and
runs the same `accept`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers
from starlette.types import Receive, Scope, Send

from channels.base import PlatformEvent, SignsNonce
from channels.intake import Delivery, DeliveryIntake
from channels.models import Channel
from channels.processing import ChannelProcessor
from channels.replay import SignedNonces
from channels.store import ChannelStore
from channels.welcome import language_of, welcome_text
from config import Settings
from core.errors import Forbidden, LimitExceeded, NotFound, ParleyError, Unauthorized
from core.metrics import WEBHOOK_DELIVERIES
from core.routes import error_body, status_for
from inbox.turns import Turns

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1024 * 1024  # Meta's deliveries are a few KB; anything near this is not theirs
PREFIX = "/webhooks/"


@dataclass(frozen=True)
class Ack:
    status: int
    media_type: str
    body: bytes
    outcome: str = "stored"  # for the deliveries metric: stored | duplicate (a retry, a replay)


@dataclass(frozen=True)
class Webhooks:
    """What a webhook delivery reaches: built once by the composition root (app.py)."""

    settings: Settings  # public_url: the address platforms sign, behind a proxy
    channels: ChannelStore
    processor: ChannelProcessor  # its adapters verify and parse
    intake: DeliveryIntake
    nonces: SignedNonces
    turns: Turns  # the tenant's agent settings, for Viber's welcome


def webhook_path(scope: Scope) -> tuple[str, str] | None:
    """(kind, channel_id) when the request is a webhook POST, else None."""
    if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX):
        return None
    path: str = scope["path"]
    parts = path[len(PREFIX) :].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def too_large() -> LimitExceeded:
    return LimitExceeded(f"webhook body larger than {MAX_WEBHOOK_BYTES} bytes", code="body_too_large")


async def accept(
    webhooks: Webhooks,
    kind: str,
    channel_id: str,
    headers: Mapping[str, str],
    body: bytes,
    url: Callable[[], str],
) -> Ack:
    """Verify a delivery, parse it (a malformed body is refused before anything is stored), store it
    durably and build the platform's acknowledgement. `url`: the URL the platform called, for the
    adapters whose signature covers it (Twilio, WeChat). Raises ParleyError for what is refused."""
    channels, processor, intake = webhooks.channels, webhooks.processor, webhooks.intake
    known = channels.cached(channel_id)  # the usual case: no database, no decryption
    if known is None:
        channel = await run_in_threadpool(channels.get, channel_id)
        secrets = await run_in_threadpool(channels.secrets, channel)
    else:
        channel, secrets = known
    if channel.kind != kind or kind not in processor.adapters:
        raise NotFound(f"no {kind} channel {channel_id}")
    adapter = processor.adapters[kind]
    called = url() if adapter.signs_url else ""
    adapter.verify(headers, body, secrets, called)
    if isinstance(adapter, SignsNonce):  # a signature that does not cover the body
        signed_at, nonce = adapter.signed_nonce(called)
        await run_in_threadpool(webhooks.nonces.claim, channel.id, signed_at, nonce, body)
    inbound, statuses, unparsed, events = adapter.parse(body)
    receipt = await intake.store(
        Delivery(
            channel,
            body,
            [message.external_id for message in inbound],
            len(statuses),
            len(unparsed),
            [event.external_id for event in events],
        )
    )
    outcome = "stored" if receipt.stored or receipt.statuses or receipt.unparsed else "duplicate"
    if kind == "sms":  # Twilio reads the answer as TwiML: an empty response sends nothing now
        return Ack(200, "text/xml", b"<Response/>", outcome)
    if kind == "wechat":  # "success": no passive reply; the agent's answer follows through the API
        return Ack(200, "text/plain; charset=utf-8", b"success", outcome)
    if kind == "viber" and (welcome := await _viber_welcome(webhooks.turns, channel, events)) is not None:
        return Ack(200, "application/json", welcome, outcome)
    counts = {"messages": receipt.messages, "stored": receipt.stored, "statuses": receipt.statuses}
    if receipt.events:  # reactions, edits, follows: applied, never answered (channels/platform_events.py)
        counts["events"] = receipt.events
    if receipt.unparsed:  # events kept raw for an admin (GET /v1/channels/{id}/unparsed-events)
        counts["unparsed"] = receipt.unparsed
    return Ack(200, "application/json", json.dumps({"status": "ok", **counts}).encode(), outcome)


async def _viber_welcome(turns: Turns, channel: Channel, events: list[PlatformEvent]) -> bytes | None:
    """The answer to Viber's conversation_started: the welcome, as a send_message body without a receiver
    (the one message a bot may send someone who has not subscribed; channels/welcome.py), or None."""
    started = next((event for event in events if event.kind == "started"), None)
    if started is None:
        return None
    try:
        settings = await run_in_threadpool(turns.agent_settings.get, channel.tenant_id)
    except Exception:  # the delivery is stored: better no welcome than a 5xx the platform retries
        log.exception("the welcome for viber channel %s could not be read", channel.id)
        return None
    text = welcome_text(channel, settings, language_of(started.data))
    if text is None:
        return None
    sender = {"name": str(channel.config.get("bot_name") or "Bot")}
    return json.dumps({"sender": sender, "type": "text", "text": text[:7000]}).encode()


def public_url(settings: Any, url: URL) -> str:
    """The URL the platform called; PARLEY_PUBLIC_URL replaces scheme and host behind a proxy."""
    base: str | None = settings.public_url
    if base:
        return base.rstrip("/") + url.path + (f"?{url.query}" if url.query else "")
    return str(url)


def error_ack(exc: ParleyError) -> tuple[Ack, list[tuple[bytes, bytes]]]:
    """The API's error shape ({"error": {"code", "message"}}) and status for a refused delivery."""
    extra = [(b"www-authenticate", b"Bearer")] if isinstance(exc, Unauthorized) else []
    body = json.dumps(error_body(exc.code, exc.message)).encode()
    if isinstance(exc, Unauthorized | Forbidden):
        outcome = "unauthorized"
    elif isinstance(exc, NotFound):
        outcome = "unknown_channel"
    else:
        outcome = "invalid"
    return Ack(status_for(exc), "application/json", body, outcome), extra


class WebhookEndpoint:
    """The webhook POST as a plain ASGI app. `webhooks` returns the app's Webhooks (they exist once its
    lifespan has built the services)."""

    def __init__(self, webhooks: Callable[[], Webhooks]) -> None:
        self._webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind, channel_id = webhook_path(scope) or ("", "")
        extra: list[tuple[bytes, bytes]] = []
        webhooks: Webhooks | None = None
        try:
            webhooks = self._webhooks()  # first: a body refused as too large still counts under its kind
            settings = webhooks.settings
            body = await _read_body(receive)
            if body is None:
                return  # the platform hung up before sending the whole body: nothing to answer or store
            ack = await accept(
                webhooks,
                kind,
                channel_id,
                Headers(scope=scope),
                body,
                lambda: public_url(settings, URL(scope=scope)),
            )
        except ParleyError as exc:
            ack, extra = error_ack(exc)
        except Exception:
            log.exception("webhook %s/%s failed", kind, channel_id)
            body = json.dumps(error_body("internal_error", "the delivery could not be stored")).encode()
            ack = Ack(500, "application/json", body, "error")
        # the label comes from the URL: a kind no adapter has counts as "unknown" (bounded cardinality)
        known = webhooks is not None and kind in webhooks.processor.adapters
        WEBHOOK_DELIVERIES.labels(kind if known else "unknown", ack.outcome).inc()
        await _respond(send, ack, extra)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, ack: Ack, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [
        (b"content-type", ack.media_type.encode()),
        (b"content-length", str(len(ack.body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": ack.status, "headers": headers})
    await send({"type": "http.response.body", "body": ack.body})
