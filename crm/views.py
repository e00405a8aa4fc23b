"""Saved views: a named set of contact filters (text, tag, owner, attributes, list) a team reuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database, UTCDateTime, new_id, utcnow
from core.errors import Conflict, NotFound


class ViewFilters(BaseModel):
    q: str | None = Field(default=None, max_length=200)
    tag: str | None = Field(default=None, max_length=50)
    owner: str | None = Field(default=None, max_length=200)
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute key -> value")
    list_id: str | None = Field(default=None, max_length=32)


class SavedView(Base):
    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_saved_views_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ViewStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, tenant_id: str, name: str, filters: ViewFilters) -> SavedView:
        with self._db.session() as session:
            if session.scalar(
                select(SavedView.id).where(SavedView.tenant_id == tenant_id, SavedView.name == name)
            ):
                raise Conflict(f"a view named {name!r} exists")
            view = SavedView(tenant_id=tenant_id, name=name, filters=filters.model_dump())
            session.add(view)
        return view

    def get(self, tenant_id: str, view_id: str) -> SavedView:
        with self._db.session() as session:
            view = session.scalar(
                select(SavedView).where(SavedView.id == view_id, SavedView.tenant_id == tenant_id)
            )
        if view is None:
            raise NotFound(f"view {view_id} not found")
        return view

    def all(self, tenant_id: str) -> list[SavedView]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(SavedView).where(SavedView.tenant_id == tenant_id).order_by(SavedView.name)
                )
            )

    def delete(self, tenant_id: str, view_id: str) -> None:
        self.get(tenant_id, view_id)
        with self._db.session() as session:
            session.execute(delete(SavedView).where(SavedView.id == view_id))
