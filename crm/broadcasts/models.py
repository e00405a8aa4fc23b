"""Broadcast tables and the shapes of their audience and content.

A broadcast's recipients are rows of their own, each with its state, so sending is a durable job: a crash
or a restart resumes from the rows and never sends anyone the message twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, new_id, utcnow
from crm.lists import Condition

Status = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]
# A recipient: pending (waiting for its turn or a retry), sending (handed to the platform, result not yet
# recorded), then sent / delivered / read (platform statuses), failed, skipped (a channel rule or missing
# data), cancelled, or uncertain (the sender stopped while sending; never retried, to avoid a duplicate).
RecipientStatus = Literal[
    "pending", "sending", "sent", "delivered", "read", "failed", "skipped", "cancelled", "uncertain"
]
SEND_KIND = "broadcasts.send"  # the job that sends a broadcast (crm/broadcasts/sender.py)
# A recipient's row id goes with its message as the platform's echoed tag (channels/broadcast_replies.py).
TAG_PREFIX = "broadcast:"
OPEN_TO_AGENT = ("scheduled", "sending", "sent")  # an agent_enrol campaign takes enrolments in these


def send_key(broadcast_id: str) -> str:
    """One send job per broadcast waits or runs at a time."""
    return f"{SEND_KIND}:{broadcast_id}"


class Audience(BaseModel):
    """Members of any of the lists (once each), narrowed by every condition; no lists = all contacts."""

    model_config = ConfigDict(extra="forbid")

    lists: list[str] = Field(default_factory=list, max_length=20, description="contact list ids")
    conditions: list[Condition] = Field(default_factory=list, max_length=20)

    @property
    def empty(self) -> bool:
        """Neither lists nor conditions: the broadcast has no audience (only contacts the agent enrols)."""
        return not self.lists and not self.conditions


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512, description="an approved WhatsApp template")
    language: str = Field(default="en", min_length=2, max_length=15)
    variables: list[str] = Field(
        default_factory=list, max_length=20, description='body parameters, e.g. "{{first_name|there}}"'
    )


class Media(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["image", "video", "document", "audio"]
    link: str = Field(pattern=r"^https?://", max_length=2000)


class Content(BaseModel):
    """What is sent: free-form text (and media) where the channel's window allows it, an approved
    template elsewhere (WhatsApp). Both may be given: contacts inside their window get the text."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=4096)
    media: Media | None = None
    template: Template | None = None


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # None = on publish
    timezone: Mapped[str] = mapped_column(String(60))  # the zone send_at was given in
    # A campaign the agent may enrol the current contact in (schedule_follow_up), after a delay.
    agent_enrol: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_minutes: Mapped[int] = mapped_column(Integer, default=0)
    audience_ready: Mapped[bool] = mapped_column(Boolean, default=False)  # recipient rows written
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Recipient(Base):
    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id", name="uq_broadcast_recipients_contact"),
        Index("ix_broadcast_recipients_due", "broadcast_id", "status", "due_at"),
        Index("ix_broadcast_recipients_external", "channel_id", "external_id"),
        Index("ix_broadcast_recipients_address", "channel_id", "address"),
        Index("ix_broadcast_recipients_contact", "contact_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the platform's id for them
    status: Mapped[str] = mapped_column(String(20), default="pending")
    route: Mapped[str | None] = mapped_column(String(20), nullable=True)  # text | media | template
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
