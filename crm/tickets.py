"""Tickets: create, change (status moves only along TRANSITIONS), internal notes, SLA clocks, CSAT.

SLA targets are working hours per priority; a ticket's deadlines run on the tenant's working hours, so a
ticket opened on Friday evening is not late on Monday morning. Every change is audited with its actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.audit import AuditLog, changed
from core.db import Database, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.tenant_settings import TenantSettings
from crm.conversations import conversations
from crm.models import Contact
from crm.ticket_models import PRIORITIES, TRANSITIONS, Ticket, TicketNote, TicketSettingsRow
from crm.working_hours import WorkingHours

EDITABLE = ("type", "custom_type", "priority", "subject", "description", "assignee", "team", "custom_fields")
MAX_CUSTOM_FIELDS = 50


class SlaTarget(BaseModel):
    first_response_hours: float = Field(gt=0, le=24 * 365)
    resolution_hours: float = Field(gt=0, le=24 * 365)


def _default_sla() -> dict[str, SlaTarget]:
    hours = {"urgent": (1, 4), "high": (4, 16), "medium": (8, 40), "low": (24, 80)}
    return {p: SlaTarget(first_response_hours=f, resolution_hours=r) for p, (f, r) in hours.items()}


class TicketSettings(BaseModel):
    sla: dict[str, SlaTarget] = Field(
        default_factory=_default_sla, description="per priority, in working hours"
    )
    working_hours: WorkingHours = Field(default_factory=WorkingHours)

    def model_post_init(self, _: Any) -> None:
        missing = [p for p in PRIORITIES if p not in self.sla]
        unknown = [p for p in self.sla if p not in PRIORITIES]
        if missing or unknown:
            raise InvalidInput(
                f"sla needs exactly the priorities {list(PRIORITIES)} (missing {missing}, unknown {unknown})"
            )


@dataclass(frozen=True)
class Sla:
    first_response_due: datetime
    first_response_breached: bool
    resolution_due: datetime
    resolution_breached: bool


def sla_of(ticket: Ticket, settings: TicketSettings, now: datetime) -> Sla:
    target, hours = settings.sla[ticket.priority], settings.working_hours
    first_due = hours.add(ticket.created_at, target.first_response_hours * 3600)
    resolution_due = hours.add(ticket.created_at, target.resolution_hours * 3600)
    return Sla(
        first_response_due=first_due,
        first_response_breached=(ticket.first_response_at or now) > first_due,
        resolution_due=resolution_due,
        resolution_breached=(ticket.resolved_at or now) > resolution_due,
    )


def _check_custom_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if len(fields) > MAX_CUSTOM_FIELDS:
        raise InvalidInput(f"at most {MAX_CUSTOM_FIELDS} custom fields")
    bad = [k for k, v in fields.items() if not isinstance(v, str | int | float | bool) and v is not None]
    if bad:
        raise InvalidInput(f"custom field(s) {bad}: values are text, numbers, true/false or null")
    return fields


class TicketStore:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._on_resolved: list[Callable[[Ticket], None]] = []
        self._settings = TenantSettings(
            db, TicketSettingsRow, TicketSettings, audit=audit, entity="ticket_settings"
        )

    def on_resolved(self, listener: Callable[[Ticket], None]) -> None:
        """Called after a ticket is resolved (the inbox asks the customer for their rating)."""
        self._on_resolved.append(listener)

    # --- settings -----------------------------------------------------------------------------------
    def settings(self, tenant_id: str) -> TicketSettings:
        return self._settings.get(tenant_id)

    def save_settings(self, tenant_id: str, actor: str, settings: TicketSettings) -> TicketSettings:
        return self._settings.save(tenant_id, settings, actor)

    # --- tickets ------------------------------------------------------------------------------------
    @staticmethod
    def _owned(session: Session, tenant_id: str, ticket_id: str) -> Ticket:
        ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id, Ticket.tenant_id == tenant_id))
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return ticket

    def get(self, tenant_id: str, ticket_id: str) -> Ticket:
        with self._db.session() as session:
            return self._owned(session, tenant_id, ticket_id)

    def create(self, tenant_id: str, actor: str, fields: dict[str, Any]) -> Ticket:
        if fields.get("type") == "custom" and not fields.get("custom_type"):
            raise InvalidInput("a ticket of type custom needs custom_type (e.g. 'warranty claim')")
        _check_custom_fields(fields.get("custom_fields") or {})
        for attempt in range(5):  # two tickets created at once may pick the same number: take the next
            try:
                with self._db.session() as session:
                    self._check_links(session, tenant_id, fields)
                    number = (
                        session.scalar(select(func.max(Ticket.number)).where(Ticket.tenant_id == tenant_id))
                        or 1000
                    ) + 1
                    ticket = Ticket(
                        tenant_id=tenant_id,
                        number=number,
                        status="to_do",
                        created_by=actor,
                        custom_fields={},
                        description="",
                    )
                    for key, value in fields.items():
                        setattr(ticket, key, value)
                    session.add(ticket)
                    session.flush()
                    self._audit.record(
                        session,
                        tenant_id,
                        actor,
                        "ticket.create",
                        "ticket",
                        ticket.id,
                        None,
                        _snapshot(ticket),
                    )
                return ticket
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _check_links(session: Session, tenant_id: str, fields: dict[str, Any]) -> None:
        """A ticket may only point at this tenant's contact and conversation."""
        if fields.get("contact_id") and not session.scalar(
            select(Contact.id).where(Contact.id == fields["contact_id"], Contact.tenant_id == tenant_id)
        ):
            raise NotFound(f"contact {fields['contact_id']} not found")
        if fields.get("conversation_id"):
            conversation = session.execute(
                select(conversations.c.contact_id).where(
                    conversations.c.id == fields["conversation_id"], conversations.c.tenant_id == tenant_id
                )
            ).first()
            if conversation is None:
                raise NotFound(f"conversation {fields['conversation_id']} not found")
            fields.setdefault("contact_id", conversation.contact_id)

    def update(self, tenant_id: str, actor: str, ticket_id: str, patch: dict[str, Any]) -> Ticket:
        """Edit fields and/or move the status (only along TRANSITIONS: anything else is a conflict)."""
        unknown = sorted(set(patch) - set(EDITABLE) - {"status"})
        if unknown:
            raise InvalidInput(f"ticket field(s) {unknown} cannot be changed")
        if "custom_fields" in patch:
            _check_custom_fields(patch["custom_fields"] or {})
        with self._db.session() as session:
            ticket = self._owned(session, tenant_id, ticket_id)
            before = _snapshot(ticket)
            status = patch.pop("status", None)
            if status is not None and status != ticket.status:
                self._move(ticket, status)
            for key, value in patch.items():
                setattr(
                    ticket,
                    key,
                    value if key != "custom_fields" else {**ticket.custom_fields, **(value or {})},
                )
            if ticket.type == "custom" and not ticket.custom_type:
                raise InvalidInput("a ticket of type custom needs custom_type")
            old, new = changed(before, _snapshot(ticket))
            if old or new:
                ticket.updated_at = utcnow()
                action = "ticket.transition" if "status" in new else "ticket.update"
                self._audit.record(session, tenant_id, actor, action, "ticket", ticket.id, old, new)
        if status == "resolved" and before["status"] != "resolved":
            for listener in self._on_resolved:
                listener(ticket)
        return ticket

    @staticmethod
    def _move(ticket: Ticket, status: str) -> None:
        allowed = TRANSITIONS[ticket.status]
        if status not in allowed:
            raise Conflict(
                f"ticket #{ticket.number} is {ticket.status}: it can move to {list(allowed)}, not {status}"
            )
        now = utcnow()
        if ticket.first_response_at is None and ticket.status == "to_do":
            ticket.first_response_at = now  # someone picked it up
        if status == "resolved":
            ticket.resolved_at = now
        if status == "reopened":
            ticket.reopened_count += 1
            ticket.resolved_at = None
            ticket.csat, ticket.csat_comment = None, None
        ticket.status = status

    def responded(self, tenant_id: str, conversation_id: str) -> None:
        """A person answered the customer in this conversation: its tickets not yet responded to now are."""
        with self._db.session() as session:
            session.execute(
                update(Ticket)
                .where(
                    Ticket.tenant_id == tenant_id,
                    Ticket.conversation_id == conversation_id,
                    Ticket.first_response_at.is_(None),
                )
                .values(first_response_at=utcnow())
            )

    def search(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        priority: str | None = None,
        type: str | None = None,
        assignee: str | None = None,
        team: str | None = None,
        contact_id: str | None = None,
        conversation_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Ticket], int]:
        query = select(Ticket).where(Ticket.tenant_id == tenant_id)
        for column, value in (
            (Ticket.status, status),
            (Ticket.priority, priority),
            (Ticket.type, type),
            (Ticket.assignee, assignee),
            (Ticket.team, team),
            (Ticket.contact_id, contact_id),
            (Ticket.conversation_id, conversation_id),
        ):
            if value is not None:
                query = query.where(column == value)
        with self._db.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = session.scalars(query.order_by(Ticket.number.desc()).offset(offset).limit(limit)).all()
        return list(items), total

    def all(
        self, tenant_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[Ticket]:
        query = select(Ticket).where(Ticket.tenant_id == tenant_id)
        if since:
            query = query.where(Ticket.created_at >= since)
        if until:
            query = query.where(Ticket.created_at < until)
        with self._db.session() as session:
            return list(session.scalars(query))

    # --- notes and CSAT -----------------------------------------------------------------------------
    def add_note(self, tenant_id: str, actor: str, ticket_id: str, text: str) -> TicketNote:
        if not text.strip():
            raise InvalidInput("a note needs text")
        with self._db.session() as session:
            self._owned(session, tenant_id, ticket_id)
            note = TicketNote(tenant_id=tenant_id, ticket_id=ticket_id, author=actor, text=text.strip())
            session.add(note)
            session.flush()
            self._audit.record(
                session, tenant_id, actor, "ticket.note", "ticket", ticket_id, None, {"note": note.id}
            )
        return note

    def notes(self, tenant_id: str, ticket_id: str) -> list[TicketNote]:
        with self._db.session() as session:
            self._owned(session, tenant_id, ticket_id)
            return list(
                session.scalars(
                    select(TicketNote)
                    .where(TicketNote.ticket_id == ticket_id)
                    .order_by(TicketNote.created_at)
                )
            )

    def rate(self, tenant_id: str, actor: str, ticket_id: str, score: int, comment: str | None) -> Ticket:
        """The customer's satisfaction (1-5) with a resolved ticket; once per resolution."""
        if not 1 <= score <= 5:
            raise InvalidInput(f"CSAT score is 1 to 5, not {score}")
        with self._db.session() as session:
            ticket = self._owned(session, tenant_id, ticket_id)
            if ticket.status != "resolved":
                raise Conflict(f"ticket #{ticket.number} is {ticket.status}: CSAT is asked after resolution")
            if ticket.csat is not None:
                raise Conflict(f"ticket #{ticket.number} was already rated")
            ticket.csat, ticket.csat_comment = score, comment
            self._audit.record(
                session, tenant_id, actor, "ticket.csat", "ticket", ticket.id, None, {"csat": score}
            )
        return ticket


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {
        **{f: getattr(ticket, f) for f in EDITABLE},
        "status": ticket.status,
        "contact_id": ticket.contact_id,
    }
