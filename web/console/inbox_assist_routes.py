"""Smart Reply and the Writing Assistant on a conversation's reply box (agents and admins).

They are buttons of the reply form itself (`formaction`), so the draft travels with them and the page comes
back with the suggestions, or the rewritten draft, in place: no script needed. console.js only makes a
suggestion's button fill the reply box without a round trip. Both call the assist services as
/v1/assist does, and spend the tenant's credits there (shown beside the box).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from agent.assist.routes import WriteIn
from core.errors import ParleyError
from web.console import cookies
from web.console.forms import message
from web.console.inbox_pages import DeskDep, conversation_page
from web.console.inbox_routes import ActingDep
from web.console.inbox_view import WRITE_ACTIONS
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/inbox", route_class=ConsoleRoute, include_in_schema=False)
FormStr = Annotated[str, Form()]


def _refused(request: Request, exc: ParleyError) -> tuple[int, dict[str, str]]:
    """The status and the error under the assistant's buttons (no credits is a 402, as /v1/assist)."""
    if exc.code == "not_found":
        raise exc
    status_code = 402 if exc.code == "credits_exhausted" else 422
    return status_code, {"assist": message(cookies.lang(request), exc)}


@router.post("/{conversation_id}/smart-reply")
def smart_reply(
    conversation_id: str, request: Request, desk: DeskDep, user: ActingDep, text: FormStr = ""
) -> Response:
    """2-3 replies to the customer's latest message, grounded in the knowledge (1 credit each)."""
    tenant = user.user.tenant_id
    desk.inbox.inbox.get(tenant, conversation_id)  # NotFound outside the tenant, before any credit is spent
    page: dict[str, Any] = {"draft": text}
    status_code = 200
    try:
        found = desk.assist.smart_reply.suggest(tenant, conversation_id)
        page |= {"suggestions": [s.text for s in found.suggestions], "warnings": found.warnings}
    except ParleyError as exc:
        status_code, page["errors"] = _refused(request, exc)
    return conversation_page(request, desk, user, conversation_id, status_code, **page)


@router.post("/{conversation_id}/write")
def write(
    conversation_id: str,
    request: Request,
    desk: DeskDep,
    user: ActingDep,
    text: FormStr = "",
    action: FormStr = "improve",
) -> Response:
    """The draft improved, shortened or translated, keeping its facts (1 credit); back in the reply box."""
    tenant = user.user.tenant_id
    desk.inbox.inbox.get(tenant, conversation_id)
    page: dict[str, Any] = {"draft": text}
    status_code = 200
    if action not in WRITE_ACTIONS:
        page["errors"] = {"assist": f"action: one of {list(WRITE_ACTIONS)}, not {action[:30]!r}"}
        return conversation_page(request, desk, user, conversation_id, 422, **page)
    try:
        body = WriteIn.model_validate(
            {
                "draft": text.strip(),
                "shorter": action == "shorter",
                "translate_to": action if action in ("en", "zh-Hant") else None,
                "conversation_id": conversation_id,
            }
        )
        result = desk.assist.writing.write(
            tenant,
            body.draft,
            shorter=body.shorter,
            translate_to=body.translate_to,
            conversation_id=body.conversation_id,
        )
        page |= {"draft": result.text, "warnings": result.warnings}
    except ValidationError as exc:
        status_code = 422
        page["errors"] = {"text": "; ".join(str(e["msg"]) for e in exc.errors())}
    except ParleyError as exc:
        status_code, page["errors"] = _refused(request, exc)
    return conversation_page(request, desk, user, conversation_id, status_code, **page)


@router.post("/{conversation_id}/draft")
def use_suggestion(
    conversation_id: str, request: Request, desk: DeskDep, user: ActingDep, use: FormStr = ""
) -> Response:
    """A suggestion put into the reply box, for a browser without scripts (console.js does it in place)."""
    return conversation_page(request, desk, user, conversation_id, draft=use[:4000])
