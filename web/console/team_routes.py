"""The Team page (admins): users of the tenant, their roles, invitations by link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from core.audit import user_actor
from core.deps import CoreDep
from core.errors import ParleyError
from core.staff.models import STAFF_ROLES
from core.staff.routes import invitation_url
from core.staff.sessions import SignedIn
from web.console import cookies
from web.console.deps import section_poster, section_user
from web.console.forms import field_error, message
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/team", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("team")]
SectionPostedDep = Annotated[SignedIn, section_poster("team")]
FormStr = Annotated[str, Form()]
NOTICES = ("role_changed", "user_removed", "invitation_revoked")


def _page(
    request: Request, core: CoreDep, user: SignedIn, status_code: int = 200, **context: Any
) -> Response:
    tenant = user.user.tenant_id
    notice = request.query_params.get("notice")
    return render(
        request,
        "team.html",
        user=user,
        section="team",
        status_code=status_code,
        users=core.staff.users.list(tenant),
        invitations=core.staff.invitations.pending(tenant),
        roles=STAFF_ROLES,
        notice=translate(cookies.lang(request), f"notice.{notice}") if notice in NOTICES else None,
        **{"errors": {}, "invite_email": "", "invite_role": "agent", **context},
    )


def _done(notice: str) -> Response:
    return RedirectResponse(f"/console/team?notice={notice}", status_code=303)


@router.get("")
def team(request: Request, core: CoreDep, user: SectionDep) -> Response:
    return _page(request, core, user)


@router.post("/invite")
def invite(
    request: Request, core: CoreDep, user: SectionPostedDep, email: FormStr = "", role: FormStr = ""
) -> Response:
    lang = cookies.lang(request)
    try:
        invited = core.staff.invitations.create(user.user.tenant_id, user_actor(user.user.id), email, role)
    except ParleyError as exc:
        errors = field_error(lang, exc, ("email", "role"), "email")
        return _page(request, core, user, 422, errors=errors, invite_email=email, invite_role=role)
    # The link is shown here, once: only its hash is stored.
    return _page(request, core, user, invited=invited.invitation, link=invitation_url(request, invited.token))


@router.post("/users/{user_id}/role")
def change_role(
    user_id: str, request: Request, core: CoreDep, user: SectionPostedDep, role: FormStr = ""
) -> Response:
    try:
        core.staff.users.change_role(user.user.tenant_id, user_actor(user.user.id), user_id, role)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        status_code = 409 if exc.code == "last_admin" else 422
        return _page(
            request, core, user, status_code, row_error=(user_id, message(cookies.lang(request), exc))
        )
    return _done("role_changed")


@router.post("/users/{user_id}/remove")
def remove(user_id: str, request: Request, core: CoreDep, user: SectionPostedDep) -> Response:
    lang = cookies.lang(request)
    if user_id == user.user.id:
        return _page(request, core, user, 422, row_error=(user_id, translate(lang, "team.not_self")))
    try:
        core.staff.users.remove(user.user.tenant_id, user_actor(user.user.id), user_id)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        return _page(request, core, user, 409, row_error=(user_id, message(lang, exc)))
    return _done("user_removed")


@router.post("/invitations/{invitation_id}/revoke")
def revoke(invitation_id: str, core: CoreDep, user: SectionPostedDep) -> Response:
    core.staff.invitations.revoke(user.user.tenant_id, user_actor(user.user.id), invitation_id)
    return _done("invitation_revoked")
