"""Events of signed deliveries that could not be read: recorded when their delivery is ingested, listed
for the tenant's admins (GET /v1/channels/{id}/unparsed-events).

A platform's delivery is acknowledged once it is verified and stored; an event in it of a shape we did
not foresee (channels/base.py's Events) is kept here raw with the reason, so nothing a customer sent
vanishes silently, and an admin can see what to fix. After a fix, the admin retries them (or they are
retried on the first start of the new code): channels/unparsed_retry.py.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Unparsed
from channels.models import Channel, UnparsedEvent
from core.bulk_insert import insert_rows
from core.db import Database, new_id, table_of, utcnow

_TABLE = table_of(UnparsedEvent)
_COLUMNS = (
    "id",
    "tenant_id",
    "channel_id",
    "delivery_id",
    "digest",
    "raw",
    "error",
    "created_at",
    "parsed_by",
    "retries",
)
State = Literal["open", "resolved", "all"]


@lru_cache(maxsize=1)
def parser_version() -> str:
    """A digest of the channels package's code: what read an event. When it changes (an upgrade, a fix),
    the open events were read by older code and are worth reading again (channels/unparsed_retry.py).
    Any change in the package counts, not only a parser's: a needless retry only reads an event again."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def record(session: Session, channel: Channel, delivery_id: str, events: list[Unparsed]) -> None:
    """In the ingest's transaction; a redelivered event (same channel, same raw text) is kept once."""
    if not events:
        return
    now = utcnow()
    rows = [
        (
            new_id(),
            channel.tenant_id,
            channel.id,
            delivery_id,
            digest(e.raw),
            e.raw,
            e.error,
            now,
            parser_version(),
            0,
        )
        for e in events
    ]
    insert_rows(session.connection(), _TABLE, _COLUMNS, rows, ignore_conflicts=True)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class UnparsedEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(
        self, tenant_id: str, channel_id: str, limit: int = 100, state: State = "open"
    ) -> list[UnparsedEvent]:
        """The channel's newest first (the caller checked the channel is the tenant's); `state`: the ones
        still flagged (open), the ones a retry resolved, or all."""
        query = select(UnparsedEvent).where(
            UnparsedEvent.tenant_id == tenant_id, UnparsedEvent.channel_id == channel_id
        )
        if state == "open":
            query = query.where(UnparsedEvent.resolved_at.is_(None))
        elif state == "resolved":
            query = query.where(UnparsedEvent.resolved_at.is_not(None))
        with self._db.session() as session:
            return list(
                session.scalars(
                    query.order_by(UnparsedEvent.created_at.desc(), UnparsedEvent.id.desc()).limit(limit)
                )
            )
