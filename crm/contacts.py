"""Contacts: built-in fields, typed custom attributes, tags, owner, staff notes and an activity timeline.

Every change is validated before it is written and audited in the same transaction. Contacts are unique
per tenant by email and by phone: creating a second contact with either is a conflict naming the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent, AuditLog, changed
from core.db import Database
from core.errors import Conflict, InvalidInput, NotFound
from crm.attributes import AttributeStore
from crm.conversations import conversations, messages
from crm.models import Contact, ContactNote
from crm.ticket_models import Ticket

FIELDS = ("first_name", "last_name", "name", "phone", "email", "country", "company", "job_title", "owner")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_NOISE = re.compile(r"[\s\-().]")
TAG = re.compile(r"^[\w\-:. ]{1,50}$")
MAX_TAGS = 50


def normalise_phone(value: str) -> str:
    """E.164-like: digits with an optional leading +, separators removed (852 9123 4567 -> 85291234567)."""
    phone = PHONE_NOISE.sub("", value)
    if not re.fullmatch(r"\+?\d{6,15}", phone):
        raise InvalidInput(f"phone {value!r} is not a phone number (6-15 digits, optional leading +)")
    return phone


def phone_forms(phone: str) -> tuple[str, str]:
    """The phone's digits as stored with and without a leading + (WhatsApp sends 85291234567 where a person
    types +852 9123 4567): contacts are the same person when their phones match either form."""
    digits = re.sub(r"\D", "", phone)
    return digits, f"+{digits}"


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise InvalidInput(f"email {value!r} is not an email address")
    return email


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    bad = [t for t in cleaned if not TAG.match(t)]
    if bad:
        raise InvalidInput(f"tag(s) {bad}: up to 50 letters, digits, spaces and - _ : .")
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput(f"a contact has at most {MAX_TAGS} tags")
    return cleaned


def snapshot(contact: Contact) -> dict[str, Any]:
    """The contact as the API shows it (and as audit entries record it)."""
    return {
        **{field: getattr(contact, field) for field in FIELDS},
        "tags": list(contact.tags or []),
        "attributes": dict(contact.attributes or {}),
        "opted_out": bool(contact.opted_out),
    }


@dataclass
class ContactPage:
    items: list[Contact]
    total: int


class ContactStore:
    def __init__(self, db: Database, attributes: AttributeStore, audit: AuditLog) -> None:
        self._db = db
        self._attributes = attributes
        self._audit = audit

    # --- reading ------------------------------------------------------------------------------------
    @staticmethod
    def owned(session: Session, tenant_id: str, contact_id: str) -> Contact:
        contact = session.scalar(
            select(Contact).where(Contact.id == contact_id, Contact.tenant_id == tenant_id)
        )
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        return contact

    def get(self, tenant_id: str, contact_id: str) -> Contact:
        with self._db.session() as session:
            return self.owned(session, tenant_id, contact_id)

    def search(
        self,
        tenant_id: str,
        *,
        q: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        attributes: dict[str, str] | None = None,
        ids: set[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> ContactPage:
        """Contacts matching every filter given; `ids` restricts to those contacts (a list's members)."""
        query: Select[Contact] = select(Contact).where(Contact.tenant_id == tenant_id)
        if ids is not None:
            query = query.where(Contact.id.in_(ids))
        if q:
            like = f"%{q.strip().lower()}%"
            searched = ("name", "first_name", "last_name", "email", "phone", "company")
            query = query.where(or_(*(func.lower(getattr(Contact, f)).like(like) for f in searched)))
        if owner:
            query = query.where(Contact.owner == owner)
        # Tags and custom attributes live in JSON, which the two engines query differently: the database
        # narrows by the JSON text (a superset), and the exact test runs here, so both engines agree.
        if tag:
            query = query.where(cast(Contact.tags, String).like(f'%"{tag}"%'))
        for key in attributes or {}:
            query = query.where(cast(Contact.attributes, String).like(f'%"{key}"%'))
        query = query.order_by(Contact.created_at, Contact.id)
        with self._db.session() as session:
            if not tag and not attributes:
                total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
                return ContactPage(list(session.scalars(query.offset(offset).limit(limit))), total)
            contacts = list(session.scalars(query))
        if tag:
            contacts = [c for c in contacts if tag in (c.tags or [])]
        for key, wanted in (attributes or {}).items():
            contacts = [c for c in contacts if _matches((c.attributes or {}).get(key), wanted)]
        return ContactPage(items=contacts[offset : offset + limit], total=len(contacts))

    def each(self, tenant_id: str, batch: int = 500) -> Iterator[Contact]:
        """Every contact of the tenant, oldest first, fetched `batch` rows at a time in one query (an export
        paging with OFFSET would re-read the table once per page)."""
        query = select(Contact).where(Contact.tenant_id == tenant_id).order_by(Contact.created_at, Contact.id)
        with self._db.session() as session:
            yield from session.scalars(query.execution_options(yield_per=batch))

    # --- writing ------------------------------------------------------------------------------------
    def _clean(self, tenant_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "attributes":
                clean[key] = self._attributes.validate(tenant_id, value or {})
            elif key == "tags":
                clean[key] = normalise_tags(value or [])
            elif key == "opted_out":
                if not isinstance(value, bool):
                    raise InvalidInput("opted_out is true or false")
                clean[key] = value
            elif value is None or (isinstance(value, str) and not value.strip()):
                clean[key] = None
            elif key == "phone":
                clean[key] = normalise_phone(value)
            elif key == "email":
                clean[key] = normalise_email(value)
            elif key in FIELDS:
                clean[key] = str(value).strip()
            else:
                raise InvalidInput(f"unknown contact field {key!r}")
        return clean

    @staticmethod
    def _check_unique(session: Session, tenant_id: str, fields: dict[str, Any], exclude: str | None) -> None:
        for key in ("email", "phone"):
            if fields.get(key):
                same = (
                    Contact.phone.in_(phone_forms(fields[key]))
                    if key == "phone"
                    else Contact.email == fields[key]
                )
                query = select(Contact.id).where(Contact.tenant_id == tenant_id, same)
                if exclude:
                    query = query.where(Contact.id != exclude)
                existing = session.scalar(query)
                if existing:
                    raise Conflict(f"contact {existing} already has {key} {fields[key]}")

    def create(self, tenant_id: str, actor: str, fields: dict[str, Any]) -> Contact:
        clean = self._clean(tenant_id, fields)
        with self._db.session() as session:
            self._check_unique(session, tenant_id, clean, None)
            contact = Contact(tenant_id=tenant_id, tags=[], attributes={})
            for key, value in clean.items():
                setattr(contact, key, value)
            session.add(contact)
            session.flush()
            self._audit.record(
                session, tenant_id, actor, "contact.create", "contact", contact.id, None, snapshot(contact)
            )
        return contact

    def update(self, tenant_id: str, actor: str, contact_id: str, patch: dict[str, Any]) -> Contact:
        """Set the given fields; `attributes` merges (a null value removes that attribute)."""
        clean = self._clean(tenant_id, patch)
        with self._db.session() as session:
            contact = self.owned(session, tenant_id, contact_id)
            self._check_unique(session, tenant_id, clean, contact.id)
            before = snapshot(contact)
            for key, value in clean.items():
                if key == "attributes":
                    merged = {**(contact.attributes or {}), **value}
                    contact.attributes = {k: v for k, v in merged.items() if v is not None}
                else:
                    setattr(contact, key, value)
            old, new = changed(before, snapshot(contact))
            if old or new:
                self._audit.record(
                    session, tenant_id, actor, "contact.update", "contact", contact.id, old, new
                )
        return contact

    def add_tags(self, tenant_id: str, actor: str, contact_id: str, tags: list[str]) -> Contact:
        with self._db.session() as session:
            contact = self.owned(session, tenant_id, contact_id)
            current = list(contact.tags or [])
            new = normalise_tags(current + tags)
            if new != current:
                contact.tags = new
                self._audit.record(
                    session,
                    tenant_id,
                    actor,
                    "contact.tag",
                    "contact",
                    contact.id,
                    {"tags": current},
                    {"tags": new},
                )
        return contact

    def remove_tag(self, tenant_id: str, actor: str, contact_id: str, tag: str) -> Contact:
        with self._db.session() as session:
            contact = self.owned(session, tenant_id, contact_id)
            current = list(contact.tags or [])
            if tag not in current:
                raise NotFound(f"contact {contact_id} has no tag {tag!r}")
            contact.tags = [t for t in current if t != tag]
            self._audit.record(
                session,
                tenant_id,
                actor,
                "contact.untag",
                "contact",
                contact.id,
                {"tags": current},
                {"tags": contact.tags},
            )
        return contact

    def delete(self, tenant_id: str, actor: str, contact_id: str) -> None:
        with self._db.session() as session:
            contact = self.owned(session, tenant_id, contact_id)
            self._audit.record(
                session, tenant_id, actor, "contact.delete", "contact", contact.id, snapshot(contact), None
            )
            session.delete(contact)

    # --- notes and timeline -------------------------------------------------------------------------
    def add_note(self, tenant_id: str, actor: str, contact_id: str, text: str) -> ContactNote:
        if not text.strip():
            raise InvalidInput("a note needs text")
        with self._db.session() as session:
            self.owned(session, tenant_id, contact_id)
            note = ContactNote(tenant_id=tenant_id, contact_id=contact_id, author=actor, text=text.strip())
            session.add(note)
            session.flush()
            self._audit.record(
                session, tenant_id, actor, "contact.note", "contact", contact_id, None, {"note": note.id}
            )
        return note

    def notes(self, tenant_id: str, contact_id: str) -> list[ContactNote]:
        with self._db.session() as session:
            self.owned(session, tenant_id, contact_id)
            return list(
                session.scalars(
                    select(ContactNote)
                    .where(ContactNote.contact_id == contact_id)
                    .order_by(ContactNote.created_at)
                )
            )

    def timeline(self, tenant_id: str, contact_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """Messages, notes, and recorded changes of the contact, its tickets and its conversations' status
        (handoffs, a person taking over, resolved), newest first."""
        with self._db.session() as session:
            self.owned(session, tenant_id, contact_id)
            said = session.execute(
                select(
                    messages.c.created_at,
                    messages.c.role,
                    messages.c.text,
                    conversations.c.id,
                    conversations.c.channel,
                )
                .join(conversations, conversations.c.id == messages.c.conversation_id)
                .where(conversations.c.contact_id == contact_id, conversations.c.tenant_id == tenant_id)
                .order_by(messages.c.created_at.desc())
                .limit(limit)
            ).all()
            notes = session.scalars(
                select(ContactNote)
                .where(ContactNote.contact_id == contact_id)
                .order_by(ContactNote.created_at.desc())
                .limit(limit)
            ).all()
            tickets = select(Ticket.id).where(Ticket.tenant_id == tenant_id, Ticket.contact_id == contact_id)
            theirs = select(conversations.c.id).where(conversations.c.contact_id == contact_id)
            events = session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.tenant_id == tenant_id,
                    or_(
                        (AuditEvent.entity == "contact") & (AuditEvent.entity_id == contact_id),
                        (AuditEvent.entity == "ticket") & AuditEvent.entity_id.in_(tickets),
                        (AuditEvent.entity == "conversation") & AuditEvent.entity_id.in_(theirs),
                    ),
                )
                .order_by(AuditEvent.at.desc())
                .limit(limit)
            ).all()
        entries: list[dict[str, Any]] = [
            {
                "kind": "message",
                "at": at,
                "role": role,
                "text": text,
                "conversation_id": conversation_id,
                "channel": channel,
            }
            for at, role, text, conversation_id, channel in said
        ]
        entries += [
            {"kind": "note", "at": note.created_at, "author": note.author, "text": note.text}
            for note in notes
        ]
        entries += [
            {
                "kind": "change",
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "before": event.before,
                "after": event.after,
            }
            for event in events
        ]
        entries.sort(key=lambda entry: entry["at"], reverse=True)
        return entries[:limit]


def _matches(value: Any, wanted: str) -> bool:
    """A filter value against a stored attribute: exact for scalars, membership for multi-choice lists."""
    if isinstance(value, list):
        return wanted in value
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    return value is not None and str(value) == wanted
