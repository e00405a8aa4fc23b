"""ConsoleRoute: console pages answer in HTML, never the API's JSON errors.

A missing session becomes a redirect to the sign-in page (and back after), a rejected form or a role that
cannot open the page a 403 page, a project error a page with its message; every response carries the
console's security headers. As a route class it catches what the route's dependencies raise too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from core.errors import ParleyError
from core.routes import status_for
from web.console import cookies
from web.console.deps import CsrfRejected, SignInRequired
from web.console.i18n import translate
from web.console.render import render, secure_headers


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", status_code=status_code, message=message)


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            lang = cookies.lang(request)
            try:
                response = await handler(request)
            except SignInRequired:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                target = "/console/sign-in" + ("" if here == "/console" else f"?next={quote(here)}")
                return secure_headers(RedirectResponse(target, status_code=303))
            except CsrfRejected:
                return error_page(request, 403, translate(lang, "err.csrf"))
            except RequestValidationError as exc:
                problems = "; ".join(str(e.get("msg", "invalid")) for e in exc.errors())
                return error_page(request, 422, problems)
            except ParleyError as exc:
                known = f"err.{exc.code}"
                message = translate(lang, known) if known != translate(lang, known) else exc.message
                return error_page(request, status_for(exc), message)
            return secure_headers(response)

        return run
