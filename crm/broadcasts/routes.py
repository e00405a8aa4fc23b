"""Broadcasts over HTTP (/v1/broadcasts): admins create, schedule and control them; staff may look."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from core.audit import key_actor
from core.deps import AdminDep, PrincipalDep, provided
from crm import spreadsheet
from crm.broadcasts.metrics import CSV_COLUMNS
from crm.broadcasts.models import Audience, Broadcast, Content, Recipient
from crm.broadcasts.store import BroadcastStore, zone

router = APIRouter(prefix="/v1/broadcasts", tags=["broadcasts"])


BroadcastsDep = Annotated[BroadcastStore, provided(BroadcastStore)]


class BroadcastFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    channel_id: str | None = Field(default=None, min_length=1, max_length=32)
    audience: Audience | None = None
    content: Content | None = None
    send_at: datetime | None = Field(
        default=None,
        description="when to send; without an offset it is read in `timezone`; null = on publish",
    )
    timezone: str | None = Field(default=None, max_length=60, description="IANA zone; default the tenant's")
    agent_enrol: bool | None = Field(default=None, description="the agent may enrol contacts (a campaign)")
    follow_up_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 90)


class BroadcastIn(BroadcastFields):
    name: str = Field(min_length=1, max_length=200)
    channel_id: str = Field(min_length=1, max_length=32)


class BroadcastOut(BaseModel):
    id: str
    name: str
    channel_id: str
    status: str
    audience: dict[str, Any]
    content: dict[str, Any]
    send_at: datetime | None
    send_at_local: str | None
    timezone: str
    agent_enrol: bool
    follow_up_minutes: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, b: Broadcast) -> BroadcastOut:
        local = b.send_at.astimezone(zone(b.timezone)).isoformat() if b.send_at else None
        return cls(
            id=b.id,
            name=b.name,
            channel_id=b.channel_id,
            status=b.status,
            audience=b.audience,
            content=b.content,
            send_at=b.send_at,
            send_at_local=local,
            timezone=b.timezone,
            agent_enrol=b.agent_enrol,
            follow_up_minutes=b.follow_up_minutes,
            created_at=b.created_at,
            updated_at=b.updated_at,
            started_at=b.started_at,
            finished_at=b.finished_at,
        )


class RecipientOut(BaseModel):
    id: str
    contact_id: str
    address: str | None
    status: str
    route: str | None
    attempts: int
    error_code: int | None
    error: str | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    replied_at: datetime | None

    @classmethod
    def of(cls, r: Recipient) -> RecipientOut:
        return cls.model_validate(r, from_attributes=True)


class RecipientPage(BaseModel):
    items: list[RecipientOut]
    total: int


def given_fields(body: BroadcastFields) -> dict[str, Any]:
    """The fields a request gave, as the store takes them (the console's form is read into the same)."""
    fields = body.model_dump(exclude_unset=True)
    for key in ("audience", "content"):  # keep them as given (their own models validate them again)
        if key in fields and fields[key] is not None:
            fields[key] = getattr(body, key).model_dump(exclude_none=True)
    return fields


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BroadcastOut)
def create_broadcast(body: BroadcastIn, principal: AdminDep, store: BroadcastsDep) -> BroadcastOut:
    return BroadcastOut.of(store.create(principal.tenant_id, key_actor(principal.key_id), given_fields(body)))


