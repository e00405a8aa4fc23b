"""The Tickets pages (admins and agents): the list filtered by status, priority and assignee with each
ticket's SLA clocks; a ticket's page with the status moves it allows, its fields, notes and CSAT; a new
ticket for a contact.

The store does the work (crm.tickets, as /v1/tickets): the request models are the API's (TicketIn,
TicketPatch, NoteIn), the allowed moves are TRANSITIONS, the clocks sla_of on the tenant's working hours.
A refused move comes back as the store's message, at the status buttons. Assignees are staff users
(staff_choices); old free-text assignees still show.
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
from crm.routes import CrmDep, NoteIn
from crm.services import CrmServices
from crm.ticket_models import PRIORITIES, TRANSITIONS, Status, Ticket, TicketType
from crm.ticket_routes import TicketIn, TicketPatch
from crm.tickets import sla_of
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message
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
NOTICES = ("created", "moved", "saved", "noted")
FILTERS = ("status", "priority", "type", "assignee")


def _errors(exc: ValidationError) -> dict[str, str]:
    """{input: message} from the API model's errors (their first location is the field)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return errors


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
    done = request.query_params.get("notice")
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
        now=now,
        notice=translate(lang, f"notice.ticket_{done}") if done in NOTICES else None,
    )


def _ticket_page(
    request: Request,
    crm: CrmServices,
    core: CoreDep,
    user: SignedIn,
    ticket_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    ticket = crm.tickets.get(tenant, ticket_id)  # NotFound (404) outside the tenant
    users = core.staff.users.list(tenant)
    done = request.query_params.get("notice")
    contact = crm.contacts.get(tenant, ticket.contact_id) if ticket.contact_id else None
    return render(
        request,
        "ticket.html",
        user=user,
        section="tickets",
        status_code=status_code,
        ticket=ticket,
        sla=sla_of(ticket, crm.tickets.settings(tenant), utcnow()),
        moves=TRANSITIONS[ticket.status],
        notes=crm.tickets.notes(tenant, ticket.id),
        contact=contact,
        priorities=PRIORITIES,
        assignees=choices(users, ticket.assignee),
        people=names(users),
        notice=translate(lang, f"notice.ticket_{done}") if done in NOTICES else None,
        **{"errors": {}, "note": "", **context},
    )


def _back(ticket_id: str, notice: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/console/tickets/{ticket_id}?notice={notice}{anchor}", status_code=303)


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
        return _new_page(request, crm, core, user, 422, values=values, errors=_errors(exc))
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        errors = {"custom_type": message(cookies.lang(request), exc)}
        return _new_page(request, crm, core, user, 422, values=values, errors=errors)
    return _back(ticket.id, "created")


@router.get("/{ticket_id}")
def ticket_page(ticket_id: str, request: Request, crm: CrmDep, core: CoreDep, user: SectionDep) -> Response:
    return _ticket_page(request, crm, core, user, ticket_id)


def _change(
    request: Request,
    crm: CrmServices,
    core: CoreDep,
    user: SignedIn,
    ticket_id: str,
    patch: dict[str, Any],
    at: str,
) -> Response | None:
    """Apply the patch as PATCH /v1/tickets does; the page with the error at `at` when refused."""
    try:
        body = TicketPatch.model_validate(patch)
        crm.tickets.update(
            user.user.tenant_id, user_actor(user.user.id), ticket_id, body.model_dump(exclude_unset=True)
        )
    except ValidationError as exc:
        errors = {name if name in patch else at: text for name, text in _errors(exc).items()}
        return _ticket_page(request, crm, core, user, ticket_id, 422, errors=errors)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        lang = cookies.lang(request)
        refused = exc.code == "conflict" and at == "status"
        text = translate(lang, "ticket.move_refused", detail=exc.message) if refused else message(lang, exc)
        status_code = 409 if exc.code == "conflict" else 422
        errors = {at: text}
        return _ticket_page(request, crm, core, user, ticket_id, status_code, errors=errors)
    return None


@router.post("/{ticket_id}/status")
def move(
    ticket_id: str, request: Request, crm: CrmDep, core: CoreDep, user: SectionPostedDep, status: FormStr = ""
) -> Response:
    refused = _change(request, crm, core, user, ticket_id, {"status": status}, "status")
    return refused or _back(ticket_id, "moved")


@router.post("/{ticket_id}/edit")
def edit(
    ticket_id: str,
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionPostedDep,
    priority: FormStr = "",
    assignee: FormStr = "",
    team: FormStr = "",
) -> Response:
    patch = {"priority": priority, "assignee": assignee.strip() or None, "team": team.strip() or None}
    refused = _change(request, crm, core, user, ticket_id, patch, "priority")
    return refused or _back(ticket_id, "saved")


@router.post("/{ticket_id}/notes")
def add_note(
    ticket_id: str, request: Request, crm: CrmDep, core: CoreDep, user: SectionPostedDep, text: FormStr = ""
) -> Response:
    try:
        body = NoteIn(text=text.strip())
    except ValidationError as exc:
        errors = {"note": "; ".join(str(e["msg"]) for e in exc.errors())}
        return _ticket_page(request, crm, core, user, ticket_id, 422, errors=errors, note=text)
    crm.tickets.add_note(user.user.tenant_id, user_actor(user.user.id), ticket_id, body.text)
    return _back(ticket_id, "noted", "#notes")
