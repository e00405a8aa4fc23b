"""Channel tables: a tenant's channel accounts, raw webhook deliveries, and per-message delivery records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, new_id, utcnow


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # public settings
    secrets: Mapped[str] = mapped_column(Text)  # Fernet-sealed JSON, never returned by the API
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelEvent(Base):
    """A webhook delivery exactly as received (after its signature was verified)."""

    __tablename__ = "channel_events"
    # The ingest run reads the oldest waiting deliveries in this order (migration 0017).
    __table_args__ = (
        Index("ix_channel_events_pending_order", "channel_id", "processed_at", "received_at", "id"),
        Index("ix_channel_events_received_at", "received_at"),  # the retention sweep (migration 0022)
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # once ingested


class ChannelMessage(Base):
    """One message on a channel: inbound (deduplicated by the platform's id) or outbound (with its status)."""

    __tablename__ = "channel_messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "direction", "external_id", name="uq_channel_messages_external"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    message_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the inbox message
    event_id: Mapped[str | None] = mapped_column(
        String(32), nullable=True, index=True
    )  # inbound: its delivery
    direction: Mapped[str] = mapped_column(String(10))  # in | out
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # received | pending | sent | delivered | read | failed
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelContactState(Base):
    """A contact's state on a channel (channels/channel_state.py): one row per contact and channel, holding
    the latest state the platform reported and when the platform said it. Deleting the channel or the
    contact deletes it; erasing the contact does too (channels/privacy.py)."""

    __tablename__ = "channel_contact_states"
    __table_args__ = (UniqueConstraint("channel_id", "contact_id", name="uq_channel_contact_states_contact"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # Indexed for erasure and for the cascade when a contact is deleted.
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    # The conversation the last change was recorded in (no foreign key: as in channel_messages).
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    state: Mapped[str] = mapped_column(String(20))  # subscribed | unsubscribed | joined | left | started
    # The platform's time for the state: a change reported earlier than this one is not applied.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UnparsedEvent(Base):
    """One event of a signed delivery that could not be read, kept raw with the reason for an admin to
    see (the events beside it were stored as usual). A redelivery of the same event adds no second row."""

    __tablename__ = "channel_unparsed_events"
    __table_args__ = (
        UniqueConstraint("channel_id", "digest", name="uq_channel_unparsed_events_digest"),
        Index("ix_channel_unparsed_events_tenant", "tenant_id", "channel_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(32))  # its channel_events row
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of raw
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Retried after a fix (channels/unparsed_retry.py): read by the code of `parsed_by` (the adapter's
    # source digest, channels/unparsed.py's parser_version), last tried at `retried_at`; `resolved_at` once
    # it was read and its messages stored. An open one keeps its delivery from the retention sweep.
    parsed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SignedNonce(Base):
    """A (timestamp, nonce) pair a platform signed without the body (WeChat), with the body it came with:
    the same pair with another body is a replay. Rows older than the accepted window are deleted."""

    __tablename__ = "channel_signed_nonces"

    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    signed_at: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # its timestamp
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the body


class SendBudget(Base):
    """One send-rate budget (a WhatsApp number, a channel account) shared by every process that sends
    through it: the time its next send may go out (channels/send_budget.py)."""

    __tablename__ = "send_budgets"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. whatsapp:<phone number id>
    # Seconds since the epoch, on the database's clock on PostgreSQL (processes on several machines
    # agree on it), on this machine's on SQLite.
    next_free: Mapped[float] = mapped_column(Double, default=0.0)