@router.get("", response_model=list[BroadcastOut])
def list_broadcasts(
    principal: PrincipalDep,
    store: BroadcastsDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> list[BroadcastOut]:
    return [BroadcastOut.of(b) for b in store.all(principal.tenant_id, status_)]


@router.get("/{broadcast_id}", response_model=BroadcastOut)
def get_broadcast(broadcast_id: str, principal: PrincipalDep, store: BroadcastsDep) -> BroadcastOut:
    return BroadcastOut.of(store.get(principal.tenant_id, broadcast_id))


@router.patch("/{broadcast_id}", response_model=BroadcastOut)
def update_broadcast(
    broadcast_id: str, body: BroadcastFields, principal: AdminDep, store: BroadcastsDep
) -> BroadcastOut:
    actor = key_actor(principal.key_id)
    return BroadcastOut.of(store.update(principal.tenant_id, actor, broadcast_id, given_fields(body)))


@router.delete("/{broadcast_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_broadcast(broadcast_id: str, principal: AdminDep, store: BroadcastsDep) -> Response:
    store.delete(principal.tenant_id, key_actor(principal.key_id), broadcast_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{broadcast_id}/duplicate", status_code=status.HTTP_201_CREATED, response_model=BroadcastOut)
def duplicate_broadcast(broadcast_id: str, principal: AdminDep, store: BroadcastsDep) -> BroadcastOut:
    return BroadcastOut.of(store.duplicate(principal.tenant_id, key_actor(principal.key_id), broadcast_id))


@router.post("/{broadcast_id}/{action}", response_model=BroadcastOut)
def control_broadcast(
    broadcast_id: str,
    action: Literal["publish", "pause", "resume", "cancel"],
    principal: AdminDep,
    store: BroadcastsDep,
) -> BroadcastOut:
    """publish (send now, or at send_at), pause, resume, cancel; 409 when the status does not allow it."""
    move = {"publish": store.publish, "pause": store.pause, "resume": store.resume, "cancel": store.cancel}
    return BroadcastOut.of(move[action](principal.tenant_id, key_actor(principal.key_id), broadcast_id))


@router.get("/{broadcast_id}/audience")
def audience_count(broadcast_id: str, principal: PrincipalDep, store: BroadcastsDep) -> dict[str, int]:
    """How many contacts match, how many of them opted out or cannot be reached, and who would receive it."""
    return store.recipients.count(principal.tenant_id, broadcast_id)


@router.get("/{broadcast_id}/preview")
def preview(
    broadcast_id: str, contact_id: str, principal: PrincipalDep, store: BroadcastsDep
) -> dict[str, Any]:
    """The broadcast as one contact would receive it (personalisation and fallbacks filled in)."""
    return store.recipients.preview(principal.tenant_id, broadcast_id, contact_id)


@router.get("/{broadcast_id}/metrics")
def broadcast_metrics(broadcast_id: str, principal: PrincipalDep, store: BroadcastsDep) -> dict[str, Any]:
    return store.recipients.metrics(principal.tenant_id, broadcast_id)


@router.get("/{broadcast_id}/recipients", response_model=RecipientPage)
def recipients(
    broadcast_id: str,
    principal: PrincipalDep,
    store: BroadcastsDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RecipientPage:
    rows, total = store.recipients.page(principal.tenant_id, broadcast_id, status_, limit, offset)
    return RecipientPage(items=[RecipientOut.of(r) for r in rows], total=total)


@router.get("/{broadcast_id}/export.csv", response_class=StreamingResponse)
def export_recipients(broadcast_id: str, principal: PrincipalDep, store: BroadcastsDep) -> StreamingResponse:
    """One row per recipient with its outcome (UTF-8 with a BOM, so Excel reads Chinese names)."""
    return recipients_csv(store, principal.tenant_id, broadcast_id)


def recipients_csv(store: BroadcastStore, tenant_id: str, broadcast_id: str) -> StreamingResponse:
    """The export's response (the console's download gives the same file)."""
    rows = store.recipients.export_rows(tenant_id, broadcast_id)
    first = next(rows, None)  # a wrong id is a 404 before the response starts

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        yield "\ufeff" + buffer.getvalue()
        for row in itertools.chain([first] if first is not None else [], rows):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([spreadsheet.cell(value) for value in row])  # names come from customers
            yield buffer.getvalue()

    headers = {"Content-Disposition": f'attachment; filename="broadcast-{broadcast_id}.csv"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)
