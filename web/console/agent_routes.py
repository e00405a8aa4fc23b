"""The Agent page (admins): the agent's settings beside a playground to chat with it and rate its replies.

The settings are validated by AgentSettings and saved through the agent's settings store, as
PUT /v1/agent/settings does; a playground message goes through the turn router (inbox.turns.Turns.chat) as
POST /v1/agent/chat does, and a rating through the inbox's `rate`, as POST /v1/agent/feedback does (the
evals read the ratings from there). The console keeps no rule of its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from agent.routes import AgentDep
from core.errors import NotFound
from core.staff.sessions import SignedIn
from inbox.chat_routes import ChatIn, FeedbackIn, TurnsDep
from inbox.turns import Turns
from web.console import agent_form, cookies
from web.console.deps import PostedDep, UserDep, require_section
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/agent", route_class=ConsoleRoute, include_in_schema=False)
NOTICES = ("saved", "rated")
PLAYGROUND = "playground"  # the channel of the playground's conversations, as /v1/agent/chat opens them


async def agent_admin(user: UserDep) -> SignedIn:
    require_section(user, "agent")
    return user


async def agent_admin_posted(user: PostedDep) -> SignedIn:
    require_section(user, "agent")
    return user


AgentAdminDep = Annotated[SignedIn, Depends(agent_admin)]
AgentAdminPostedDep = Annotated[SignedIn, Depends(agent_admin_posted)]


def _conversation(turns: Turns, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
    """The playground conversation with its messages; another channel's conversation is not the
    playground's to write in (a customer on WhatsApp would get nothing, the inbox a stray message)."""
    if not conversation_id:
        return None
    conversation = turns.inbox.get(tenant_id, conversation_id)  # NotFound outside the tenant
    if conversation.channel != PLAYGROUND:
        raise NotFound(f"conversation {conversation_id} not found")
    return {
        "id": conversation.id,
        "status": conversation.status,
        "messages": turns.inbox.messages(tenant_id, conversation.id),
    }


def _page(
    request: Request,
    agent: AgentDep,
    turns: Turns,
    user: SignedIn,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = user.user.tenant_id
    lang = cookies.lang(request)
    done = request.query_params.get("notice")
    conversation_id = context.pop("conversation_id", request.query_params.get("conversation", ""))
    values = context.pop("values", None) or agent.deps.settings.get(tenant).model_dump()
    return render(
        request,
        "agent.html",
        user=user,
        section="agent",
        status_code=status_code,
        values=values,
        notice=translate(lang, f"notice.agent_{done}") if done in NOTICES else None,
        conversation=_conversation(turns, tenant, conversation_id),
        lengths=agent_form.LENGTHS,
        languages=agent_form.LANGUAGES,
        intents=agent_form.INTENTS,
        **{"errors": {}, "chat_errors": {}, "draft": "", **context},
    )


def _back_to(conversation_id: str, notice: str | None = None, anchor: str = "playground") -> Response:
    query = "&".join(
        part
        for part in (
            f"conversation={conversation_id}" if conversation_id else "",
            f"notice={notice}" if notice else "",
        )
        if part
    )
    return RedirectResponse(f"/console/agent{'?' + query if query else ''}#{anchor}", status_code=303)


@router.get("")
def agent_page(request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminDep) -> Response:
    return _page(request, agent, turns, user)


@router.post("/settings")
async def save_settings(
    request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminPostedDep
) -> Response:
    form = await request.form()
    settings, values, errors = agent_form.validate(form)
    conversation_id = str(form.get("conversation_id") or "")
    if settings is None:
        return _page(
            request, agent, turns, user, 422, values=values, errors=errors, conversation_id=conversation_id
        )
    await run_in_threadpool(agent.deps.settings.put, user.user.tenant_id, settings)
    return _back_to(conversation_id, "saved", anchor="settings")


@router.post("/chat")
async def chat(request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminPostedDep) -> Response:
    """One playground message through the turn router; the page then shows the whole conversation."""
    form = await request.form()
    conversation_id = str(form.get("conversation_id") or "")
    draft = str(form.get("message") or "")
    try:
        body = ChatIn(message=draft.strip(), conversation_id=conversation_id or None)
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        return _page(
            request,
            agent,
            turns,
            user,
            422,
            chat_errors={"message": message},
            draft=draft,
            conversation_id=conversation_id,
        )
    tenant = user.user.tenant_id
    if conversation_id:
        await run_in_threadpool(_conversation, turns, tenant, conversation_id)  # the tenant's playground's
    result = await run_in_threadpool(turns.chat, tenant, body.message, body.conversation_id, None, PLAYGROUND)
    return _back_to(
        result.conversation_id, anchor=f"m-{result.message_id}" if result.message_id else "playground"
    )


@router.post("/feedback")
async def feedback(request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminPostedDep) -> Response:
    """Thumbs up or down on a reply, with a correction: the inbox's rating, which the evals export."""
    form = await request.form()
    conversation_id = str(form.get("conversation_id") or "")
    try:
        body = FeedbackIn(
            message_id=str(form.get("message_id") or ""),
            rating=str(form.get("rating") or ""),  # type: ignore[arg-type]  # pydantic checks up | down
            correction=str(form.get("correction") or "").strip() or None,
        )
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        return _page(
            request,
            agent,
            turns,
            user,
            422,
            chat_errors={"feedback": message},
            conversation_id=conversation_id,
        )
    await run_in_threadpool(
        turns.inbox.rate, user.user.tenant_id, body.message_id, body.rating, body.comment, body.correction
    )
    return _back_to(conversation_id, "rated", anchor=f"m-{body.message_id}")
