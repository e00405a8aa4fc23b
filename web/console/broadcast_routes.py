"""A broadcast's page (admins): its status and the actions it allows, its compose form while it can still
be edited (draft, scheduled) with the live panel, its metrics with a chart, its recipients page by page,
and the CSV export.

Everything goes through the store as /v1/broadcasts does: an edit is the body PATCH takes (checked by the
API's BroadcastFields), the buttons are the moves `MOVES` lists for the status (publish, pause, resume,
cancel) with duplicate and delete; a move refused all the same (another tab moved it first, publishing
without content) comes back with the store's reason at the buttons. The metrics, the recipients and the
export are the store's, as GET .../metrics, .../recipients and .../export.csv give them.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from channels.store import ChannelStore
from core.audit import user_actor
from core.errors import NotFound, ParleyError
from core.staff.sessions import SignedIn
from crm.broadcasts.models import Audience, Content, RecipientStatus
from crm.broadcasts.routes import BroadcastFields, BroadcastsDep, given_fields, recipients_csv
from crm.broadcasts.store import DELETABLE, EDITABLE, MOVES, BroadcastStore
from crm.routes import CrmDep
from crm.services import CrmServices
from web.console import broadcast_form, cookies
from web.console.broadcast_list_routes import ChannelsDep, FormDep, SectionDep, SectionPostedDep
from web.console.broadcast_view import compose_choices, contact_label, live_panel, local
from web.console.forms import message
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/broadcasts", route_class=ConsoleRoute, include_in_schema=False)
RECIPIENT_STATUSES: tuple[str, ...] = get_args(RecipientStatus)
ACTIONS = (*MOVES, "duplicate", "delete")
PAGE = 50
NOTICES = ("created", "saved", "duplicated", *MOVES)


def _page(
    request: Request,
    store: BroadcastStore,
    channels: ChannelStore,
    crm: CrmServices,
    user: SignedIn,
    broadcast_id: str,
    status_code: int = 200,
    page: int = 1,
    recipient_status: str = "",
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    broadcast = store.get(tenant, broadcast_id)  # NotFound (404) outside the tenant
    editable = broadcast.status in EDITABLE
    values = context.pop("values", None) or broadcast_form.values_of(broadcast, broadcast.timezone)
    try:
        channel = channels.get(broadcast.channel_id, tenant)
    except NotFound:  # deleted since: the page still shows the broadcast
        channel = None
    rows, total = store.recipients.page(
        tenant, broadcast.id, recipient_status or None, PAGE, (page - 1) * PAGE
    )
    found = crm.contacts.search(tenant, ids={r.contact_id for r in rows}, limit=PAGE).items if rows else []
    contacts = {c.id: contact_label(c) for c in found}
    lists = {item.id: item.name for item in crm.lists.all(tenant)}
    done = request.query_params.get("notice")
    kept = {"status": recipient_status} if recipient_status else {}
    extra: dict[str, Any] = {}
    if editable:
        extra = compose_choices(lang, crm, channels, tenant, values)
        extra["live"] = live_panel(lang, store, channels, crm, tenant, values)
    return render(
        request,
        "broadcast.html",
        user=user,
        section="broadcasts",
        status_code=status_code,
        broadcast=broadcast,
        channel=channel,
        editable=editable,
        moves=[action for action, starts in MOVES.items() if broadcast.status in starts],
        deletable=broadcast.status in DELETABLE,
        content=Content.model_validate(broadcast.content),
        audience=Audience.model_validate(broadcast.audience),
        list_names=lists,
        metrics=store.recipients.metrics(tenant, broadcast.id),
        recipients=rows,
        recipient_total=total,
        recipient_status=recipient_status,
        recipient_statuses=RECIPIENT_STATUSES,
        contacts=contacts,
        page=page,
        pages=max(1, -(-total // PAGE)),
        link=lambda to: (
            f"/console/broadcasts/{broadcast.id}?" + urlencode({**kept, "page": to}) + "#recipients"
        ),
        local=lambda value: local(value, broadcast.timezone),
        values=values,
        notice=translate(lang, f"notice.broadcast_{done}") if done in NOTICES else None,
        **extra,
        **{"errors": {}, **context},
    )


@router.get("/{broadcast_id}")
def broadcast_page(
    broadcast_id: str,
    request: Request,
    store: BroadcastsDep,
    channels: ChannelsDep,
    crm: CrmDep,
    user: SectionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    status: str = "",
) -> Response:
    """The page; its recipients filtered by `status` and paged by `page`."""
    if status and status not in RECIPIENT_STATUSES:
        lang = cookies.lang(request)
        errors = {"recipient_status": translate(lang, "tickets.unknown_value", value=status)}
        return _page(request, store, channels, crm, user, broadcast_id, 422, errors=errors)
    return _page(request, store, channels, crm, user, broadcast_id, page=page, recipient_status=status)


@router.get("/{broadcast_id}/export.csv")
def export(broadcast_id: str, store: BroadcastsDep, user: SectionDep) -> Response:
    """The same file as GET /v1/broadcasts/{id}/export.csv."""
    return recipients_csv(store, user.user.tenant_id, broadcast_id)


@router.post("/{broadcast_id}/edit")
def edit(
    broadcast_id: str,
    request: Request,
    form: FormDep,
    store: BroadcastsDep,
    channels: ChannelsDep,
    crm: CrmDep,
    user: SectionPostedDep,
) -> Response:
    """The whole form as a PATCH: every field as the form shows it (a blank send time: on publishing)."""
    tenant = user.user.tenant_id
    values = broadcast_form.read(form)
    body, errors = broadcast_form.body_of(values, crm.attributes.definitions(tenant))
    status_code = 422
    if not errors:
        try:
            fields = given_fields(BroadcastFields.model_validate(body))
            store.update(tenant, user_actor(user.user.id), broadcast_id, fields)
            return RedirectResponse(f"/console/broadcasts/{broadcast_id}?notice=saved", status_code=303)
        except ValidationError as exc:
            errors = broadcast_form.validation_errors(exc)
        except ParleyError as exc:
            if exc.code == "not_found":
                raise
            errors = {broadcast_form.input_for(exc, values): message(cookies.lang(request), exc)}
            status_code = 409 if exc.code == "conflict" else 422
    return _page(request, store, channels, crm, user, broadcast_id, status_code, values=values, errors=errors)


@router.post("/{broadcast_id}/{action}")
def act(
    broadcast_id: str,
    action: str,
    request: Request,
    store: BroadcastsDep,
    channels: ChannelsDep,
    crm: CrmDep,
    user: SectionPostedDep,
) -> Response:
    """publish, pause, resume, cancel (as POST /v1/broadcasts/{id}/<action>), duplicate or delete."""
    if action not in ACTIONS:
        raise NotFound(f"no broadcast action {action}")
    tenant, actor = user.user.tenant_id, user_actor(user.user.id)
    try:
        if action == "duplicate":
            copy = store.duplicate(tenant, actor, broadcast_id)
            return RedirectResponse(f"/console/broadcasts/{copy.id}?notice=duplicated", status_code=303)
        if action == "delete":
            store.delete(tenant, actor, broadcast_id)
            return RedirectResponse("/console/broadcasts?notice=deleted", status_code=303)
        move = {
            "publish": store.publish,
            "pause": store.pause,
            "resume": store.resume,
            "cancel": store.cancel,
        }
        move[action](tenant, actor, broadcast_id)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        lang = cookies.lang(request)
        refused = translate(lang, "broadcast.refused", detail=message(lang, exc))
        status_code = 409 if exc.code == "conflict" else 422
        return _page(
            request, store, channels, crm, user, broadcast_id, status_code, errors={"actions": refused}
        )
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?notice={action}", status_code=303)
