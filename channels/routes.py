"""Channel setup (/v1/channels) and every channel's webhook. Handlers verify, store and acknowledge;
they never wait for the agent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field, TypeAdapter

from channels import wechat, whatsapp
from channels.models import Channel, UnparsedEvent
from channels.store import Activity, ChannelStore
from channels.unparsed import State, UnparsedEvents
from channels.unparsed_retry import UnparsedRetry
from channels.webhook import MAX_WEBHOOK_BYTES, Webhooks, accept, public_url, too_large
from core.audit import key_actor
from core.deps import AdminDep, provided
from core.errors import NotFound

router = APIRouter(tags=["channels"])


ChannelsDep = Annotated[ChannelStore, provided(ChannelStore)]


class Template(BaseModel):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="en", min_length=2, max_length=10)


WelcomeMessage = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="sent when a customer follows (subscribes to) the account; none unless set",
    ),
]


class WhatsAppIn(BaseModel):
    kind: Literal["whatsapp"]
    name: str = Field(min_length=1, max_length=200)
    phone_number_id: str = Field(min_length=1, max_length=64, pattern=r"^\d+$")
    access_token: str = Field(min_length=10, max_length=1000)
    app_secret: str = Field(min_length=8, max_length=200)
    verify_token: str = Field(min_length=8, max_length=200)
    messages_per_second: int = Field(default=80, ge=1, le=1000)
    fallback_template: Template | None = Field(
        default=None, description="sent when the 24-hour window is closed"
    )


class TelegramIn(BaseModel):
    kind: Literal["telegram"]
    name: str = Field(min_length=1, max_length=200)
    bot_token: str = Field(min_length=20, max_length=200, pattern=r"^\d+:[A-Za-z0-9_-]+$")
    secret_token: str = Field(
        min_length=16,
        max_length=256,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the secret_token given to setWebhook",
    )
    welcome_message: WelcomeMessage = None


class MetaPageIn(BaseModel):
    kind: Literal["messenger", "instagram"]
    name: str = Field(min_length=1, max_length=200)
    page_id: str = Field(min_length=1, max_length=64, pattern=r"^\d+$")
    access_token: str = Field(min_length=10, max_length=1000)
    app_secret: str = Field(min_length=8, max_length=200)
    verify_token: str = Field(min_length=8, max_length=200)


class LineIn(BaseModel):
    kind: Literal["line"]
    name: str = Field(min_length=1, max_length=200)
    channel_secret: str = Field(min_length=16, max_length=200)
    access_token: str = Field(min_length=10, max_length=1000)
    welcome_message: WelcomeMessage = None


class ViberIn(BaseModel):
    kind: Literal["viber"]
    name: str = Field(min_length=1, max_length=200)
    auth_token: str = Field(min_length=10, max_length=200)
    bot_name: str = Field(default="Bot", min_length=1, max_length=28)
    welcome_message: WelcomeMessage = None


class SmsIn(BaseModel):
    kind: Literal["sms"]
    name: str = Field(min_length=1, max_length=200)
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=16, max_length=200)
    from_number: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="the Twilio number, E.164")


class WeChatIn(BaseModel):
    kind: Literal["wechat"]
    name: str = Field(min_length=1, max_length=200)
    app_id: str = Field(pattern=r"^wx[0-9a-zA-Z]{10,30}$")
    app_secret: str = Field(min_length=16, max_length=200)
    token: str = Field(
        min_length=3, max_length=32, pattern=r"^[A-Za-z0-9]+$", description="the server token set in WeChat"
    )
    welcome_message: WelcomeMessage = None


ChannelModel = WhatsAppIn | TelegramIn | MetaPageIn | LineIn | ViberIn | SmsIn | WeChatIn
ChannelIn = Annotated[ChannelModel, Field(discriminator="kind")]
CHANNEL_IN: TypeAdapter[ChannelModel] = TypeAdapter(ChannelIn)

# The model POST /v1/channels reads each kind with (the console's forms show their fields).
MODEL_OF: dict[str, type[BaseModel]] = {
    kind: model
    for model in get_args(ChannelModel)
    for kind in get_args(model.model_fields["kind"].annotation)
}

# What each kind keeps in the clear (config) and sealed (secrets). Sealed values are never returned: not by
# this API, not by the console.
PUBLIC_FIELDS = {
    "line": ("welcome_message",),
    "viber": ("bot_name", "welcome_message"),
    "sms": ("account_sid", "from_number"),
    "wechat": ("app_id", "welcome_message"),
}
SECRET_FIELDS = {
    "whatsapp": ("access_token", "app_secret", "verify_token"),
    "messenger": ("access_token", "app_secret", "verify_token"),
    "instagram": ("access_token", "app_secret", "verify_token"),
    "telegram": ("bot_token", "secret_token"),
    "line": ("channel_secret", "access_token"),
    "viber": ("auth_token",),
    "sms": ("auth_token",),
    "wechat": ("app_secret", "token"),
}


def _config(body: ChannelModel) -> dict[str, Any]:
    if isinstance(body, WhatsAppIn):
        return {
            "phone_number_id": body.phone_number_id,
            "messages_per_second": body.messages_per_second,
            "fallback_template": body.fallback_template.model_dump() if body.fallback_template else None,
        }
    if isinstance(body, TelegramIn):
        return {"bot_id": body.bot_token.split(":", 1)[0], "welcome_message": body.welcome_message}
    if isinstance(body, MetaPageIn):
        return {"page_id": body.page_id}
    return {name: getattr(body, name) for name in PUBLIC_FIELDS[body.kind]}


def connect(channels: ChannelStore, tenant_id: str, actor: str, body: ChannelModel) -> Channel:
    """Store a channel read by ChannelIn (CHANNEL_IN): its public settings in the clear, its secrets
    sealed; audited as `actor`. POST /v1/channels and the console's Channels page both connect here."""
    secrets = {name: getattr(body, name) for name in SECRET_FIELDS[body.kind]}
    return channels.create(tenant_id, body.kind, body.name, _config(body), secrets, actor=actor)


