"""The playground chat and ratings of the agent's replies (`/v1/agent/chat`, `/v1/agent/feedback`): a chat
message goes through the turn router like any channel's (inbox/turns.py), and a rating is the inbox's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent.routes import SourceOut
from core.deps import PrincipalDep, provided
from inbox.store import ContactInfo
from inbox.turns import Turns

router = APIRouter(prefix="/v1/agent", tags=["agent"])


TurnsDep = Annotated[Turns, provided(Turns)]


class ContactIn(BaseModel):
    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=320)


class ChatIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, max_length=32)
    contact: ContactIn | None = None


class ActionOut(BaseModel):
    tool: str
    args: dict[str, Any]
    result: str


class ChatOut(BaseModel):
    conversation_id: str
    message_id: str | None = Field(
        description="null when the agent stayed silent: a person owns the conversation"
    )
    reply: str
    sources: list[SourceOut]
    actions: list[ActionOut]
    handoff: bool
    intent: str = Field(
        default="",
        description="what the agent took the message for: greeting, thanks, goodbye, acknowledgement, "
        "human, complaint or question ('' when it did not run)",
    )
    route: str = Field(
        default="",
        description="how the turn was answered: model, unknown (the knowledge does not answer it), "
        "small_talk, custom_answer, declined, handoff, safe_reply, silent, bot_back",
    )


class FeedbackIn(BaseModel):
    message_id: str = Field(min_length=1, max_length=32)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=4000)
    correction: str | None = Field(default=None, max_length=8000)


class FeedbackOut(FeedbackIn):
    pass


@router.post("/chat", response_model=ChatOut)
def chat(body: ChatIn, principal: PrincipalDep, turns: TurnsDep) -> ChatOut:
    contact = ContactInfo(**body.contact.model_dump()) if body.contact else None
    result = turns.chat(principal.tenant_id, body.message, body.conversation_id, contact)
    return ChatOut(
        conversation_id=result.conversation_id,
        message_id=result.message_id or None,
        reply=result.reply,
        sources=[SourceOut(**s) for s in result.sources],
        actions=[ActionOut(**a) for a in result.actions],
        handoff=result.handoff,
        intent=result.intent,
        route=result.route,
    )


@router.post("/feedback", response_model=FeedbackOut)
def feedback(body: FeedbackIn, principal: PrincipalDep, turns: TurnsDep) -> FeedbackOut:
    saved = turns.inbox.rate(principal.tenant_id, body.message_id, body.rating, body.comment, body.correction)
    return FeedbackOut(
        message_id=saved.message_id, rating=body.rating, comment=saved.comment, correction=saved.correction
    )
