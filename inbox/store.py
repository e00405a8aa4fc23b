"""The inbox store: contacts, conversations, messages, handoff state and ratings, per tenant."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from core.audit import AGENT, AuditLog
from core.db import Database, new_id, utcnow
from core.errors import InvalidInput, NotFound
from crm.contacts import phone_forms
from crm.models import Contact
from inbox.handoff import Handoff
from inbox.models import Conversation, Message, MessageFeedback


@dataclass
class ContactInfo:
    external_id: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class InboxStore:
    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self._db = db
        self.handoff = Handoff(db, audit or AuditLog(db))
        self._listeners: list[Callable[[Conversation, Message], None]] = []

    def on_customer_message(self, listener: Callable[[Conversation, Message], None]) -> None:
        """Called after a customer's message is stored (the inbox pushes it to staff clients)."""
        self._listeners.append(listener)

    def announce(self, conversation: Conversation, message: Message) -> None:
        for listener in self._listeners:
            listener(conversation, message)

    def _contact(self, session: Any, tenant_id: str, info: ContactInfo | None) -> Contact:
        info = info or ContactInfo()
        if info.external_id:
            found = session.scalar(
                select(Contact).where(Contact.tenant_id == tenant_id, Contact.external_id == info.external_id)
            )
            if found is not None:
                for field in ("name", "phone", "email"):
                    if getattr(info, field):
                        setattr(found, field, getattr(info, field))
                return found
            if info.phone:
                # A customer the business already knows by phone (imported, or typed in by staff) writes on a
                # phone channel for the first time: the same contact, now also known by its platform id.
                known = session.scalar(
                    select(Contact)
                    .where(
                        Contact.tenant_id == tenant_id,
                        Contact.external_id.is_(None),
                        Contact.phone.in_(phone_forms(info.phone)),
                    )
                    .limit(1)
                )
                if known is not None:
                    known.external_id = info.external_id
                    known.name = known.name or info.name
                    return known
        contact = Contact(
            tenant_id=tenant_id,
            external_id=info.external_id,
            name=info.name,
            phone=info.phone,
            email=info.email,
            attributes={},
        )
        session.add(contact)
        session.flush()
        return contact

    def open(
        self,
        tenant_id: str,
        conversation_id: str | None,
        contact: ContactInfo | None,
        channel: str = "playground",
    ) -> Conversation:
        """The conversation to continue (must belong to the tenant), or a new one with its contact."""
        with self._db.session() as session:
            if conversation_id:
                found = self._owned(session, tenant_id, conversation_id)
                return found
            return self._new_conversation(session, tenant_id, contact, channel)

    def _new_conversation(
        self, session: Session, tenant_id: str, contact: ContactInfo | None, channel: str
    ) -> Conversation:
        person = self._contact(session, tenant_id, contact)
        conversation = Conversation(
            tenant_id=tenant_id, contact_id=person.id, channel=channel, status="bot", failed_answers=0
        )
        session.add(conversation)
        session.flush()
        return conversation

    def conversation_for(
        self, session: Session, tenant_id: str, contact: ContactInfo, channel: str
    ) -> Conversation:
        """In the caller's transaction: the contact's latest conversation on the channel, or a new one."""
        assert contact.external_id
        found = session.scalar(self._latest_query(tenant_id, contact.external_id, channel))
        return found or self._new_conversation(session, tenant_id, contact, channel)

    @staticmethod
    def _latest_query(tenant_id: str, external_id: str, channel: str) -> Select[Conversation]:
        return (
            select(Conversation)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(
                Contact.tenant_id == tenant_id,
                Contact.external_id == external_id,
                Conversation.channel == channel,
            )
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )

    def latest(self, tenant_id: str, external_id: str, channel: str) -> Conversation | None:
        """A known contact's most recent conversation on a channel (to continue it on another device)."""
        with self._db.session() as session:
            return session.scalar(self._latest_query(tenant_id, external_id, channel))

    _owned = staticmethod(Handoff.owned)  # the tenant's conversation, or NotFound

    def get(self, tenant_id: str, conversation_id: str) -> Conversation:
        with self._db.session() as session:
            return self._owned(session, tenant_id, conversation_id)

    def add_message(
        self, tenant_id: str, conversation_id: str, role: str, text: str, meta: dict[str, Any] | None = None
    ) -> Message:
        message = Message(
            tenant_id=tenant_id, conversation_id=conversation_id, role=role, text=text, meta=meta or {}
        )
        with self._db.session() as session:
            session.add(message)
            conversation = self._owned(session, tenant_id, conversation_id)
            conversation.updated_at = utcnow()
            if role == "customer":
                self.contacted(session, conversation.contact_id)
        if role == "customer":
            self.announce(conversation, message)
        return message

    @staticmethod
    def contacted(session: Session, contact_id: str, at: datetime | None = None) -> None:
        """The contact's "last contacted" is the time of their latest message."""
        session.execute(
            update(Contact).where(Contact.id == contact_id).values(last_contacted_at=at or utcnow())
        )

    @staticmethod
    def _message(session: Session, tenant_id: str, message_id: str) -> Message:
        found = session.scalar(
            select(Message).where(Message.id == message_id, Message.tenant_id == tenant_id)
        )
        if found is None:
            raise NotFound(f"message {message_id} not found")
        return found

    def message(self, tenant_id: str, message_id: str) -> Message:
        with self._db.session() as session:
            return self._message(session, tenant_id, message_id)

    def update_meta(self, tenant_id: str, message_id: str, **fields: Any) -> None:
        with self._db.session() as session:
            # Locked while merged: a reaction or an edit stored meanwhile (channels/platform_events.py)
            # would otherwise be overwritten by the meta read before it.
            message = session.scalar(
                select(Message)
                .where(Message.id == message_id, Message.tenant_id == tenant_id)
                .with_for_update()
            )
            if message is None:
                raise NotFound(f"message {message_id} not found")
            message.meta = {**message.meta, **fields}

    def overview(
        self, tenant_id: str, conversation_ids: Collection[str]
    ) -> tuple[dict[str, Contact], dict[str, Message]]:
        """For a page of the inbox list: each conversation's contact and latest message, in two queries
        (one per row would be a query per conversation on every refresh)."""
        ids = list(conversation_ids)
        if not ids:
            return {}, {}
        with self._db.session() as session:
            contacts = session.execute(
                select(Conversation.id, Contact)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Conversation.tenant_id == tenant_id, Conversation.id.in_(ids))
            ).all()
            latest = (
                select(Message.conversation_id, func.max(Message.created_at).label("at"))
                .where(Message.tenant_id == tenant_id, Message.conversation_id.in_(ids))
                .group_by(Message.conversation_id)
                .subquery()
            )
            last = session.scalars(
                select(Message).join(
                    latest,
                    (latest.c.conversation_id == Message.conversation_id)
                    & (latest.c.at == Message.created_at),
                )
            ).all()
        return {cid: contact for cid, contact in contacts}, {m.conversation_id: m for m in last}

    def messages(self, tenant_id: str, conversation_id: str) -> list[Message]:
        with self._db.session() as session:
            self._owned(session, tenant_id, conversation_id)
            return list(
                session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.created_at)
                )
            )

    def lease(self, conversation_id: str, seconds: float) -> str | None:
        """Take the conversation for one worker; returns the holder token that renews and releases the
        lease, or None if another holds it. It expires if that worker dies (or stalls past it)."""
        now, holder = utcnow(), new_id()
        with self._db.session() as session:
            taken = session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    or_(Conversation.reply_lock_until.is_(None), Conversation.reply_lock_until < now),
                )
                .values(reply_lock_until=now + timedelta(seconds=seconds), reply_lock_holder=holder)
            )
            return holder if taken.rowcount else None  # type: ignore[attr-defined]

    def renew_lease(self, conversation_id: str, holder: str, seconds: float) -> bool:
        """Extend the lease `holder` took (its heartbeat); False if it is no longer theirs: released, or
        expired and taken over by another (who must not lose it to a stalled worker waking up). Expired
        but not taken: still theirs, renewed."""
        with self._db.session() as session:
            renewed = session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    Conversation.reply_lock_holder == holder,
                    Conversation.reply_lock_until.is_not(None),
                )
                .values(reply_lock_until=utcnow() + timedelta(seconds=seconds))
            )
            return bool(renewed.rowcount)  # type: ignore[attr-defined]

    def release(self, conversation_id: str, holder: str) -> None:
        """Let go of the lease `holder` took; nothing if another has taken it over since."""
        with self._db.session() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.reply_lock_holder == holder)
                .values(reply_lock_until=None, reply_lock_holder=None)
            )

    def record_outcome(self, tenant_id: str, conversation_id: str, *, answered: bool) -> int:
        """Count failed answers in a row (reset by a grounded answer); returns the current streak."""
        with self._db.session() as session:
            conversation = self._owned(session, tenant_id, conversation_id)
            conversation.failed_answers = 0 if answered else conversation.failed_answers + 1
            return conversation.failed_answers

    def hand_off(self, tenant_id: str, conversation_id: str, reason: str, team: str | None) -> bool:
        """The agent asks for a person; idempotent (False when a person has it or it is already asked for)."""
        return self.handoff.request(tenant_id, AGENT, conversation_id, reason, team)

    def rate(
        self, tenant_id: str, message_id: str, rating: str, comment: str | None, correction: str | None
    ) -> MessageFeedback:
        with self._db.session() as session:
            message = self._message(session, tenant_id, message_id)
            if message.role != "agent":
                raise InvalidInput("only the agent's messages can be rated")
            feedback = session.get(MessageFeedback, message_id)
            if feedback is None:
                feedback = MessageFeedback(message_id=message_id, tenant_id=tenant_id, rating=rating)
                session.add(feedback)
            feedback.rating, feedback.comment, feedback.correction = rating, comment, correction
            feedback.created_at = utcnow()
            return feedback

    def ratings(self, tenant_id: str, message_ids: Collection[str]) -> dict[str, MessageFeedback]:
        """The ratings of these messages, by message id (the console's playground shows them by the replies)."""
        if not message_ids:
            return {}
        with self._db.session() as session:
            found = session.scalars(
                select(MessageFeedback).where(
                    MessageFeedback.tenant_id == tenant_id, MessageFeedback.message_id.in_(list(message_ids))
                )
            )
            return {rating.message_id: rating for rating in found}

    def feedback(self, tenant_id: str) -> list[MessageFeedback]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(MessageFeedback)
                    .where(MessageFeedback.tenant_id == tenant_id)
                    .order_by(MessageFeedback.created_at)
                )
            )
