"""Events that could not be read, read again after a fix: by an admin (POST
/v1/channels/{id}/unparsed-events/{event_id}/retry, or .../retry for all of a channel's) or on the first
start of new code (`retry_outdated`, a job per channel).

An event is read again within its delivery, which is kept while any of its events is open
(channels/retention.py): a WhatsApp message's sender name, say, is in the change around it, not in the
event. If it now reads, what it brings is applied the way ingest applies a delivery, exactly once: its
message and event ids are claimed first (the channel's unique key: a second retry, concurrent or later,
claims nothing and stores nothing), and statuses only move forward. It is marked resolved in the same
transaction. One that still cannot be read stays open with the new reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import unparsed
from channels.base import Parsed
from channels.intake import claim
from channels.models import Channel, ChannelEvent, ChannelMessage, UnparsedEvent
from channels.processing import Applied, ChannelProcessor
from channels.store import ChannelStore
from core.db import Database, utcnow
from core.errors import NotFound, ParleyError
from core.jobs import JobQueue

log = logging.getLogger(__name__)
RETRY_KIND = "channels.unparsed_retry"
MAX_PER_CALL = 500  # deliveries read again by one call or one job (each is a transaction of its own)
GONE = "its delivery is no longer stored, so it cannot be read again"


@dataclass(frozen=True)
class Retried:
    resolved: int  # events now read and applied
    failing: int  # events that still cannot be read (their reason updated)


class UnparsedRetry:
    def __init__(
        self, db: Database, channels: ChannelStore, processor: ChannelProcessor, jobs: JobQueue
    ) -> None:
        self._db = db
        self._channels = channels
        self._processor = processor
        self._jobs = jobs
        jobs.register(RETRY_KIND, self.run_outdated)

    def retry(self, tenant_id: str, channel_id: str, event_id: str) -> UnparsedEvent:
        """Read one event again (with the others of its delivery); returns it as it now stands. One
        already resolved is returned as it is: retrying twice applies nothing twice."""
        channel = self._channels.get(channel_id, tenant_id)  # another tenant's channel is not found
        found = self._event(tenant_id, channel_id, event_id)
        if found.resolved_at is None:
            self._retry_delivery(channel, found.delivery_id)
        return self._event(tenant_id, channel_id, event_id)

    def retry_all(self, tenant_id: str, channel_id: str) -> Retried:
        """Read again every open event of the channel (up to MAX_PER_CALL deliveries' worth)."""
        channel = self._channels.get(channel_id, tenant_id)
        return self._retry_open(channel, outdated_only=False)

    def retry_outdated(self) -> int:
        """On start: queue a retry for each channel holding open events that older code read (see
        unparsed.parser_version); returns how many channels were queued."""
        with self._db.session() as session:
            channels = session.execute(
                select(UnparsedEvent.channel_id, UnparsedEvent.tenant_id)
                .where(UnparsedEvent.resolved_at.is_(None), _outdated())
                .distinct()
            ).all()
        for channel_id, tenant_id in channels:
            self._jobs.enqueue_once(
                RETRY_KIND,
                {"channel_id": channel_id},
                key=f"{RETRY_KIND}:{channel_id}",
                tenant_id=tenant_id,
            )
        return len(channels)

    def run_outdated(self, payload: dict[str, Any]) -> None:
        try:
            channel = self._channels.get(payload["channel_id"])
        except NotFound:
            return  # deleted since: its events went with it
        retried = self._retry_open(channel, outdated_only=True)
        if retried.resolved or retried.failing:
            log.info(
                "channel %s: %d unreadable events read after an upgrade, %d still unreadable",
                channel.id,
                retried.resolved,
                retried.failing,
            )

    # --- reading again --------------------------------------------------------------------------------
    def _event(self, tenant_id: str, channel_id: str, event_id: str) -> UnparsedEvent:
        with self._db.session() as session:
            found = session.scalar(
                select(UnparsedEvent).where(
                    UnparsedEvent.id == event_id,
                    UnparsedEvent.tenant_id == tenant_id,
                    UnparsedEvent.channel_id == channel_id,
                )
            )
        if found is None:
            raise NotFound(f"no unparsed event {event_id} on channel {channel_id}")
        return found

    def _retry_open(self, channel: Channel, *, outdated_only: bool) -> Retried:
        query = select(UnparsedEvent.delivery_id).where(
            UnparsedEvent.channel_id == channel.id, UnparsedEvent.resolved_at.is_(None)
        )
        if outdated_only:
            query = query.where(_outdated())
        with self._db.session() as session:
            deliveries = list(dict.fromkeys(session.scalars(query.order_by(UnparsedEvent.created_at))))
        resolved = failing = 0
        for delivery_id in deliveries[:MAX_PER_CALL]:
            done, left = self._retry_delivery(channel, delivery_id)
            resolved, failing = resolved + done, failing + left
        return Retried(resolved, failing)

    def _retry_delivery(self, channel: Channel, delivery_id: str) -> tuple[int, int]:
        """Read a delivery again and apply what its open events now bring; returns (resolved, failing)."""
        applied = Applied()
        with self._db.session() as session:
            # Locked (PostgreSQL): a concurrent retry of the same delivery waits, then finds them resolved.
            rows = session.scalars(
                select(UnparsedEvent)
                .where(
                    UnparsedEvent.channel_id == channel.id,
                    UnparsedEvent.delivery_id == delivery_id,
                    UnparsedEvent.resolved_at.is_(None),
                )
                .order_by(UnparsedEvent.id)
                .with_for_update()
            ).all()
            if not rows:
                return 0, 0
            failing, parsed = self._read_again(session, channel, delivery_id, rows)
            now = utcnow()
            for row in rows:
                row.retries, row.retried_at, row.parsed_by = row.retries + 1, now, unparsed.parser_version()
                if row.digest in failing:
                    row.error = failing[row.digest]
                else:
                    row.resolved_at = now
            resolved = sum(row.resolved_at is not None for row in rows)
            if parsed is not None and resolved:
                made = claim(
                    session.connection(),
                    channel,
                    delivery_id,
                    [m.external_id for m in parsed.inbound] + [e.external_id for e in parsed.events],
                )
                claimed = {
                    row.external_id: row
                    for row in session.scalars(select(ChannelMessage).where(ChannelMessage.id.in_(made)))
                }
                applied = self._processor.apply(session, channel, parsed, claimed)
                # An event the new code cannot read that the old one could: kept too, never dropped.
                unparsed.record(session, channel, delivery_id, parsed.unparsed)
        self._processor.announce(applied)
        return resolved, len(rows) - resolved

    def _read_again(
        self, session: Session, channel: Channel, delivery_id: str, rows: Sequence[UnparsedEvent]
    ) -> tuple[dict[str, str], Parsed | None]:
        """The reasons by digest of the events that still cannot be read, and the delivery as read now
        (None when it could not be read at all)."""
        delivery = session.get(ChannelEvent, delivery_id)
        if delivery is None:  # deleted before open events kept it (or by an erasure)
            return {row.digest: GONE for row in rows}, None
        try:
            parsed = self._processor.adapters[channel.kind].parse(delivery.body.encode())
        except Exception as exc:  # the whole delivery, read by the new code, is refused: all stay open
            reason = exc.message if isinstance(exc, ParleyError) else f"{type(exc).__name__}: {exc}"
            return {row.digest: reason[:1000] for row in rows}, None
        return {unparsed.digest(u.raw): u.error for u in parsed.unparsed}, parsed


def _outdated() -> Any:
    current = unparsed.parser_version()
    return UnparsedEvent.parsed_by.is_(None) | (UnparsedEvent.parsed_by != current)
