"""Channel accounts per tenant: public settings in the clear, secrets sealed at rest and never returned.

Each process keeps the channels and opened secrets it has used (webhooks look them up on every delivery).
A channel deleted in one process is dropped from every process's cache through the bus (core/bus.py), and
every cache is emptied after the bus may have missed events, so another process refuses it at once too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from channels.models import Channel
from core.bus import Bus
from core.crypto import SecretBox
from core.db import Database
from core.errors import NotFound

CHANGED_TOPIC = "channels.changed"  # on the bus: {"id"} of a channel deleted (or changed) in some process


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
        self, tenant_id: str, kind: str, name: str, config: dict[str, Any], secrets: dict[str, Any]
    ) -> Channel:
        channel = Channel(
            tenant_id=tenant_id, kind=kind, name=name, config=config, secrets=self._box.seal(secrets)
        )
        with self._db.session() as session:
            session.add(channel)
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

    def delete(self, tenant_id: str, channel_id: str) -> None:
        with self._db.session() as session:
            channel = session.get(Channel, channel_id)
            if channel is None or channel.tenant_id != tenant_id:
                raise NotFound(f"channel {channel_id} not found")
            session.delete(channel)
        self.forget(channel_id)
        self._bus.publish(CHANGED_TOPIC, {"id": channel_id})  # every other process forgets it too
