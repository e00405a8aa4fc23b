"""Events of signed deliveries that could not be read: recorded when their delivery is ingested, listed
for the tenant's admins (GET /v1/channels/{id}/unparsed-events).

A platform's delivery is acknowledged once it is verified and stored; an event in it of a shape we did
not foresee (channels/base.py's Events) is kept here raw with the reason, so nothing a customer sent
vanishes silently, and an admin can see what to fix.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Unparsed
from channels.models import Channel, UnparsedEvent
from core.bulk_insert import insert_rows
from core.db import Database, new_id, table_of, utcnow

_TABLE = table_of(UnparsedEvent)
_COLUMNS = ("id", "tenant_id", "channel_id", "delivery_id", "digest", "raw", "error", "created_at")


def record(session: Session, channel: Channel, delivery_id: str, events: list[Unparsed]) -> None:
    """In the ingest's transaction; a redelivered event (same channel, same raw text) is kept once."""
    if not events:
        return
    now = utcnow()
    rows = [
        (new_id(), channel.tenant_id, channel.id, delivery_id, _digest(e.raw), e.raw, e.error, now)
        for e in events
    ]
    insert_rows(session.connection(), _TABLE, _COLUMNS, rows, ignore_conflicts=True)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class UnparsedEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self, tenant_id: str, channel_id: str, limit: int = 100) -> list[UnparsedEvent]:
        """The channel's newest first (the caller checked the channel is the tenant's)."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(UnparsedEvent)
                    .where(UnparsedEvent.tenant_id == tenant_id, UnparsedEvent.channel_id == channel_id)
                    .order_by(UnparsedEvent.created_at.desc(), UnparsedEvent.id.desc())
                    .limit(limit)
                )
            )
