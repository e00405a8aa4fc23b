"""The audit log: who did what to which record, when, with the record's fields before and after.

Every change made by a person (an API key), the agent or the system is written in the same transaction as
the change itself, so the log never claims a change that rolled back or misses one that committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Select, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, Database, UTCDateTime, new_id, utcnow

AGENT = "agent"  # the actor name for changes the AI agent makes through its tools
SYSTEM = "system"
CUSTOMER = "customer"  # changes a customer makes by what they write (e.g. STOP opts them out of broadcasts)


def key_actor(key_id: str) -> str:
    return f"key:{key_id}"


def user_actor(user_id: str) -> str:
    """A staff user signed in to the console (core/staff/)."""
    return f"user:{user_id}"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity", "tenant_id", "entity", "entity_id"),
        # A tenant's log newest first, page by page, without sorting the tenant's entries (migration 0029).
        Index("ix_audit_events_tenant_at", "tenant_id", "at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(
        String(100)
    )  # key:<api key id> | user:<staff user id> | agent | system
    action: Mapped[str] = mapped_column(String(60))  # e.g. contact.update, ticket.transition
    entity: Mapped[str] = mapped_column(String(40))  # contact | ticket | attribute | conversation
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, on both sides (an audit entry shows the change, not the whole record)."""
    keys = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def record(
        session: Session,
        tenant_id: str,
        actor: str,
        action: str,
        entity: str,
        entity_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Add an entry to the caller's transaction."""
        session.add(
            AuditEvent(
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
            )
        )

    def list(
        self,
        tenant_id: str,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEvent]:
        """The tenant's entries newest first, filtered (see `_matching`), `limit` of them from `offset`."""
        query = _matching(tenant_id, entity, entity_id, actor, action)
        with self._db.session() as session:
            return list(
                session.scalars(
                    query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
                )
            )

    def count(
        self,
        tenant_id: str,
        *,
        entity: str | None = None,
        entity_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> int:
        """How many entries `list` pages through with the same filters."""
        query = _matching(tenant_id, entity, entity_id, actor, action)
        with self._db.session() as session:
            return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _matching(
    tenant_id: str, entity: str | None, entity_id: str | None, actor: str | None, action: str | None
) -> Select[AuditEvent]:
    """The tenant's entries; `actor` is matched exactly (`user:<id>`, `key:<id>`, `agent`...), `action` as
    the action itself or its record's prefix (`contact` finds `contact.update`, `contact.tag`...)."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(
            or_(AuditEvent.action == action, AuditEvent.action.startswith(action + ".", autoescape=True))
        )
    return query
