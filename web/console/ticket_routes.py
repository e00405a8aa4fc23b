"""A ticket's page (admins and agents): its SLA clocks, the status moves it allows, its fields, notes and
CSAT.

The store does the work (crm.tickets, as /v1/tickets): the request models are the API's (TicketIn,
TicketPatch, NoteIn), the allowed moves are TRANSITIONS, the clocks sla_of on the tenant's working hours.
A refused move comes back as the store's message, at the status buttons. Assignees are staff users
(staff_choices); old free-text assignees still show.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from core.audit import user_actor
from core.db import utcnow
from core.deps import CoreDep
from core.errors import ParleyError
from core.staff.sessions import SignedIn
from crm.routes import CrmDep, NoteIn
from crm.services import CrmServices
from crm.ticket_models import PRIORITIES, TRANSITIONS, TicketType
from crm.ticket_routes import TicketPatch
from crm.tickets import sla_of
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message, validation_errors
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute
from web.console.staff_choices import choices, describer, names

router = APIRouter(prefix="/console/tickets", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("tickets")]
SectionPostedDep = Annotated[SignedIn, section_poster("tickets")]
FormStr = Annotated[str, Form()]
NOTICES = ("created", "moved", "saved", "noted")


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
    edited = ("subject", "type", "custom_type", "description", "priority", "assignee", "team")
    values = context.pop("values", None) or {name: getattr(ticket, name) for name in edited}
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
        values=values,
        types=get_args(TicketType),
        priorities=PRIORITIES,
        assignees=choices(users, values.get("assignee")),
        people=names(users),
        who=describer(users, lang),
        notice=translate(lang, f"notice.ticket_{done}") if done in NOTICES else None,
        **{"errors": {}, "note": "", **context},
    )


def _back(ticket_id: str, notice: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/console/tickets/{ticket_id}?notice={notice}{anchor}", status_code=303)


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
        errors = {name if name in patch else at: text for name, text in validation_errors(exc).items()}
        return _ticket_page(request, crm, core, user, ticket_id, 422, errors=errors, values=patch)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        lang = cookies.lang(request)
        refused = exc.code == "conflict" and at == "status"
        text = translate(lang, "ticket.move_refused", detail=exc.message) if refused else message(lang, exc)
        status_code = 409 if exc.code == "conflict" else 422
        # The store names custom_type when a custom ticket has none; anything else is about `at`.
        errors = {"custom_type" if "custom_type" in exc.message and "custom_type" in patch else at: text}
        return _ticket_page(request, crm, core, user, ticket_id, status_code, errors=errors, values=patch)
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
    subject: FormStr = "",
    type: FormStr = "",
    custom_type: FormStr = "",
    description: FormStr = "",
    priority: FormStr = "",
    assignee: FormStr = "",
    team: FormStr = "",
) -> Response:
    patch = {
        "subject": subject.strip(),
        "type": type,
        "custom_type": custom_type.strip() or None,
        "description": description.strip(),
        "priority": priority,
        "assignee": assignee.strip() or None,
        "team": team.strip() or None,
    }
    refused = _change(request, crm, core, user, ticket_id, patch, "subject")
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
