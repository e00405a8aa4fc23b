"""The Agent page (admins): the agent's settings beside a playground to chat with it and rate its replies.

The settings are validated by AgentSettings and saved through the agent's settings store, as
PUT /v1/agent/settings does (audited as the signed-in user, as the API audits its key); a playground message goes through the turn router (inbox.turns.Turns.chat) as
POST /v1/agent/chat does, and a rating through the inbox's `rate`, as POST /v1/agent/feedback does (the
evals read the ratings from there). The console keeps no rule of its own.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from agent.routes import AgentDep
from core.audit import user_actor
from core.errors import NotFound
from core.staff.sessions import SignedIn
from inbox.chat_routes import ChatIn, FeedbackIn, TurnsDep
from inbox.models import Conversation
from inbox.turns import Turns
from web.console import agent_form, cookies
from web.console.deps import section_poster, section_user
from web.console.i18n import translate
from web.console.render import render
from web.console.route_class import ConsoleRoute

router = APIRouter(prefix="/console/agent", route_class=ConsoleRoute, include_in_schema=False)
NOTICES = ("saved", "rated")
FormStr = Annotated[str, Form()]
PLAYGROUND = "playground"  # the channel of the playground's conversations, as /v1/agent/chat opens them


AgentAdminDep = Annotated[SignedIn, section_user("agent")]
AgentAdminPostedDep = Annotated[SignedIn, section_poster("agent")]


def _playground(turns: Turns, tenant_id: str, conversation_id: str) -> Conversation:
    """The tenant's playground conversation of this id. Another channel's conversation is not the
    playground's to write in: a customer on WhatsApp would get nothing, the inbox a stray message."""
    conversation = turns.inbox.get(tenant_id, conversation_id)  # NotFound outside the tenant
    if conversation.channel != PLAYGROUND:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def _conversation(turns: Turns, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
    """What the playground shows: the conversation's messages, and the ratings given to its replies."""
    if not conversation_id:
        return None
    conversation = _playground(turns, tenant_id, conversation_id)
    messages = turns.inbox.messages(tenant_id, conversation.id)
    replies = [m.id for m in messages if m.role == "agent"]
    return {
        "id": conversation.id,
        "status": conversation.status,
        "messages": messages,
        "ratings": turns.inbox.ratings(tenant_id, replies),
    }


def _page(
    request: Request,
    agent: AgentDep,
    turns: Turns,
    user: SignedIn,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """The page: the saved settings (or the posted ones, with `values=` and `errors=`) and the playground's
    conversation (`?conversation=`, or `conversation_id=` from a posted form)."""
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


def _back_to(conversation_id: str, notice: str = "", anchor: str = "playground") -> Response:
    """Post/redirect/get: a reload shows the page again instead of sending the form twice."""
    query = urlencode({k: v for k, v in (("conversation", conversation_id), ("notice", notice)) if v})
    return RedirectResponse(f"/console/agent{'?' + query if query else ''}#{anchor}", status_code=303)


def _messages(exc: ValidationError) -> str:
    return "; ".join(str(error["msg"]) for error in exc.errors())


@router.get("")
def agent_page(request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminDep) -> Response:
    return _page(request, agent, turns, user)


@router.post("/settings")
async def save_settings(
    request: Request, agent: AgentDep, turns: TurnsDep, user: AgentAdminPostedDep
) -> Response:
    """The whole form (its inputs' names vary with the rows, hence the form read as a whole)."""
    form = await request.form()
    settings, values, errors = agent_form.validate(form)
    conversation_id = str(form.get("conversation_id") or "")
    if settings is None:
        return await run_in_threadpool(
            _page,
            request,
            agent,
            turns,
            user,
            422,
            values=values,
            errors=errors,
            conversation_id=conversation_id,
        )
    await run_in_threadpool(agent.deps.settings.put, user.user.tenant_id, user_actor(user.user.id), settings)
    return _back_to(conversation_id, "saved", anchor="settings")


@router.post("/chat")
def chat(
    request: Request,
    agent: AgentDep,
    turns: TurnsDep,
    user: AgentAdminPostedDep,
    message: FormStr = "",
    conversation_id: FormStr = "",
) -> Response:
    """One playground message through the turn router, as POST /v1/agent/chat; then the conversation."""
    try:
        body = ChatIn(message=message.strip(), conversation_id=conversation_id or None)
    except ValidationError as exc:
        errors = {"message": _messages(exc)}
        return _page(
            request,
            agent,
            turns,
            user,
            422,
            chat_errors=errors,
            draft=message,
            conversation_id=conversation_id,
        )
    tenant = user.user.tenant_id
    if body.conversation_id:
        _playground(turns, tenant, body.conversation_id)
    result = turns.chat(tenant, body.message, body.conversation_id, None, PLAYGROUND)
    # No reply id: a person owns the conversation and the agent stayed silent.
    return _back_to(result.conversation_id, anchor=f"m-{result.message_id or result.customer_message_id}")


@router.post("/feedback")
def feedback(
    request: Request,
    agent: AgentDep,
    turns: TurnsDep,
    user: AgentAdminPostedDep,
    message_id: FormStr = "",
    rating: FormStr = "",
    correction: FormStr = "",
    conversation_id: FormStr = "",
) -> Response:
    """Thumbs up or down on a reply, with a correction: the inbox's rating, as POST /v1/agent/feedback
    (the evals turn the ratings into a dataset)."""
    try:
        body = FeedbackIn.model_validate(
            {"message_id": message_id, "rating": rating, "correction": correction.strip() or None}
        )
    except ValidationError as exc:
        errors = {"feedback": _messages(exc)}
        return _page(request, agent, turns, user, 422, chat_errors=errors, conversation_id=conversation_id)
    turns.inbox.rate(user.user.tenant_id, body.message_id, body.rating, body.comment, body.correction)
    return _back_to(conversation_id, "rated", anchor=f"m-{body.message_id}")
