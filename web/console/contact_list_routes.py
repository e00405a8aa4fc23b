"""The contacts list (admins and agents): search by name, phone or e-mail, filters by tag, owner, list and
attribute, paging, and saved views (a named set of filters, as /v1/views keeps them).

The search is find_contacts, as GET /v1/contacts runs it, with the filters checked by the API's own
ViewFilters; a view is saved and read through crm.views, as POST /v1/views does.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from core.deps import CoreDep
from core.errors import ParleyError
from core.staff.sessions import SignedIn
from crm.list_routes import ViewIn
from crm.routes import CrmDep, find_contacts
from crm.services import CrmServices
from crm.views import ViewFilters
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import message
from web.console.i18n import Lang, translate
from web.console.render import render
from web.console.route_class import ConsoleRoute
from web.console.staff_choices import choices, names

router = APIRouter(prefix="/console/contacts", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("contacts")]
SectionPostedDep = Annotated[SignedIn, section_poster("contacts")]
FormStr = Annotated[str, Form()]
PAGE = 50
FILTERS = ("q", "tag", "owner", "list", "attr", "value")
NOTICES = ("deleted",)


def _filters(
    lang: Lang, given: dict[str, str], crm: CrmServices, tenant: str
) -> tuple[ViewFilters, dict[str, str]]:
    """The list's filters from the form, checked as the API checks them; {input: error} for the rest."""
    errors: dict[str, str] = {}
    attribute = given["attr"]
    if attribute and attribute not in crm.attributes.definitions(tenant):
        errors["attr"] = translate(lang, "contacts.unknown_attribute", name=attribute)
    try:
        filters = ViewFilters(
            q=given["q"] or None,
            tag=given["tag"] or None,
            owner=given["owner"] or None,
            list_id=given["list"] or None,
            attributes={attribute: given["value"]} if attribute and not errors else {},
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = {"list_id": "list"}.get(str(error["loc"][0]), str(error["loc"][0]))
            errors[name] = str(error["msg"])
        filters = ViewFilters()
    if filters.list_id:
        crm.lists.get(tenant, filters.list_id)  # another tenant's list: 404, not an empty page
    return filters, errors


def _given(saved: ViewFilters) -> dict[str, str]:
    """A saved view's filters as the form shows them (its first attribute filter in the form's one pair)."""
    attribute, value = next(iter(saved.attributes.items()), ("", ""))
    fields = {"q": saved.q, "tag": saved.tag, "owner": saved.owner, "list": saved.list_id}
    return {**{k: v or "" for k, v in fields.items()}, "attr": attribute, "value": value}


def _list_page(
    request: Request,
    crm: CrmServices,
    core: CoreDep,
    user: SignedIn,
    page: int = 1,
    status_code: int = 200,
    posted: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The list with the query's (or the `posted`) filters, or with those of the saved view of `?view=`."""
    tenant = user.user.tenant_id
    view_id = request.query_params.get("view", "")
    if view_id and posted is None:
        filters = ViewFilters.model_validate(crm.views.get(tenant, view_id).filters)  # 404 elsewhere
        given, errors, kept = _given(filters), dict[str, str](), {"view": view_id}
    else:
        given = posted or {name: request.query_params.get(name, "").strip() for name in FILTERS}
        filters, errors = _filters(cookies.lang(request), given, crm, tenant)
        kept = {name: value for name, value in given.items() if value}
    found = None if errors else find_contacts(crm, tenant, filters, PAGE, (page - 1) * PAGE)
    users = core.staff.users.list(tenant)
    errors |= context.pop("errors", {})
    lang, done = cookies.lang(request), request.query_params.get("notice")
    return render(
        request,
        "contacts.html",
        user=user,
        section="contacts",
        status_code=422 if errors and status_code == 200 else status_code,
        found=found,
        page=page,
        pages=max(1, -(-found.total // PAGE)) if found else 1,
        link=lambda to: "/console/contacts?" + urlencode({**kept, "page": to}),
        given=given,
        errors=errors,
        view_id=view_id,
        views=crm.views.all(tenant),
        lists=crm.lists.all(tenant),
        attributes=crm.attributes.all(tenant),
        people=names(users),
        owners=choices(users, given["owner"] or None),
        notice=translate(lang, f"notice.contacts_{done}") if done in NOTICES else None,
        **{"view_name": "", **context},
    )


@router.get("")
def contacts(
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _list_page(request, crm, core, user, page)


@router.post("/views")
def save_view(
    request: Request,
    crm: CrmDep,
    core: CoreDep,
    user: SectionPostedDep,
    name: FormStr = "",
    q: FormStr = "",
    tag: FormStr = "",
    owner: FormStr = "",
    list_id: Annotated[str, Form(alias="list")] = "",
    attr: FormStr = "",
    value: FormStr = "",
) -> Response:
    """The filters shown, saved under a name; then the list through the view."""
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    given = {"q": q, "tag": tag, "owner": owner, "list": list_id, "attr": attr, "value": value}
    given = {key: text.strip() for key, text in given.items()}
    filters, errors = _filters(lang, given, crm, tenant)
    status_code = 422
    try:
        body = ViewIn(name=name.strip(), filters=filters)
        if not errors:
            view = crm.views.create(tenant, body.name, body.filters)
            return RedirectResponse(f"/console/contacts?view={view.id}", status_code=303)
    except ValidationError as exc:
        errors["view_name"] = "; ".join(str(e["msg"]) for e in exc.errors())
    except ParleyError as exc:  # a view of that name exists
        errors["view_name"] = message(lang, exc)
        status_code = 409 if exc.code == "conflict" else 422
    return _list_page(request, crm, core, user, 1, status_code, given, errors=errors, view_name=name)
