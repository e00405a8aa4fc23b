"""Channel accounts per tenant: public settings in the clear, secrets sealed at rest and never returned."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from channels.models import Channel
from core.crypto import SecretBox
from core.db import Database
from core.errors import NotFound


class ChannelStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        # Webhooks look a channel and its secrets up on every delivery: keep them (dropped on delete).
        self._channels: dict[str, Channel] = {}
        self._secrets: dict[str, dict[str, Any]] = {}

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
        self._channels.pop(channel_id, None)
        self._secrets.pop(channel_id, None)
