"""The console's cookies: the session (HttpOnly, SameSite=Lax, Secure over HTTPS or when a setting says so),
the signed-out forms' CSRF token, and the language switch. All scoped to /console."""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from config import Settings
from core.deps import services_of
from core.signatures import matches
from web.console.i18n import Lang, pick

SESSION = "parley_session"
FORM = "parley_form"  # double-submit token of the forms shown before sign-in (sign-in, invitation)
LANG = "parley_lang"
PATH = "/console"


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(services_of(request.app).get(Settings).console_secure_cookie)


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION, token, max_age=max_age, path=PATH, httponly=True, samesite="lax", secure=secure(request)
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION, path=PATH, httponly=True, samesite="lax", secure=secure(request))


def form_token(request: Request) -> str:
    """The signed-out forms' CSRF token: this browser's, or a new one (`keep_form_token` stores it)."""
    token = request.cookies.get(FORM)
    return token if token and len(token) <= 100 else secrets.token_urlsafe(32)


def keep_form_token(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(FORM) != token:
        response.set_cookie(FORM, token, path=PATH, httponly=True, samesite="lax", secure=secure(request))


def form_token_matches(request: Request, sent: str | None) -> bool:
    return matches(sent, request.cookies.get(FORM) or "")


def lang(request: Request) -> Lang:
    return pick(request.cookies.get(LANG), request.headers.get("accept-language"))


def set_lang(request: Request, response: Response, value: Lang) -> None:
    response.set_cookie(
        LANG, value, max_age=365 * 24 * 3600, path=PATH, samesite="lax", secure=secure(request)
    )


def safe_next(value: str | None) -> str:
    """Where to go after signing in or switching language: a console path only (no open redirect)."""
    if value and value.startswith(PATH) and value.isprintable() and "\\" not in value:
        return value
    return PATH
