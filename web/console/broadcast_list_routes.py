"""The Broadcasts list (admins), filtered by status, channel and name; the compose form of a new broadcast;
and the live panel the compose form refreshes as it changes (who the audience reaches, the message one
contact would get).

The list is BroadcastStore.all, as GET /v1/broadcasts; a new broadcast is read from the form into the body
POST /v1/broadcasts takes, checked by the API's BroadcastIn and created by the store as the signed-in user.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from channels.store import ChannelStore
from core.audit import user_actor
from core.deps import provided
from core.errors import ParleyError
from core.staff.sessions import SignedIn
from crm.broadcasts.models import Status
from crm.broadcasts.routes import BroadcastIn, BroadcastsDep, given_fields
from crm.broadcasts.store import BroadcastStore
from crm.routes import CrmDep
from crm.services import CrmServices
from web.console import broadcast_form, cookies
from web.console.broadcast_view import compose_choices, live_panel, local
from web.console.deps import section_poster, section_user
from web.console.forms import message
from web.console.i18n import translate
from web.console.render import fragment, render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/broadcasts", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("broadcasts")]
SectionPostedDep = Annotated[SignedIn, section_poster("broadcasts")]
ChannelsDep = Annotated[ChannelStore, provided(ChannelStore)]
STATUSES: tuple[str, ...] = get_args(Status)
PAGE = 50
FILTERS = ("status", "channel", "q")
NOTICES = ("deleted",)


async def _posted_form(request: Request) -> FormData:
    """The posted form, read whole (its inputs vary with the condition rows), so that the route itself can
    be a plain `def`, run in the thread pool as every page that reads the database is."""
    return await request.form()


FormDep = Annotated[FormData, Depends(_posted_form)]


@router.get("")
def broadcasts(
    request: Request,
    store: BroadcastsDep,
    channels: ChannelsDep,
    user: SectionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    given = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    errors = {}
    if given["status"] and given["status"] not in STATUSES:
        errors["status"] = translate(lang, "tickets.unknown_value", value=given["status"])
    found = [] if errors else store.all(tenant, given["status"] or None)
    if given["channel"]:
        found = [b for b in found if b.channel_id == given["channel"]]
    if given["q"]:
        words = given["q"].casefold()
        found = [b for b in found if words in b.name.casefold()]
    kept = {name: value for name, value in given.items() if value}
    done = request.query_params.get("notice")
    return render(
        request,
        "broadcasts.html",
        user=user,
        section="broadcasts",
        status_code=422 if errors else 200,
        rows=found[(page - 1) * PAGE : page * PAGE],
        total=len(found),
        page=page,
        pages=max(1, -(-len(found) // PAGE)),
        link=lambda to: "/console/broadcasts?" + urlencode({**kept, "page": to}),
        given=given,
        errors=errors,
        statuses=STATUSES,
        channels={c.id: c for c in channels.list(tenant)},
        local=local,
        notice=translate(lang, f"notice.broadcasts_{done}") if done in NOTICES else None,
    )


def new_page(
    request: Request,
    store: BroadcastStore,
    channels: ChannelStore,
    crm: CrmServices,
    user: SignedIn,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    values = context.pop("values", None) or broadcast_form.values_of(None, crm.hours.timezone(tenant))
    choices = compose_choices(lang, crm, channels, tenant, values)
    if not values["channel_id"] and choices["channels"]:
        values["channel_id"] = choices["channels"][0].id
    return render(
        request,
        "broadcast_new.html",
        user=user,
        section="broadcasts",
        status_code=status_code,
        values=values,
        live=live_panel(lang, store, channels, crm, tenant, values),
        **choices,
        **{"errors": {}, **context},
    )


@router.get("/new")
def new_broadcast(
    request: Request, store: BroadcastsDep, channels: ChannelsDep, crm: CrmDep, user: SectionDep
) -> Response:
    return new_page(request, store, channels, crm, user)


@router.post("/new")
def create(
    request: Request,
    form: FormDep,
    store: BroadcastsDep,
    channels: ChannelsDep,
    crm: CrmDep,
    user: SectionPostedDep,
) -> Response:
    values = broadcast_form.read(form)
    tenant = user.user.tenant_id
    body, errors = broadcast_form.body_of(values, crm.attributes.definitions(tenant))
    status_code = 422
    if not errors:
        try:
            fields = given_fields(BroadcastIn.model_validate(body))
            made = store.create(tenant, user_actor(user.user.id), fields)
            return RedirectResponse(f"/console/broadcasts/{made.id}?notice=created", status_code=303)
        except ValidationError as exc:
            errors = broadcast_form.validation_errors(exc)
        except ParleyError as exc:
            errors = {broadcast_form.input_for(exc, values): message(cookies.lang(request), exc)}
            status_code = 409 if exc.code == "conflict" else 422
    return new_page(request, store, channels, crm, user, status_code, values=values, errors=errors)


@router.post("/live")
def live(
    request: Request,
    form: FormDep,
    store: BroadcastsDep,
    channels: ChannelsDep,
    crm: CrmDep,
    user: SectionPostedDep,
) -> Response:
    """The live panel for the compose form as it stands (posted whole by console.js, CSRF token included)."""
    preview = form.get("preview")
    panel = live_panel(
        cookies.lang(request),
        store,
        channels,
        crm,
        user.user.tenant_id,
        broadcast_form.read(form),
        preview if isinstance(preview, str) else "",
    )
    return HTMLResponse(fragment("_broadcast_live.html", request, live=panel))
