"""Channel accounts per tenant: public settings in the clear, secrets sealed at rest and never returned.

Connecting and deleting a channel are audited (channel.create, channel.delete) with its public settings,
never its secrets. `activity` tells whether deliveries arrive, from the stored deliveries.

Each process keeps the channels and opened secrets it has used (webhooks look them up on every delivery).
A channel deleted in one process is dropped from every process's cache through the bus (core/bus.py), and
every cache is emptied after the bus may have missed events, so another process refuses it at once too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from channels.models import Channel, ChannelEvent, UnparsedEvent
from core.audit import SYSTEM, AuditLog
from core.bus import Bus
from core.crypto import SecretBox
from core.db import Database
from core.errors import NotFound

CHANGED_TOPIC = "channels.changed"  # on the bus: {"id"} of a channel deleted (or changed) in some process


@dataclass(frozen=True)
class Activity:
    """What a channel's platform has delivered, from the deliveries still stored."""

    # The latest delivery's arrival. The retention sweep deletes ingested deliveries after
    # PARLEY_RETENTION_DELIVERIES_DAYS, so None is "none yet" for a channel younger than that, else "none
    # within that time".
    last_delivery_at: datetime | None = None
    waiting_deliveries: int = 0  # stored, not yet ingested
    open_unparsed_events: int = 0  # events that could not be read, still flagged (channels/unparsed.py)


def _audited(channel: Channel) -> dict[str, Any]:
    """What the audit log keeps of a channel: never its secrets."""
    return {"kind": channel.kind, "name": channel.name, "config": channel.config}


class ChannelStore:
    def __init__(self, db: Database, box: SecretBox, bus: Bus) -> None:
        self._db = db
        self._box = box
        self._bus = bus
        # Webhooks look a channel and its secrets up on every delivery: keep them (dropped on delete).
        self._channels: dict[str, Channel] = {}
        self._secrets: dict[str, dict[str, Any]] = {}
        self._forget_listeners: list[Callable[[Channel], None]] = []
        bus.subscribe(CHANGED_TOPIC, lambda payload: self.forget(str(payload["id"])))
        bus.on_gap(self.forget_all)

    def on_forget(self, listener: Callable[[Channel], None]) -> None:
        """`listener(channel)` when a cached channel is dropped: caches kept beside it (an access token)
        go with it."""
        self._forget_listeners.append(listener)

    def forget(self, channel_id: str) -> None:
        """Drop a channel from this process's cache (the next use reads the database)."""
        channel = self._channels.pop(channel_id, None)
        self._secrets.pop(channel_id, None)
        if channel is not None:
            for listener in self._forget_listeners:
                listener(channel)

    def forget_all(self) -> None:
        for channel_id in list(self._channels):
            self.forget(channel_id)
        self._secrets.clear()

    def create(
        self,
        tenant_id: str,
        kind: str,
        name: str,
        config: dict[str, Any],
        secrets: dict[str, Any],
        *,
        actor: str = SYSTEM,
    ) -> Channel:
        """Store a channel its caller validated (channels/routes.py's `connect`), audited as `actor`."""
        channel = Channel(
            tenant_id=tenant_id, kind=kind, name=name, config=config, secrets=self._box.seal(secrets)
        )
        with self._db.session() as session:
            session.add(channel)
            session.flush()  # its id and created_at
            AuditLog.record(
                session, tenant_id, actor, "channel.create", "channel", channel.id, after=_audited(channel)
            )
        return channel

    def get(self, channel_id: str, tenant_id: str | None = None) -> Channel:
        """By id; with a tenant, only that tenant's channel (webhooks look up without one)."""
        channel = self._channels.get(channel_id)
        if channel is None:
            with self._db.session() as session:
                channel = session.get(Channel, channel_id)
            if channel is not None:
                self._channels[channel_id] = channel
        if channel is None or (tenant_id is not None and channel.tenant_id != tenant_id):
            raise NotFound(f"channel {channel_id} not found")
        return channel

    def cached(self, channel_id: str) -> tuple[Channel, dict[str, Any]] | None:
        """A channel and its opened secrets if this process has seen them (no database, no decryption)."""
        channel = self._channels.get(channel_id)
        if channel is None or channel_id not in self._secrets:
            return None
        return channel, self._secrets[channel_id]

    def secrets(self, channel: Channel) -> dict[str, Any]:
        if channel.id not in self._secrets:
            self._secrets[channel.id] = self._box.open(channel.secrets)
        return self._secrets[channel.id]

    def list(self, tenant_id: str) -> list[Channel]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(Channel).where(Channel.tenant_id == tenant_id).order_by(Channel.created_at)
                )
            )

    def activity(self, tenant_id: str, channel_ids: Iterable[str]) -> dict[str, Activity]:
        """{id: Activity} for these channels of the tenant. Each question walks the deliveries' index
        (channel, processed_at, received_at): the waiting ones are few, and of the ingested ones only the
        last ingested is read (ingest follows arrival order, so it arrived last), never all of them."""
        ids = list(channel_ids)
        if not ids:
            return {}
        found: dict[str, Activity] = {}
        with self._db.session() as session:
            open_events = dict(
                session.execute(
                    select(UnparsedEvent.channel_id, func.count())
                    .where(
                        UnparsedEvent.tenant_id == tenant_id,
                        UnparsedEvent.channel_id.in_(ids),
                        UnparsedEvent.resolved_at.is_(None),
                    )
                    .group_by(UnparsedEvent.channel_id)
                ).all()
            )
            for channel_id in ids:
                waiting, last_waiting = session.execute(
                    select(func.count(), func.max(ChannelEvent.received_at)).where(
                        ChannelEvent.channel_id == channel_id, ChannelEvent.processed_at.is_(None)
                    )
                ).one()
                last_ingested = session.scalar(
                    select(ChannelEvent.received_at)
                    .where(ChannelEvent.channel_id == channel_id, ChannelEvent.processed_at.is_not(None))
                    .order_by(ChannelEvent.processed_at.desc(), ChannelEvent.received_at.desc())
                    .limit(1)
                )
                arrivals = [at for at in (last_waiting, last_ingested) if at is not None]
                found[channel_id] = Activity(
                    last_delivery_at=max(arrivals) if arrivals else None,
                    waiting_deliveries=int(waiting),
                    open_unparsed_events=int(open_events.get(channel_id, 0)),
                )
        return found

    def delete(self, tenant_id: str, channel_id: str, *, actor: str = SYSTEM) -> None:
        with self._db.session() as session:
            channel = session.get(Channel, channel_id)
            if channel is None or channel.tenant_id != tenant_id:
                raise NotFound(f"channel {channel_id} not found")
            AuditLog.record(
                session, tenant_id, actor, "channel.delete", "channel", channel.id, before=_audited(channel)
            )
            session.delete(channel)
        self.forget(channel_id)
        self._bus.publish(CHANGED_TOPIC, {"id": channel_id})  # every other process forgets it too
