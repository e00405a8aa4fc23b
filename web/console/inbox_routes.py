"""The Inbox (agents and admins act, QA reads): the conversation list by state, channel and team; a
conversation with its messages, notes and contact; take, assign, reply, note, resolve, reopen, give back.

Every action calls InboxService, as the /v1/inbox routes do (the state machine, the channel's reply window,
the ticket's first response, the staff hub's events are its), audited as the signed-in user.

Live updates: the list and the open conversation poll an HTML fragment every few seconds (console.js),
rather than listening on the staff hub's WebSocket (/v1/inbox/ws): that socket is authenticated with an
API key in its URL, which a signed-in browser does not hold (its session cookie is HttpOnly), and a
cookie-authenticated socket would need its own defence against cross-site WebSocket hijacking. A poll is
an ordinary same-origin GET under the session, the CSRF rules and the CSP, and costs a few small queries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from core.audit import user_actor
from core.errors import Forbidden, InvalidInput, ParleyError
from core.staff.sessions import SignedIn
from crm.routes import NoteIn
from inbox.routes import ReplyIn
from web.console import cookies
from web.console.deps import FORBIDDEN_ACTION, section_poster, section_user
from web.console.forms import message
from web.console.inbox_pages import (
    Desk,
    DeskDep,
    conversation_page,
    list_fragment,
    list_page,
    thread_fragment,
)
from web.console.inbox_view import ACTING_ROLES, People
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/inbox", route_class=ConsoleRoute, include_in_schema=False)
SectionDep = Annotated[SignedIn, section_user("inbox")]
FormStr = Annotated[str, Form()]
MOVES = ("resolved", "bot", "human")  # resolve, give back to the bot, reopen to a person


async def acting_user(user: Annotated[SignedIn, section_poster("inbox")]) -> SignedIn:
    """A posted form (CSRF checked) of a role that may act on conversations: QA may only read them."""
    if user.user.role not in ACTING_ROLES:
        raise Forbidden(
            f"the {user.user.role} role can read the inbox but not act on it", code=FORBIDDEN_ACTION
        )
    return user


ActingDep = Annotated[SignedIn, Depends(acting_user)]


def _back(conversation_id: str, anchor: str = "thread") -> Response:
    """Post/redirect/get: a reload shows the conversation instead of sending the form again."""
    return RedirectResponse(f"/console/inbox/{conversation_id}#{anchor}", status_code=303)


async def _again(
    request: Request, desk: Desk, user: SignedIn, conversation_id: str, status_code: int, **context: Any
) -> Response:
    """The conversation page once more, with what was wrong (rendered off the event loop: it reads the db)."""
    return await run_in_threadpool(
        conversation_page, request, desk, user, conversation_id, status_code, **context
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]) for e in exc.errors())


@router.get("")
def inbox_page(request: Request, desk: DeskDep, user: SectionDep) -> Response:
    return list_page(request, desk, user)


@router.get("/list")
def inbox_list(request: Request, desk: DeskDep, user: SectionDep) -> Response:
    """The list alone, for the page's poll (same filters as the page)."""
    return list_fragment(request, desk, user)


@router.get("/{conversation_id}")
def conversation(conversation_id: str, request: Request, desk: DeskDep, user: SectionDep) -> Response:
    return conversation_page(request, desk, user, conversation_id)


@router.get("/{conversation_id}/thread")
def thread(conversation_id: str, request: Request, desk: DeskDep, user: SectionDep) -> Response:
    """The conversation's state, actions, messages and notes alone, for the page's poll."""
    return thread_fragment(request, desk, user, conversation_id)


@router.post("/{conversation_id}/take")
async def take(conversation_id: str, desk: DeskDep, user: ActingDep) -> Response:
    me = user_actor(user.user.id)
    await desk.inbox.assign(user.user.tenant_id, me, conversation_id, me, None)
    return _back(conversation_id)


@router.post("/{conversation_id}/assign")
async def assign(
    conversation_id: str,
    request: Request,
    desk: DeskDep,
    user: ActingDep,
    assignee: FormStr = "",
    team: FormStr = "",
) -> Response:
    """To a staff user of the tenant (agents and admins), chosen from the list; the team is optional."""
    tenant = user.user.tenant_id
    people = await run_in_threadpool(lambda: People(desk.core.staff.users.list(tenant)))
    if assignee not in {u.id for u in people.assignable()} or len(team) > 100:
        problem = InvalidInput(f"assignee: no agent or admin {assignee!r} in this team", code="no_assignee")
        error = message(cookies.lang(request), problem)
        return await _again(request, desk, user, conversation_id, 422, action_error=error)
    actor = user_actor(user.user.id)
    await desk.inbox.assign(tenant, actor, conversation_id, user_actor(assignee), team.strip() or None)
    return _back(conversation_id)


@router.post("/{conversation_id}/move")
async def move(
    conversation_id: str, request: Request, desk: DeskDep, user: ActingDep, to: FormStr = ""
) -> Response:
    """Resolve, reopen (to a person) or give back to the bot, along the handoff state machine."""
    try:
        if to not in MOVES:
            raise InvalidInput(f"status: one of {list(MOVES)}, not {to!r}")
        await desk.inbox.move(user.user.tenant_id, user_actor(user.user.id), conversation_id, to)
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        status_code = 409 if exc.code == "conflict" else 422
        error = message(cookies.lang(request), exc)
        return await _again(request, desk, user, conversation_id, status_code, action_error=error)
    return _back(conversation_id)


@router.post("/{conversation_id}/reply")
async def reply(
    conversation_id: str, request: Request, desk: DeskDep, user: ActingDep, text: FormStr = ""
) -> Response:
    """On the conversation's channel; refused (409, at the field) when the channel's window is closed."""
    try:
        body = ReplyIn(text=text.strip())
        await desk.inbox.reply(user.user.tenant_id, user_actor(user.user.id), conversation_id, body.text)
    except ValidationError as exc:
        return await _again(
            request, desk, user, conversation_id, 422, errors={"text": _problems(exc)}, draft=text
        )
    except ParleyError as exc:
        if exc.code == "not_found":
            raise
        status_code = 409 if exc.code in ("conflict", "window_closed") else 422
        errors = {"text": message(cookies.lang(request), exc)}
        return await _again(request, desk, user, conversation_id, status_code, errors=errors, draft=text)
    return _back(conversation_id, "reply")


@router.post("/{conversation_id}/note")
async def note(
    conversation_id: str, request: Request, desk: DeskDep, user: ActingDep, text: FormStr = ""
) -> Response:
    """An internal note: for the team only, never sent to the customer."""
    try:
        body = NoteIn(text=text.strip())
        await desk.inbox.note(user.user.tenant_id, user_actor(user.user.id), conversation_id, body.text)
    except ValidationError as exc:
        errors = {"note": _problems(exc)}
        return await _again(request, desk, user, conversation_id, 422, errors=errors, note_draft=text)
    except InvalidInput as exc:
        errors = {"note": message(cookies.lang(request), exc)}
        return await _again(request, desk, user, conversation_id, 422, errors=errors, note_draft=text)
    return _back(conversation_id, "note")
