"""GDPR for one contact: export everything held about them, or erase it.

Erasure removes the contact, their conversations and messages, their notes, and the conversations' notes;
keeps their tickets as business records but blanks every personal field (subject, description, custom
fields, CSAT comment, notes) and unlinks them; and blanks the before/after values of audit entries about
them, keeping only who did what when. Data other packages keep about the conversations (the channels' raw
webhook deliveries, the agent's conversation memory) is removed by hooks those packages register, so crm
needs to know nothing of them. The knowledge index holds only uploaded sources: no vector is derived from a
conversation, so there is none to delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from core.audit import AuditEvent, AuditLog
from core.db import Database
from crm.contacts import ContactStore, snapshot
from crm.conversations import conversation_notes, conversations, message_feedback, messages
from crm.models import Contact, ContactNote
from crm.ticket_models import Ticket, TicketNote

# (session, tenant_id, contact_id, conversation_ids) -> number of records removed; runs in the erasure's
# transaction, so everything goes or nothing does.
ErasureHook = Callable[[Session, str, str, list[str]], int]
ERASED = "[erased]"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _iso(getattr(obj, f)) for f in fields}


class Privacy:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._hooks: list[tuple[str, ErasureHook]] = []
        self._after: list[Callable[[list[str]], None]] = []

    def on_erase(self, name: str, hook: ErasureHook) -> None:
        """Remove another package's records in the erasure's own transaction."""
        self._hooks.append((name, hook))

    def after_erase(self, hook: Callable[[list[str]], None]) -> None:
        """Called with the erased conversation ids once the erasure committed (stores outside the database
        transaction, such as the agent's conversation memory)."""
        self._after.append(hook)

    def export(self, tenant_id: str, contact_id: str) -> dict[str, Any]:
        """Everything held about the contact, as JSON-ready data."""
        with self._db.session() as session:
            contact = ContactStore.owned(session, tenant_id, contact_id)
            theirs = session.execute(
                select(conversations)
                .where(conversations.c.contact_id == contact_id)
                .order_by(conversations.c.created_at)
            ).all()
            tickets = list(
                session.scalars(
                    select(Ticket).where(Ticket.tenant_id == tenant_id, Ticket.contact_id == contact_id)
                )
            )
            out: dict[str, Any] = {
                "contact": {
                    "id": contact.id,
                    **snapshot(contact),
                    "created_at": _iso(contact.created_at),
                    "last_contacted_at": _iso(contact.last_contacted_at),
                },
                "notes": [
                    _row(n, ("author", "text", "created_at"))
                    for n in session.scalars(select(ContactNote).where(ContactNote.contact_id == contact_id))
                ],
                "conversations": [],
                "tickets": [],
            }
            for conversation in theirs:
                said = session.execute(
                    select(messages)
                    .where(messages.c.conversation_id == conversation.id)
                    .order_by(messages.c.created_at)
                )
                out["conversations"].append(
                    {
                        **_row(conversation, ("id", "channel", "status", "created_at")),
                        "messages": [_row(m, ("role", "text", "created_at")) for m in said],
                    }
                )
            for ticket in tickets:
                notes = session.scalars(select(TicketNote).where(TicketNote.ticket_id == ticket.id))
                out["tickets"].append(
                    {
                        **_row(
                            ticket,
                            ("number", "type", "status", "subject", "description", "csat", "created_at"),
                        ),
                        "notes": [_row(n, ("author", "text", "created_at")) for n in notes],
                    }
                )
            ids = [contact_id, *(t.id for t in tickets)]
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant_id, AuditEvent.entity_id.in_(ids))
                .order_by(AuditEvent.at)
            )
            out["changes"] = [_row(e, ("actor", "action", "before", "after", "at")) for e in events]
        return out

    def erase(self, tenant_id: str, actor: str, contact_id: str) -> dict[str, int]:
        """Erase the contact (see the module docstring); returns what was removed, by kind."""
        with self._db.session() as session:
            ContactStore.owned(session, tenant_id, contact_id)
            theirs = list(
                session.scalars(select(conversations.c.id).where(conversations.c.contact_id == contact_id))
            )
            tickets = list(
                session.scalars(
                    select(Ticket.id).where(Ticket.tenant_id == tenant_id, Ticket.contact_id == contact_id)
                )
            )
            counts = {name: hook(session, tenant_id, contact_id, theirs) for name, hook in self._hooks}
            said = select(messages.c.id).where(messages.c.conversation_id.in_(theirs))
            session.execute(delete(message_feedback).where(message_feedback.c.message_id.in_(said)))
            counts["messages"] = session.execute(
                delete(messages).where(messages.c.conversation_id.in_(theirs))
            ).rowcount  # type: ignore[attr-defined]
            session.execute(
                delete(conversation_notes).where(conversation_notes.c.conversation_id.in_(theirs))
            )
            counts["conversations"] = session.execute(
                delete(conversations).where(conversations.c.id.in_(theirs))
            ).rowcount  # type: ignore[attr-defined]
            session.execute(delete(TicketNote).where(TicketNote.ticket_id.in_(tickets)))
            counts["tickets_blanked"] = session.execute(
                update(Ticket)
                .where(Ticket.id.in_(tickets))
                .values(subject=ERASED, description="", custom_fields={}, csat_comment=None, contact_id=None)
            ).rowcount  # type: ignore[attr-defined]
            counts["changes_blanked"] = session.execute(
                update(AuditEvent)
                .where(
                    AuditEvent.tenant_id == tenant_id,
                    or_(
                        AuditEvent.entity_id == contact_id,
                        AuditEvent.entity_id.in_(tickets),
                        AuditEvent.entity_id.in_(theirs),
                    ),
                )
                .values(before=None, after=None)
            ).rowcount  # type: ignore[attr-defined]
            session.execute(delete(ContactNote).where(ContactNote.contact_id == contact_id))
            session.execute(delete(Contact).where(Contact.id == contact_id))
            self._audit.record(
                session, tenant_id, actor, "contact.erase", "contact", contact_id, None, dict(counts)
            )
        for hook in self._after:
            hook(theirs)
        return counts