class ChannelOut(BaseModel):
    id: str
    kind: str
    name: str
    config: dict[str, Any]
    webhook_path: str
    created_at: datetime
    last_delivery_at: datetime | None = Field(
        description="when the latest webhook delivery still kept arrived (ingested deliveries are deleted "
        "after PARLEY_RETENTION_DELIVERIES_DAYS); null: none yet, or none within that time"
    )
    waiting_deliveries: int = Field(description="deliveries stored and not yet turned into messages")
    open_unparsed_events: int = Field(description="events that could not be read and are still flagged")

    @classmethod
    def of(cls, channel: Channel, activity: Activity | None = None) -> ChannelOut:
        activity = activity or Activity()
        return cls(
            id=channel.id,
            kind=channel.kind,
            name=channel.name,
            config=channel.config,
            webhook_path=webhook_path(channel),
            created_at=channel.created_at,
            last_delivery_at=activity.last_delivery_at,
            waiting_deliveries=activity.waiting_deliveries,
            open_unparsed_events=activity.open_unparsed_events,
        )


def webhook_path(channel: Channel) -> str:
    return f"/webhooks/{channel.kind}/{channel.id}"


@router.post("/v1/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelOut)
def create_channel(body: ChannelIn, principal: AdminDep, channels: ChannelsDep) -> ChannelOut:
    return ChannelOut.of(connect(channels, principal.tenant_id, key_actor(principal.key_id), body))


@router.get("/v1/channels", response_model=list[ChannelOut])
def list_channels(principal: AdminDep, channels: ChannelsDep) -> list[ChannelOut]:
    listed = channels.list(principal.tenant_id)
    activity = channels.activity(principal.tenant_id, [c.id for c in listed])
    return [ChannelOut.of(c, activity[c.id]) for c in listed]


@router.get("/v1/channels/{channel_id}", response_model=ChannelOut)
def get_channel(channel_id: str, principal: AdminDep, channels: ChannelsDep) -> ChannelOut:
    channel = channels.get(channel_id, principal.tenant_id)
    return ChannelOut.of(channel, channels.activity(principal.tenant_id, [channel.id])[channel.id])


class UnparsedEventOut(BaseModel):
    id: str
    delivery_id: str = Field(description="the stored webhook delivery the event came in")
    raw: str = Field(description="the event as the platform sent it")
    error: str = Field(description="why it could not be read (at the last retry, if retried)")
    created_at: datetime
    retries: int = Field(description="how often it was read again after it was kept")
    retried_at: datetime | None
    resolved_at: datetime | None = Field(
        description="when a retry read it and stored what it brought; null while it stays flagged"
    )

    @classmethod
    def of(cls, event: UnparsedEvent) -> UnparsedEventOut:
        return cls(
            id=event.id,
            delivery_id=event.delivery_id,
            raw=event.raw,
            error=event.error,
            created_at=event.created_at,
            retries=event.retries,
            retried_at=event.retried_at,
            resolved_at=event.resolved_at,
        )


class RetriedOut(BaseModel):
    resolved: int = Field(description="events read now, what they brought stored (once)")
    failing: int = Field(description="events that still cannot be read; they stay flagged with the new error")


RetryDep = Annotated[UnparsedRetry, provided(UnparsedRetry)]
UnparsedDep = Annotated[UnparsedEvents, provided(UnparsedEvents)]
WebhooksDep = Annotated[Webhooks, provided(Webhooks)]


@router.get("/v1/channels/{channel_id}/unparsed-events", response_model=list[UnparsedEventOut])
def list_unparsed_events(
    channel_id: str,
    principal: AdminDep,
    channels: ChannelsDep,
    store: UnparsedDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    state: Annotated[State, Query(description="open (still flagged), resolved, or all")] = "open",
) -> list[UnparsedEventOut]:
    """Events of the channel's signed deliveries that could not be read, newest first: the events beside
    them were stored and answered; these are kept raw with the reason."""
    channels.get(channel_id, principal.tenant_id)  # another tenant's channel is not found
    return [UnparsedEventOut.of(e) for e in store.list(principal.tenant_id, channel_id, limit, state)]


@router.post("/v1/channels/{channel_id}/unparsed-events/retry", response_model=RetriedOut)
def retry_unparsed_events(channel_id: str, principal: AdminDep, retry: RetryDep) -> RetriedOut:
    """Read the channel's open unparsed events again with the current code (after a fix): each one that
    now reads is stored and answered once and marked resolved; the others keep their new error."""
    retried = retry.retry_all(principal.tenant_id, channel_id)
    return RetriedOut(resolved=retried.resolved, failing=retried.failing)


@router.post("/v1/channels/{channel_id}/unparsed-events/{event_id}/retry", response_model=UnparsedEventOut)
def retry_unparsed_event(
    channel_id: str, event_id: str, principal: AdminDep, retry: RetryDep
) -> UnparsedEventOut:
    """Read one unparsed event again; it comes back resolved (what it brought stored once, however often
    it is retried) or still flagged with the new error."""
    return UnparsedEventOut.of(retry.retry(principal.tenant_id, channel_id, event_id))


@router.delete("/v1/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_channel(channel_id: str, principal: AdminDep, channels: ChannelsDep) -> Response:
    channels.delete(principal.tenant_id, channel_id, actor=key_actor(principal.key_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{kind}/{channel_id}", response_class=PlainTextResponse)
def meta_handshake(kind: str, channel_id: str, request: Request, channels: ChannelsDep) -> str:
    """Meta's subscription check (WhatsApp, Messenger, Instagram)."""
    channel = channels.get(channel_id)
    if channel.kind == kind == "wechat":
        return wechat.handshake(channels.secrets(channel)["token"], request.query_params)
    if channel.kind != kind or kind not in ("whatsapp", "messenger", "instagram"):
        raise NotFound(f"no {kind} channel {channel_id} with a verification handshake")
    params = request.query_params
    return whatsapp.handshake(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        channels.secrets(channel)["verify_token"],
    )


@router.post("/webhooks/{kind}/{channel_id}")
async def webhook(kind: str, channel_id: str, request: Request, webhooks: WebhooksDep) -> Response:
    """A platform's signed delivery (kind: whatsapp, messenger, instagram, telegram, line, wechat, viber, sms):
    verified, stored and acknowledged at once; the agent answers in the background."""
    # Documents the route. In the app, these requests reach channels/webhook.py's WebhookEndpoint before
    # FastAPI's routing; this handler runs the same `accept` wherever the router is used without it.
    raw = bytearray()
    async for piece in request.stream():
        raw.extend(piece)
        if len(raw) > MAX_WEBHOOK_BYTES:
            raise too_large()
    ack = await accept(
        webhooks,
        kind,
        channel_id,
        request.headers,
        bytes(raw),
        lambda: public_url(webhooks.settings, request.url),
    )
    return Response(ack.body, status_code=ack.status, media_type=ack.media_type)
