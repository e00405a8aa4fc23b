"""Who is signed in to the console, their role, and the CSRF check of every form they post.

A page that needs a signed-in user raises SignInRequired (ConsoleRoute turns it into a redirect to the
sign-in page); a form whose CSRF token is missing or wrong raises CsrfRejected (a 403 page).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from core.deps import CoreDep
from core.errors import Forbidden
from core.signatures import matches
from core.staff.sessions import SignedIn
from web.console import cookies
from web.console.nav import BY_KEY

FORBIDDEN_ACTION = "forbidden_action"  # the error code of a refused form (err.forbidden_action)


class SignInRequired(Exception):
    """No live session: the visitor is sent to the sign-in page and brought back after."""


class CsrfRejected(Exception):
    """A posted form without this session's (or this browser's) CSRF token."""


def signed_in(request: Request, core: CoreDep) -> SignedIn:
    found = core.staff.sessions.resolve(request.cookies.get(cookies.SESSION))
    if found is None:
        raise SignInRequired()
    return found


UserDep = Annotated[SignedIn, Depends(signed_in)]


async def posted_by(request: Request, user: UserDep) -> SignedIn:
    """The signed-in user of a POSTed form that carries their session's CSRF token."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not matches(sent, user.csrf):
        raise CsrfRejected()
    return user


PostedDep = Annotated[SignedIn, Depends(posted_by)]


def require_section(user: SignedIn, key: str, code: str = "forbidden") -> None:
    """The user's role may open this section; else Forbidden with `code` (its message: err.<code>)."""
    if user.user.role not in BY_KEY[key].roles:
        raise Forbidden(f"the {user.user.role} role cannot open {key}", code=code)


def section_user(section: str) -> Any:
    """`Depends` on the signed-in user whose role may open this section of the navigation."""

    async def user_of_section(user: UserDep) -> SignedIn:
        require_section(user, section)
        return user

    return Depends(user_of_section)


def section_poster(section: str) -> Any:
    """`Depends` on the signed-in user of a posted form (CSRF checked) whose role may open this section; a
    refusal names the action, not the page (err.forbidden_action)."""

    async def poster_of_section(user: PostedDep) -> SignedIn:
        require_section(user, section, code=FORBIDDEN_ACTION)
        return user

    return Depends(poster_of_section)
