"""Console sign-in, sign-out, invitation acceptance, password change and the language switch."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from core.deps import CoreDep
from core.errors import InvalidInput, NotFound, RateLimited, Unauthorized
from core.signatures import matches
from core.staff.invitations import InvitationGone
from web.console import cookies
from web.console.deps import CsrfRejected, PostedDep, UserDep
from web.console.forms import field_error
from web.console.i18n import LANGS, translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
FormStr = Annotated[str, Form()]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in_redirect(request: Request, core: CoreDep, token: str, target: str) -> Response:
    response = RedirectResponse(cookies.safe_next(target), status_code=303)
    max_age = int(core.staff.sessions.lifetime.total_seconds())
    cookies.set_session(request, response, token, max_age)
    return response


def _sign_in_page(request: Request, status_code: int = 200, **context: Any) -> Response:
    token = cookies.form_token(request)
    return render(request, "sign_in.html", status_code=status_code, form_token=token, **context)


@router.get("/sign-in")
def sign_in_page(request: Request, core: CoreDep, next: str = "/console") -> Response:
    if core.staff.sessions.resolve(request.cookies.get(cookies.SESSION)) is not None:
        return RedirectResponse(cookies.safe_next(next), status_code=303)
    lang = cookies.lang(request)
    notice = translate(lang, "sign_in.signed_out") if request.query_params.get("out") else None
    return _sign_in_page(request, next=cookies.safe_next(next), email="", notice=notice)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    core: CoreDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/console",
    form_token: FormStr = "",
) -> Response:
    if not cookies.form_token_matches(request, form_token):
        raise CsrfRejected()
    lang = cookies.lang(request)
    try:
        token = await run_in_threadpool(core.staff.sign_in, email, password, _address(request))
    except RateLimited as exc:
        error = translate(lang, "sign_in.throttled", minutes=max(1, math.ceil(exc.retry_after / 60)))
        page = _sign_in_page(request, 429, next=next, email=email, error=error)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except Unauthorized:
        error = translate(lang, "sign_in.wrong")
        return _sign_in_page(request, 401, next=next, email=email, error=error)
    return _signed_in_redirect(request, core, token, next)


@router.post("/sign-out")
def sign_out(request: Request, core: CoreDep, user: PostedDep) -> Response:
    core.staff.sign_out(user.token)
    response = RedirectResponse("/console/sign-in?out=1", status_code=303)
    cookies.clear_session(request, response)
    return response


def _invitation_page(
    request: Request, core: CoreDep, token: str, status_code: int = 200, **context: Any
) -> Response:
    try:
        invitation = core.staff.invitations.open(token)
    except InvitationGone:
        message = translate(cookies.lang(request), "invite.gone")
        return render(request, "error.html", status_code=404, message=message)
    tenant = core.tenants.get(invitation.tenant_id)
    form_token = cookies.form_token(request)
    return render(
        request,
        "invite.html",
        status_code=status_code,
        invitation=invitation,
        tenant=tenant.name if tenant else "",
        token=token,
        form_token=form_token,
        **{"name": "", "errors": {}, **context},
    )


@router.get("/invite/{token}")
def invitation_page(token: str, request: Request, core: CoreDep) -> Response:
    return _invitation_page(request, core, token)


@router.post("/invite/{token}")
async def accept_invitation(
    token: str,
    request: Request,
    core: CoreDep,
    name: FormStr = "",
    password: FormStr = "",
    confirm: FormStr = "",
    form_token: FormStr = "",
) -> Response:
    if not cookies.form_token_matches(request, form_token):
        raise CsrfRejected()
    lang = cookies.lang(request)
    if password != confirm:
        errors = {"confirm": translate(lang, "password.mismatch")}
        return await run_in_threadpool(_invitation_page, request, core, token, 422, name=name, errors=errors)
    try:
        user = await run_in_threadpool(core.staff.invitations.accept, token, name, password)
    except InvitationGone:
        return await run_in_threadpool(_invitation_page, request, core, token)
    except InvalidInput as exc:
        errors = field_error(lang, exc, ("password",), "password")
        return await run_in_threadpool(_invitation_page, request, core, token, 422, name=name, errors=errors)
    session_token = await run_in_threadpool(core.staff.sessions.open, user.id)
    return _signed_in_redirect(request, core, session_token, "/console")


@router.get("/account/password")
def password_page(request: Request, user: UserDep) -> Response:
    return render(request, "password.html", user=user, errors={})


@router.post("/account/password")
async def change_password(
    request: Request,
    core: CoreDep,
    user: PostedDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    lang = cookies.lang(request)
    errors: dict[str, str] = {}
    if new_password != confirm:
        errors = {"confirm": translate(lang, "password.mismatch")}
    else:
        try:
            await run_in_threadpool(core.staff.change_password, user, current_password, new_password)
        except InvalidInput as exc:
            errors = field_error(lang, exc, ("current_password", "new_password"), "new_password")
            errors = {("new_password" if k == "password" else k): v for k, v in errors.items()}
    if errors:
        return render(request, "password.html", user=user, errors=errors, status_code=422)
    notice = translate(lang, "notice.password_changed")
    return render(request, "password.html", user=user, errors={}, notice=notice)


@router.post("/lang")
def switch_language(
    request: Request, core: CoreDep, to: FormStr = "en", next: FormStr = "/console", csrf: FormStr = ""
) -> Response:
    """The language switch (a cookie): a form with the session's CSRF token, or before sign-in the
    signed-out forms' double-submit token (an error page shows a signed-in user that one too)."""
    signed_in = core.staff.sessions.resolve(request.cookies.get(cookies.SESSION))
    if not (signed_in and matches(csrf, signed_in.csrf)) and not cookies.form_token_matches(request, csrf):
        raise CsrfRejected()
    if to not in LANGS:
        raise NotFound(f"language {to!r}: one of {', '.join(LANGS)}")
    response = RedirectResponse(cookies.safe_next(next), status_code=303)
    cookies.set_lang(request, response, to)
    return response
