"""Ticket tables and the rules every ticket follows: types, priorities, statuses and valid transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, new_id, utcnow

TicketType = Literal["bug_report", "feature_request", "billing", "refund", "general_support", "custom"]
Priority = Literal["urgent", "high", "medium", "low"]
Status = Literal["to_do", "in_progress", "on_hold", "reopened", "resolved"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "high", "medium", "low")

# Where a ticket may go from each status. Resolved tickets only reopen; nothing skips back to to_do
# once work has been paused or finished.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "to_do": ("in_progress", "on_hold", "resolved"),
    "in_progress": ("to_do", "on_hold", "resolved"),
    "on_hold": ("in_progress", "resolved"),
    "reopened": ("in_progress", "on_hold", "resolved"),
    "resolved": ("reopened",),
}


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("tenant_id", "number", name="uq_tickets_tenant_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # per tenant, what customers and staff quote: #1024
    type: Mapped[str] = mapped_column(String(30))
    custom_type: Mapped[str | None] = mapped_column(String(60), nullable=True)
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="to_do")
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(100), nullable=True)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))  # key:<id> | agent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    csat: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-5, from the customer
    csat_comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class TicketNote(Base):
    """Internal: for staff only, never shown to the customer."""

    __tablename__ = "ticket_notes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketSettingsRow(Base):
    """A tenant's SLA targets and working hours (JSON of crm.tickets.TicketSettings)."""

    __tablename__ = "ticket_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
