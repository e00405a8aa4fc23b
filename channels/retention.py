"""Retention of raw webhook deliveries (channel_events), swept by core/retention.py.

A delivery is kept raw until it is ingested (`processed_at` set): until then it is work to do. After
that its body is needed by nothing: what it brought is in the inbox, and the exactly-once guarantee
lives elsewhere, in the message ids each delivery claimed (channel_messages, never deleted here) and
WeChat's signed nonces (channels/replay.py, pruned on their own window). An unreadable event keeps its
own raw copy (channel_unparsed_events) for the admin, so it survives its delivery's deletion; but while
one is open (not yet read after a fix) its delivery is kept, since it is read again within it
(channels/unparsed_retry.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from channels.models import ChannelEvent, UnparsedEvent
from core.db import Database, table_of, utcnow
from core.retention import Sweep, delete_in_batches


def ingested_deliveries(db: Database, older_than: timedelta) -> Sweep:
    def sweep() -> int:
        cutoff = utcnow() - older_than
        still_open = select(UnparsedEvent.delivery_id).where(UnparsedEvent.resolved_at.is_(None))
        ids = select(ChannelEvent.id).where(
            ChannelEvent.received_at < cutoff,
            ChannelEvent.processed_at.is_not(None),
            ChannelEvent.id.not_in(still_open),
        )
        return delete_in_batches(db, table_of(ChannelEvent), ids)

    return sweep
