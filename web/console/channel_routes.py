"""The Channels page (admins): the tenant's channels with whether deliveries arrive, a form per kind to
connect one (then the webhook URL and what to enter on the platform), a channel's page with its settings
(secrets only as set / not set), its unreadable events to read again, and delete; the live-chat widget's
snippet, key rotation, identity verification and identity secret (its forms: widget_routes.py).

Every action calls what the /v1 routes call: a channel is validated by ChannelIn and stored by
channels.routes.connect (POST /v1/channels), deleted by ChannelStore.delete, its events listed and read
again by UnparsedEvents / UnparsedRetry (/v1/channels/{id}/unparsed-events), the widget read and changed
through the same widget_out as /v1/livechat/widget. Changes are audited as the signed-in user.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from channels.livechat.routes import LivechatDep, widget_out
from channels.livechat.store import LivechatStore
from channels.models import Channel
from channels.routes import SECRET_FIELDS, ChannelsDep, RetryDep, UnparsedDep, connect, webhook_path
from channels.store import Activity, ChannelStore
from channels.unparsed import State
from channels.webhook import public_url
from config import Settings
from core.audit import user_actor
from core.db import utcnow
from core.deps import provided
from core.errors import NotFound
from core.staff.sessions import SignedIn
from web.console import channel_form, cookies
from web.console.deps import section_poster, section_user
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/channels", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("channels")]
SectionPostedDep = Annotated[SignedIn, section_poster("channels")]
SettingsDep = Annotated[Settings, provided(Settings)]
NOTICES = ("deleted", "widget_saved", "widget_rotated")
CHANNEL_NOTICES = ("event_read", "event_unreadable", "events_retried")
EVENT_STATES = ("open", "resolved", "all")


def webhook_url(request: Request, settings: Settings, channel: Channel) -> str:
    """The address the platform delivers to: this server's, or PARLEY_PUBLIC_URL's behind a proxy."""
    return public_url(settings, request.url.replace(path=webhook_path(channel), query=""))


def _state(settings: Settings, channel: Channel, activity: Activity) -> tuple[str, dict[str, Any]]:
    """(channels.state.<key>, its values): receiving since, waiting for the first delivery, or none
    within the days deliveries are kept (an older one may have been swept)."""
    if activity.last_delivery_at is not None:
        return "receiving", {}
    days = settings.retention_deliveries_days
    if days > 0 and utcnow() - channel.created_at > timedelta(days=days):
        return "quiet", {"days": f"{days:g}"}
    return "waiting", {}


def _list_page(
    request: Request,
    channels: ChannelStore,
    livechat: LivechatStore,
    settings: Settings,
    user: SignedIn,
) -> Response:
    tenant = user.user.tenant_id
    listed = channels.list(tenant)
    activity = channels.activity(tenant, [c.id for c in listed])
    done = request.query_params.get("notice")
    rows = [
        {"channel": c, "activity": activity[c.id], "state": _state(settings, c, activity[c.id])}
        for c in listed
    ]
    return render(
        request,
        "channels.html",
        user=user,
        section="channels",
        rows=rows,
        kinds=channel_form.KINDS,
        widget=widget_out(request, settings, livechat, user.user.tenant_id),
        notice=translate(cookies.lang(request), f"notice.channel_{done}") if done in NOTICES else None,
    )


@router.get("")
def channels_page(
    request: Request, channels: ChannelsDep, livechat: LivechatDep, settings: SettingsDep, user: SectionDep
) -> Response:
    return _list_page(request, channels, livechat, settings, user)


# --- connecting -------------------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in channel_form.KINDS:
        raise NotFound(f"no channel kind {kind}; kinds: {', '.join(channel_form.KINDS)}")
    return kind


def _form_page(
    request: Request,
    user: SignedIn,
    kind: str,
    values: dict[str, str],
    status_code: int = 200,
    **context: Any,
) -> Response:
    return render(
        request,
        "channel_new.html",
        user=user,
        section="channels",
        status_code=status_code,
        kind=kind,
        inputs=channel_form.inputs(kind),
        hint_key=channel_form.hint_key,
        values=values,
        **{"errors": {}, **context},
    )


@router.get("/new/{kind}")
def new_channel(kind: str, request: Request, user: SectionDep) -> Response:
    return _form_page(request, user, _kind(kind), channel_form.blank(kind))


@router.post("/new/{kind}")
async def create_channel(
    kind: str, request: Request, channels: ChannelsDep, settings: SettingsDep, user: SectionPostedDep
) -> Response:
    """Validated by ChannelIn and stored by `connect`, as POST /v1/channels. The answer is the page with
    the webhook URL and the tokens chosen on the form, shown this once (no redirect could carry them:
    they are sealed from here on); the credentials are not in it."""
    kind = _kind(kind)
    lang = cookies.lang(request)
    body, shown, errors = channel_form.validate(lang, kind, await request.form())
    if body is None:
        return _form_page(request, user, kind, shown, 422, errors=errors)
    channel = await run_in_threadpool(connect, channels, user.user.tenant_id, user_actor(user.user.id), body)
    chosen = [(i.field, shown[i.name]) for i in channel_form.inputs(kind) if i.kind == "chosen"]
    return render(
        request,
        "channel_connected.html",
        user=user,
        section="channels",
        channel=channel,
        url=webhook_url(request, settings, channel),
        chosen=chosen,
        secret=dict(chosen).get("secret_token"),  # Telegram's, for its setWebhook address
    )


# --- a channel ----------------------------------------------------------------------------------------


def _secrets_set(channels: ChannelStore, channel: Channel) -> list[tuple[str, bool]]:
    """Each sealed field and whether it holds a value: never the value."""
    sealed = channels.secrets(channel)
    return [(name, bool(sealed.get(name))) for name in SECRET_FIELDS.get(channel.kind, ())]


@router.get("/{channel_id}")
def channel_page(
    channel_id: str,
    request: Request,
    channels: ChannelsDep,
    unparsed: UnparsedDep,
    settings: SettingsDep,
    user: SectionDep,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    channel = channels.get(channel_id, tenant)  # another tenant's is not found
    activity = channels.activity(tenant, [channel.id])[channel.id]
    asked = request.query_params.get("events")
    state: State = "resolved" if asked == "resolved" else "all" if asked == "all" else "open"
    done = request.query_params.get("notice")
    notice = None
    if done in CHANNEL_NOTICES:
        # Counts only: the query string never puts words of its own into the page.
        counts = {k: _count(request.query_params.get(k)) for k in ("resolved", "failing")}
        notice = translate(lang, f"notice.channel_{done}", **counts)
    return render(
        request,
        "channel.html",
        user=user,
        section="channels",
        notice=notice,
        channel=channel,
        activity=activity,
        state=_state(settings, channel, activity),
        url=webhook_url(request, settings, channel),
        secret=None,
        sealed=_secrets_set(channels, channel),
        events=unparsed.list(tenant, channel.id, 100, state),
        events_state=state,
        event_states=EVENT_STATES,
    )


@router.post("/{channel_id}/delete")
def delete_channel(channel_id: str, channels: ChannelsDep, user: SectionPostedDep) -> Response:
    """As DELETE /v1/channels/{id}: its deliveries are refused from now on, in every process."""
    channels.delete(user.user.tenant_id, channel_id, actor=user_actor(user.user.id))
    return RedirectResponse("/console/channels?notice=deleted", status_code=303)


def _count(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else 0


def _back(channel_id: str, notice: str, **counts: int) -> Response:
    query = urlencode({"notice": notice, **counts})
    return RedirectResponse(f"/console/channels/{channel_id}?{query}#events", status_code=303)


@router.post("/{channel_id}/events/retry")
def retry_events(channel_id: str, retry: RetryDep, user: SectionPostedDep) -> Response:
    """Every open event read again, as POST /v1/channels/{id}/unparsed-events/retry."""
    retried = retry.retry_all(user.user.tenant_id, channel_id)
    return _back(channel_id, "events_retried", resolved=retried.resolved, failing=retried.failing)


@router.post("/{channel_id}/events/{event_id}/retry")
def retry_event(channel_id: str, event_id: str, retry: RetryDep, user: SectionPostedDep) -> Response:
    """One event read again, as POST /v1/channels/{id}/unparsed-events/{event_id}/retry."""
    event = retry.retry(user.user.tenant_id, channel_id, event_id)
    return _back(channel_id, "event_read" if event.resolved_at else "event_unreadable")
