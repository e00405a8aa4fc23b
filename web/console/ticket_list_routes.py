"""The tickets list (admins and agents), filtered by status, priority, type and assignee, with each
ticket's SLA clocks; and the form of a new ticket, for a contact or none.

The list is crm.tickets.search and sla_of, as GET /v1/tickets; a new ticket is checked by the API's
TicketIn and created by the store, as POST /v1/tickets, as the signed-in user. Assignees are staff users
(staff_choices); old free-text assignees still show and filter.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from core.audit import user_actor
from core.db import utcnow
from core.deps import CoreDep
from core.errors import ParleyError
from core.staff.sessions import SignedIn
from crm.routes import CrmDep
from crm.services import CrmServices
from crm.ticket_models import PRIORITIES, Status, Ticket, TicketType
from crm.ticket_routes import TicketIn
from crm.tickets import sla_of
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message, validation_errors
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute
from web.console.staff_choices import choices, names

router = APIRouter(prefix="/console/tickets", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("tickets")]
SectionPostedDep = Annotated[SignedIn, section_poster("tickets")]
FormStr = Annotated[str, Form()]
STATUSES: tuple[str, ...] = get_args(Status)
TYPES: tuple[str, ...] = get_args(TicketType)
PAGE = 50
FILTERS = ("status", "priority", "type", "assignee")


@router.get("")
def tickets(
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    given = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    errors = {
        name: translate(lang, "tickets.unknown_value", value=given[name])
        for name, known in (("status", STATUSES), ("priority", PRIORITIES), ("type", TYPES))
        if given[name] and given[name] not in known
    }
    found: list[Ticket] = []
    total = 0
    if not errors:
        found, total = crm.tickets.search(
            tenant,
            status=given["status"] or None,
            priority=given["priority"] or None,
            type=given["type"] or None,
            assignee=given["assignee"] or None,
            limit=PAGE,
            offset=(page - 1) * PAGE,
        )
    settings, now = crm.tickets.settings(tenant), utcnow()
    users = core.staff.users.list(tenant)
    kept = {name: value for name, value in given.items() if value}
    return render(
        request,
        "tickets.html",
        user=user,
        section="tickets",
        status_code=422 if errors else 200,
        rows=[(ticket, sla_of(ticket, settings, now)) for ticket in found],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        link=lambda to: "/console/tickets?" + urlencode({**kept, "page": to}),
        given=given,
        errors=errors,
        statuses=STATUSES,
        priorities=PRIORITIES,
        types=TYPES,
        assignees=choices(users, given["assignee"] or None),
        people=names(users),
    )


def _new_page(
    request: Request, crm: CrmServices, core: CoreDep, user: SignedIn, status_code: int = 200, **context: Any
) -> Response:
    tenant = user.user.tenant_id
    values = context.pop("values", {"contact_id": request.query_params.get("contact", "")})
    contact = crm.contacts.get(tenant, values["contact_id"]) if values.get("contact_id") else None
    return render(
        request,
        "ticket_new.html",
        user=user,
        section="tickets",
        status_code=status_code,
        values={"type": "general_support", "priority": "medium", **values},
        contact=contact,
        types=TYPES,
        priorities=PRIORITIES,
        assignees=choices(core.staff.users.list(tenant), values.get("assignee")),
        **{"errors": {}, **context},
    )


@router.get("/new")
def new_ticket(request: Request, crm: CrmDep, core: CoreDep, user: SectionDep) -> Response:
    """The form of a new ticket, for the contact of `?contact=` (404 when not the tenant's)."""
    return _new_page(request, crm, core, user)


@router.post("/new")
def create(
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionPostedDep,
    contact_id: FormStr = "",
    type: FormStr = "",
    custom_type: FormStr = "",
    priority: FormStr = "",
    subject: FormStr = "",
    description: FormStr = "",
    assignee: FormStr = "",
) -> Response:
    values = {
        "contact_id": contact_id.strip() or None,
        "type": type,
        "custom_type": custom_type.strip() or None,
        "priority": priority,
        "subject": subject.strip(),
        "description": description.strip(),
        "assignee": assignee.strip() or None,
    }
    try:
        body = TicketIn.model_validate(values)
        ticket = crm.tickets.create(user.user.tenant_id, user_actor(user.user.id), body.model_dump())
    except ValidationError as exc:
        return _new_page(request, crm, core, user, 422, values=values, errors=validation_errors(exc))
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        errors = {"custom_type": message(cookies.lang(request), exc)}
        return _new_page(request, crm, core, user, 422, values=values, errors=errors)
    return RedirectResponse(f"/console/tickets/{ticket.id}?notice=created", status_code=303)
