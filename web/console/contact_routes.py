"""A contact's page (fields, attributes, tags, lists, lead score, conversations, tickets, timeline)
with its edit form, notes and static lists; the CSV export (admins, as GET /v1/contacts/export.csv).

Every read and write goes through the CRM services the /v1 contact routes call, with the same request
models (ContactFields, NoteIn): the console adds no rule of its own. Changes are audited as
the signed-in user.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from core.audit import user_actor
from core.deps import CoreDep
from core.errors import Forbidden, ParleyError
from core.staff.sessions import SignedIn
from crm.contacts import FIELDS
from crm.routes import ContactFields, CrmDep, NoteIn, contacts_csv
from crm.services import CrmServices
from web.console import contact_form, cookies
from web.console.contact_panel import conversations_in, lists_of
from web.console.deps import section_poster, section_user
from web.console.forms import message, validation_errors
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute
from web.console.staff_choices import choices, describer, names

router = APIRouter(prefix="/console/contacts", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("contacts")]
SectionPostedDep = Annotated[SignedIn, section_poster("contacts")]
FormStr = Annotated[str, Form()]
NOTICES = ("created", "saved", "noted", "listed", "unlisted", "scored")


def require_admin(user: SignedIn) -> None:
    """Import, export and delete are for admins, as the API's take an admin key."""
    if user.user.role != "admin":
        raise Forbidden("importing, exporting and deleting contacts is for admins", code="forbidden")


@router.get("/export.csv")
def export(crm: CrmDep, user: SectionDep) -> Response:
    """The same file as GET /v1/contacts/export.csv."""
    require_admin(user)
    return contacts_csv(crm, user.user.tenant_id)


def _new_page(
    request: Request, crm: CrmServices, core: CoreDep, user: SignedIn, status_code: int = 200, **context: Any
) -> Response:
    tenant = user.user.tenant_id
    values = context.pop("values", None) or {"attributes": {}, "tags": [], "opted_out": False}
    return render(
        request,
        "contact_new.html",
        user=user,
        section="contacts",
        status_code=status_code,
        values=values,
        fields=FIELDS,
        attributes=crm.attributes.all(tenant),
        owners=choices(core.staff.users.list(tenant), values.get("owner")),
        **{"errors": {}, **context},
    )


@router.get("/new")
def new_contact(request: Request, crm: CrmDep, core: CoreDep, user: SectionDep) -> Response:
    return _new_page(request, crm, core, user)


@router.post("/new")
async def create(request: Request, crm: CrmDep, core: CoreDep, user: SectionPostedDep) -> Response:
    """A new contact from the same inputs as the edit form (as POST /v1/contacts; its e-mail and phone
    must be free)."""
    tenant = user.user.tenant_id
    definitions = await run_in_threadpool(crm.attributes.all, tenant)
    patch = contact_form.patch_of(await request.form(), definitions)
    fields = contact_form.new_fields(patch)
    try:
        ContactFields.model_validate(fields)
        made = await run_in_threadpool(crm.contacts.create, tenant, user_actor(user.user.id), fields)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except ParleyError as exc:
        errors = {contact_form.input_for(exc): message(cookies.lang(request), exc)}
    else:
        return RedirectResponse(f"/console/contacts/{made.id}?notice=created", status_code=303)
    values = contact_form.values_of(patch)
    return await run_in_threadpool(_new_page, request, crm, core, user, 422, values=values, errors=errors)


