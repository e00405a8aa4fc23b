"""Tickets over HTTP (/v1/tickets): create, list, change status along valid transitions, internal notes,
CSAT, SLA settings and metrics. Staff and admins work tickets; SLA settings are for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.audit import key_actor
from core.db import utcnow
from core.deps import AdminDep, PrincipalDep, provided
from crm.routes import NoteIn, NoteOut
from crm.ticket_metrics import compute
from crm.ticket_models import Priority, Status, Ticket, TicketType
from crm.tickets import TicketSettings, TicketStore, sla_of

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


TicketsDep = Annotated[TicketStore, provided(TicketStore)]


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: TicketType
    custom_type: str | None = Field(default=None, max_length=60, description="the name of a custom type")
    priority: Priority = "medium"
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    contact_id: str | None = None
    conversation_id: str | None = None
    assignee: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    type: TicketType | None = None
    custom_type: str | None = Field(default=None, max_length=60)
    priority: Priority | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    assignee: str | None = Field(default=None, max_length=200, description="null unassigns")
    team: str | None = Field(default=None, max_length=100)
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="merged; a null value removes a field"
    )

    @field_validator("status", "type", "priority", "subject")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


class SlaOut(BaseModel):
    first_response_due: datetime
    first_response_breached: bool
    resolution_due: datetime
    resolution_breached: bool


class TicketOut(BaseModel):
    id: str
    number: int
    type: str
    custom_type: str | None
    priority: str
    status: str
    subject: str
    description: str
    contact_id: str | None
    conversation_id: str | None
    assignee: str | None
    team: str | None
    custom_fields: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    reopened_count: int
    csat: int | None
    sla: SlaOut

    @classmethod
    def of(cls, t: Ticket, settings: TicketSettings) -> TicketOut:
        fields = {name: getattr(t, name) for name in cls.model_fields if name != "sla"}
        return cls(**fields, sla=SlaOut(**vars(sla_of(t, settings, utcnow()))))


class TicketList(BaseModel):
    items: list[TicketOut]
    total: int


class CsatIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


# Fixed paths first: /settings and /metrics are not ticket ids.
@router.get("/settings", response_model=TicketSettings)
def get_settings(principal: PrincipalDep, tickets: TicketsDep) -> TicketSettings:
    return tickets.settings(principal.tenant_id)


@router.put("/settings", response_model=TicketSettings)
def put_settings(body: TicketSettings, principal: AdminDep, tickets: TicketsDep) -> TicketSettings:
    return tickets.save_settings(principal.tenant_id, key_actor(principal.key_id), body)


@router.get("/metrics")
def metrics(
    principal: PrincipalDep,
    tickets: TicketsDep,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Tickets created in [since, until): times in working hours (GET /v1/tickets/settings)."""
    settings = tickets.settings(principal.tenant_id)
    return compute(tickets.all(principal.tenant_id, since, until), settings, utcnow())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketOut)
def create_ticket(body: TicketIn, principal: PrincipalDep, tickets: TicketsDep) -> TicketOut:
    ticket = tickets.create(principal.tenant_id, key_actor(principal.key_id), body.model_dump())
    return TicketOut.of(ticket, tickets.settings(principal.tenant_id))


@router.get("", response_model=TicketList)
def list_tickets(
    principal: PrincipalDep,
    tickets: TicketsDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    priority: Priority | None = None,
    type_: Annotated[TicketType | None, Query(alias="type")] = None,
    assignee: str | None = None,
    team: str | None = None,
    contact_id: str | None = None,
    conversation_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketList:
    items, total = tickets.search(
        principal.tenant_id,
        status=status_,
        priority=priority,
        type=type_,
        assignee=assignee,
        team=team,
        contact_id=contact_id,
        conversation_id=conversation_id,
        limit=limit,
        offset=offset,
    )
    settings = tickets.settings(principal.tenant_id)
    return TicketList(items=[TicketOut.of(t, settings) for t in items], total=total)


@router.get("/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: str, principal: PrincipalDep, tickets: TicketsDep) -> TicketOut:
    return TicketOut.of(tickets.get(principal.tenant_id, ticket_id), tickets.settings(principal.tenant_id))


@router.patch("/{ticket_id}", response_model=TicketOut)
def update_ticket(
    ticket_id: str, body: TicketPatch, principal: PrincipalDep, tickets: TicketsDep
) -> TicketOut:
    patch = body.model_dump(exclude_unset=True)
    ticket = tickets.update(principal.tenant_id, key_actor(principal.key_id), ticket_id, patch)
    return TicketOut.of(ticket, tickets.settings(principal.tenant_id))


@router.post("/{ticket_id}/notes", status_code=status.HTTP_201_CREATED, response_model=NoteOut)
def add_note(ticket_id: str, body: NoteIn, principal: PrincipalDep, tickets: TicketsDep) -> NoteOut:
    return NoteOut.of(
        tickets.add_note(principal.tenant_id, key_actor(principal.key_id), ticket_id, body.text)
    )


@router.get("/{ticket_id}/notes", response_model=list[NoteOut])
def list_notes(ticket_id: str, principal: PrincipalDep, tickets: TicketsDep) -> list[NoteOut]:
    return [NoteOut.of(n) for n in tickets.notes(principal.tenant_id, ticket_id)]


@router.post("/{ticket_id}/csat", response_model=TicketOut)
def rate(ticket_id: str, body: CsatIn, principal: PrincipalDep, tickets: TicketsDep) -> TicketOut:
    """The customer's rating after resolution, as collected by the channel or widget."""
    ticket = tickets.rate(
        principal.tenant_id, key_actor(principal.key_id), ticket_id, body.score, body.comment
    )
    return TicketOut.of(ticket, tickets.settings(principal.tenant_id))
