"""Rendering console pages: one Jinja environment (autoescaped), the context every page gets, and the
security headers every console response carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from core.staff.sessions import SignedIn
from web.console import cookies
from web.console.i18n import LANG_NAMES, LANGS, translator
from web.console.nav import visible

TEMPLATES = Path(__file__).parent / "templates"

# No inline script or style anywhere: the policy allows only this origin's files (console.js, console.css).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Invitation links carry their token in the path: no page tells another site where it came from.
    "Referrer-Policy": "no-referrer",
}


def size(value: int | None) -> str:
    """Bytes for people: 950 B, 12.5 KB, 3.2 MB."""
    amount = float(value or 0)
    for unit in ("B", "KB", "MB"):
        if amount < 1024 or unit == "MB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} MB"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["size"] = size
_env.filters["when"] = when


def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")  # pages show a signed-in user's data
    return response


def render(
    request: Request,
    template: str,
    *,
    user: SignedIn | None = None,
    section: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page, in the reader's language, with the navigation their role sees. The language switch is a
    form: a signed-in user's carries their session's CSRF token, a signed-out visitor's the double-submit
    token of the signed-out forms (`form_token`, kept in this browser's cookie)."""
    lang = cookies.lang(request)
    form_token = None if user else context.pop("form_token", None) or cookies.form_token(request)
    html = _env.get_template(template).render(
        t=translator(lang),
        lang=lang,
        langs=[(code, LANG_NAMES[code]) for code in LANGS],
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        user=user.user if user else None,
        csrf=user.csrf if user else None,
        nav=visible(user.user.role) if user else [],
        section=section,
        form_token=form_token,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if form_token is not None:
        cookies.keep_form_token(request, response, form_token)
    secure_headers(response)
    return response


def fragment(template: str, request: Request, **context: Any) -> str:
    """A part of a page (the sources table that refreshes itself), in the reader's language."""
    return _env.get_template(template).render(t=translator(cookies.lang(request)), **context)