def _contact_page(
    request: Request,
    crm: CrmServices,
    core: CoreDep,
    user: SignedIn,
    contact_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    contact = crm.contacts.get(tenant, contact_id)  # NotFound (404) outside the tenant
    timeline = crm.contacts.timeline(tenant, contact.id, 100)
    member, other = lists_of(crm, tenant, contact)
    history = crm.leads.history(tenant, contact.id)
    users = core.staff.users.list(tenant)
    done = request.query_params.get("notice")
    values = context.pop("values", None) or {
        **{field: getattr(contact, field) for field in FIELDS},
        "attributes": dict(contact.attributes or {}),
        "tags": list(contact.tags or []),
        "opted_out": bool(contact.opted_out),
    }
    return render(
        request,
        "contact.html",
        user=user,
        section="contacts",
        status_code=status_code,
        contact=contact,
        values=values,
        fields=FIELDS,
        attributes=crm.attributes.all(tenant),
        owners=choices(users, values.get("owner")),
        people=names(users),
        who=describer(users, lang),
        member_of=member,
        can_join=other,
        lead=history[0] if history else None,
        conversations=conversations_in(timeline),
        tickets=crm.tickets.search(tenant, contact_id=contact.id, limit=20)[0],
        timeline=timeline[:50],
        notice=translate(lang, f"notice.contact_{done}") if done in NOTICES else None,
        **{"errors": {}, "note": "", **context},
    )


def _back(contact_id: str, notice: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/console/contacts/{contact_id}?notice={notice}{anchor}", status_code=303)


@router.get("/{contact_id}")
def contact_page(contact_id: str, request: Request, crm: CrmDep, core: CoreDep, user: SectionDep) -> Response:
    return _contact_page(request, crm, core, user, contact_id)


@router.post("/{contact_id}/edit")
async def edit(
    contact_id: str, request: Request, crm: CrmDep, core: CoreDep, user: SectionPostedDep
) -> Response:
    """The whole form: built-in fields, attributes, tags, opted out (as one PATCH /v1/contacts)."""
    tenant = user.user.tenant_id
    definitions = await run_in_threadpool(crm.attributes.all, tenant)
    patch = contact_form.patch_of(await request.form(), definitions)
    errors: dict[str, str] = {}
    try:
        ContactFields.model_validate(patch)  # the API's lengths and shapes
        await run_in_threadpool(crm.contacts.update, tenant, user_actor(user.user.id), contact_id, patch)
    except ValidationError as exc:
        errors = validation_errors(exc)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        errors[contact_form.input_for(exc)] = message(cookies.lang(request), exc)
    if errors:
        return await run_in_threadpool(
            _contact_page,
            request,
            crm,
            core,
            user,
            contact_id,
            422,
            values=contact_form.values_of(patch),
            errors=errors,
        )
    return _back(contact_id, "saved")


@router.post("/{contact_id}/notes")
def add_note(
    contact_id: str,
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionPostedDep,
    text: FormStr = "",
) -> Response:
    try:
        body = NoteIn(text=text.strip())
    except ValidationError as exc:
        errors = {"note": "; ".join(str(e["msg"]) for e in exc.errors())}
        return _contact_page(request, crm, core, user, contact_id, 422, errors=errors, note=text)
    crm.contacts.add_note(user.user.tenant_id, user_actor(user.user.id), contact_id, body.text)
    return _back(contact_id, "noted", "#timeline")


@router.post("/{contact_id}/lists")
def join_list(contact_id: str, crm: CrmDep, user: SectionPostedDep, list_id: FormStr = "") -> Response:
    """Add to a static list (a condition list's members follow its conditions: the store refuses)."""
    crm.lists.add(user.user.tenant_id, user_actor(user.user.id), list_id, [contact_id])
    return _back(contact_id, "listed", "#lists")


@router.post("/{contact_id}/lists/{list_id}/remove")
def leave_list(contact_id: str, list_id: str, crm: CrmDep, user: SectionPostedDep) -> Response:
    crm.lists.remove(user.user.tenant_id, user_actor(user.user.id), list_id, contact_id)
    return _back(contact_id, "unlisted", "#lists")


@router.post("/{contact_id}/lead")
def score_lead(contact_id: str, crm: CrmDep, user: SectionPostedDep) -> Response:
    """Score the lead again from what they wrote and their attributes (POST /v1/contacts/{id}/lead)."""
    crm.leads.score(user.user.tenant_id, user_actor(user.user.id), contact_id)
    return _back(contact_id, "scored")


@router.post("/{contact_id}/delete")
def delete(contact_id: str, crm: CrmDep, user: SectionPostedDep) -> Response:
    """Admins only, as DELETE /v1/contacts/{id} takes an admin key; audited with the contact's fields."""
    require_admin(user)
    crm.contacts.delete(user.user.tenant_id, user_actor(user.user.id), contact_id)
    return RedirectResponse("/console/contacts?notice=deleted", status_code=303)
