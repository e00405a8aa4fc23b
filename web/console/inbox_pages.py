"""The Inbox's two pages and their live parts, rendered from the services the /v1 routes call (the inbox,
the staff users, the CRM, the assist credits). Shared by the inbox's routes and its assist routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from agent.assist.routes import AssistDep
from agent.assist.service import Assist
from core.audit import user_actor
from core.deps import CoreDep
from core.errors import InvalidInput
from core.services import CoreServices
from core.staff.sessions import SignedIn
from crm.routes import CrmDep
from crm.services import CrmServices
from inbox.handoff import STATUSES, TRANSITIONS
from inbox.routes import InboxDep
from inbox.service import InboxService
from web.console import inbox_view
from web.console.inbox_view import PAGE_SIZE, STATES, People
from web.console.render import fragment, render, secure_headers

RECENT = 8  # the contact panel's timeline entries


@dataclass(frozen=True)
class Desk:
    """What the inbox's pages read: the inbox, the staff users (core), the CRM, the assist credits."""

    inbox: InboxService
    core: CoreServices
    crm: CrmServices
    assist: Assist


async def desk(inbox: InboxDep, core: CoreDep, crm: CrmDep, assist: AssistDep) -> Desk:
    """Async: only gathers what the app built (a sync dependency would take a trip through the thread pool)."""
    return Desk(inbox, core, crm, assist)


DeskDep = Annotated[Desk, Depends(desk)]


def filters(request: Request) -> dict[str, str]:
    """The list's view, filters and page from the query string; an unknown view or page is a 422 naming it."""
    params = request.query_params
    state = params.get("state", "open")
    if state not in STATES:
        raise InvalidInput(f"state: one of {list(STATES)}, not {state[:30]!r}")
    page = params.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        raise InvalidInput(f"page: a number from 1, not {page[:30]!r}")
    return {
        "state": state,
        "channel": params.get("channel", "")[:30],
        "team": params.get("team", "")[:100],
        "page": page,
    }


def list_context(request: Request, desk: Desk, user: SignedIn) -> dict[str, Any]:
    inbox, core = desk.inbox, desk.core
    tenant = user.user.tenant_id
    chosen = filters(request)
    page = int(chosen["page"])
    args = inbox_view.search_args(chosen["state"], user.user.id)
    items, total = inbox.handoff.search(
        tenant,
        channel=chosen["channel"] or None,
        team=chosen["team"] or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        **args,
    )
    contacts, last = inbox.inbox.overview(tenant, [c.id for c in items])
    people = People(core.staff.users.list(tenant))
    rows = [
        {
            "conversation": c,
            "contact": inbox_view.contact_name(contacts.get(c.id)),
            "last": last.get(c.id),
            "assignee": people.name(c.assignee),
        }
        for c in items
    ]
    same = {k: v for k, v in chosen.items() if v and k != "page"}

    def at(number: int) -> str | None:
        return (
            urlencode({**same, "page": number}) if number >= 1 and (number - 1) * PAGE_SIZE < total else None
        )

    return {
        "rows": rows,
        "total": total,
        "filters": chosen,
        "query": urlencode({**same, "page": page}),
        "first": (page - 1) * PAGE_SIZE + 1,
        "previous": at(page - 1),
        "next": at(page + 1),
    }


def list_page(request: Request, desk: Desk, user: SignedIn) -> Response:
    context = list_context(request, desk, user)
    channels, teams = desk.inbox.handoff.facets(user.user.tenant_id)
    return render(
        request,
        "inbox.html",
        user=user,
        section="inbox",
        list_html=fragment("_inbox_list.html", request, **context),
        states=STATES,
        channels=channels,
        teams=teams,
        **context,
    )


def list_fragment(request: Request, desk: Desk, user: SignedIn) -> Response:
    html = fragment("_inbox_list.html", request, **list_context(request, desk, user))
    return secure_headers(HTMLResponse(html))


def thread_context(desk: Desk, user: SignedIn, conversation_id: str, **extra: Any) -> dict[str, Any]:
    """The conversation's live part: its state, the actions it allows, its messages and notes, the window."""
    inbox, core = desk.inbox, desk.core
    tenant = user.user.tenant_id
    conversation = inbox.inbox.get(tenant, conversation_id)  # NotFound outside the tenant
    messages = inbox.inbox.messages(tenant, conversation_id)
    people = People(core.staff.users.list(tenant))
    return {
        "conversation": conversation,
        "entries": inbox_view.timeline(messages, inbox.handoff.notes(tenant, conversation_id)),
        "assignee": people.name(conversation.assignee),
        "assignable": people.assignable(),
        "people": people,
        "moves": TRANSITIONS[conversation.status],
        "mine": conversation.assignee == user_actor(user.user.id),
        "window": inbox_view.reply_window(conversation.channel, messages),
        "can_act": user.user.role in inbox_view.ACTING_ROLES,
        "csrf": user.csrf,
        "action_error": extra.get("action_error"),
    }


def contact_context(crm: CrmServices, tenant_id: str, contact_id: str) -> dict[str, Any]:
    """The contact panel: what the CRM gives cheaply (the contact row, its open tickets, recent timeline)."""
    contact = crm.contacts.get(tenant_id, contact_id)
    tickets, _ = crm.tickets.search(tenant_id, contact_id=contact_id, limit=20)
    return {
        "contact": contact,
        "contact_name": inbox_view.contact_name(contact),
        "tickets": [t for t in tickets if t.status != "resolved"],
        "recent": crm.contacts.timeline(tenant_id, contact_id, RECENT),
        "statuses": STATUSES,  # a conversation's moves in the timeline are named as the list names them
    }


def conversation_page(
    request: Request,
    desk: Desk,
    user: SignedIn,
    conversation_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The conversation page; `errors=` at their fields, `draft=` in the reply box, `suggestions=`."""
    tenant = user.user.tenant_id
    thread = thread_context(desk, user, conversation_id, action_error=context.pop("action_error", None))
    page = {k: v for k, v in thread.items() if k != "csrf"}  # render() gives every page the user's token
    return render(
        request,
        "conversation.html",
        user=user,
        section="inbox",
        status_code=status_code,
        thread_html=fragment("_thread.html", request, **thread),
        credits=desk.assist.credits.balance(tenant),
        write_actions=inbox_view.WRITE_ACTIONS,
        **page,
        **contact_context(desk.crm, tenant, thread["conversation"].contact_id),
        **{"errors": {}, "draft": "", "note_draft": "", "suggestions": None, "warnings": [], **context},
    )


def thread_fragment(request: Request, desk: Desk, user: SignedIn, conversation_id: str) -> Response:
    html = fragment("_thread.html", request, **thread_context(desk, user, conversation_id))
    return secure_headers(HTMLResponse(html))
