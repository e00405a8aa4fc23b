"""The inbox over HTTP (/v1/inbox) and a WebSocket of live updates for staff clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from core.audit import key_actor
from core.deps import CoreDep, PrincipalDep, provided
from core.errors import ParleyError
from crm.routes import NoteIn, NoteOut
from inbox.handoff import ConversationStatus
from inbox.models import Conversation, Message
from inbox.service import InboxService

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


InboxDep = Annotated[InboxService, provided(InboxService)]


class ConversationOut(BaseModel):
    id: str
    channel: str
    status: str
    contact_id: str
    assignee: str | None
    team: str | None
    handoff_reason: str | None
    updated_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(
            id=c.id,
            channel=c.channel,
            status=c.status,
            contact_id=c.contact_id,
            assignee=c.assignee,
            team=c.handoff_team,
            handoff_reason=c.handoff_reason,
            updated_at=c.updated_at,
        )


class ConversationList(BaseModel):
    items: list[ConversationOut]
    total: int


class MessageOut(BaseModel):
    id: str
    role: str  # customer | agent | human
    text: str
    author: str | None
    delivery: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            role=m.role,
            text=m.text,
            author=m.meta.get("author"),
            delivery=m.meta.get("delivery"),
            created_at=m.created_at,
        )


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]
    notes: list[NoteOut]


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class AssignIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=200)
    team: str | None = Field(default=None, max_length=100)


class StatusIn(BaseModel):
    status: ConversationStatus


@router.get("/conversations", response_model=ConversationList)
def list_conversations(
    principal: PrincipalDep,
    inbox: InboxDep,
    status_: Annotated[ConversationStatus | None, Query(alias="status")] = None,
    team: str | None = None,
    assignee: str | None = None,
    channel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConversationList:
    items, total = inbox.handoff.search(
        principal.tenant_id,
        status=status_,
        team=team,
        assignee=assignee,
        channel=channel,
        limit=limit,
        offset=offset,
    )
    return ConversationList(items=[ConversationOut.of(c) for c in items], total=total)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def get_conversation(conversation_id: str, principal: PrincipalDep, inbox: InboxDep) -> ConversationDetail:
    conversation = inbox.inbox.get(principal.tenant_id, conversation_id)
    messages = inbox.inbox.messages(principal.tenant_id, conversation_id)
    notes = inbox.handoff.notes(principal.tenant_id, conversation_id)
    return ConversationDetail(
        **ConversationOut.of(conversation).model_dump(),
        messages=[MessageOut.of(m) for m in messages],
        notes=[NoteOut.of(n) for n in notes],
    )


@router.post(
    "/conversations/{conversation_id}/reply", status_code=status.HTTP_201_CREATED, response_model=MessageOut
)
async def reply(conversation_id: str, body: ReplyIn, principal: PrincipalDep, inbox: InboxDep) -> MessageOut:
    """Answer the customer on the conversation's channel (409 when its messaging window is closed)."""
    message = await inbox.reply(principal.tenant_id, key_actor(principal.key_id), conversation_id, body.text)
    return MessageOut.of(message)


@router.post("/conversations/{conversation_id}/assign", response_model=ConversationOut)
async def assign(
    conversation_id: str, body: AssignIn, principal: PrincipalDep, inbox: InboxDep
) -> ConversationOut:
    actor = key_actor(principal.key_id)
    return ConversationOut.of(
        await inbox.assign(principal.tenant_id, actor, conversation_id, body.assignee, body.team)
    )


@router.post("/conversations/{conversation_id}/status", response_model=ConversationOut)
async def set_status(
    conversation_id: str, body: StatusIn, principal: PrincipalDep, inbox: InboxDep
) -> ConversationOut:
    """resolved, back to bot, reopen to a person: only along the handoff state machine (409 otherwise)."""
    actor = key_actor(principal.key_id)
    return ConversationOut.of(await inbox.move(principal.tenant_id, actor, conversation_id, body.status))


@router.post(
    "/conversations/{conversation_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NoteOut
)
async def add_note(conversation_id: str, body: NoteIn, principal: PrincipalDep, inbox: InboxDep) -> NoteOut:
    note = await inbox.note(principal.tenant_id, key_actor(principal.key_id), conversation_id, body.text)
    return NoteOut.of(note)


@router.websocket("/ws")
async def staff_socket(ws: WebSocket, core: CoreDep, inbox: InboxDep) -> None:
    """Live updates for an inbox client: ?key=<staff or admin API key> (browsers cannot set headers)."""
    await ws.accept()
    try:
        principal = await run_in_threadpool(core.keys.resolve, ws.query_params.get("key", ""))
    except ParleyError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=4401)
        return
    hub = inbox.hub
    hub.add(principal.tenant_id, ws)
    await ws.send_json({"type": "ready"})
    try:
        while True:
            frame: Any = await ws.receive_json()
            if isinstance(frame, dict) and frame.get("type") == "ping":
                await ws.send_json({"type": "pong"})
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        hub.remove(principal.tenant_id, ws)
