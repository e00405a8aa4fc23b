"""Live updates for staff: every connected inbox client of a tenant hears replies and status changes, in
whichever process its socket is (core/fanout.py over the bus).

An update is published as a reference (inbox/events.py): each process holding sockets of the tenant loads
the message, note or conversation it names and sends the event it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import WebSocket

from core.bus import Bus
from core.fanout import SocketFanout

TOPIC = "inbox.staff"
# (tenant id, reference) -> the event staff clients are sent, or None; run in a thread
Expand = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class StaffHub:
    def __init__(self, bus: Bus, expand: Expand) -> None:
        self._fanout = SocketFanout(
            bus, TOPIC, key="tenant_id", load=lambda ref: expand(str(ref["tenant_id"]), ref)
        )

    def add(self, tenant_id: str, ws: WebSocket) -> None:
        self._fanout.add(tenant_id, ws)

    def remove(self, tenant_id: str, ws: WebSocket) -> None:
        self._fanout.remove(tenant_id, ws)

    def publish(self, tenant_id: str, reference: dict[str, Any]) -> None:
        """From any thread: the tenant's staff clients in every process get the event `reference` names."""
        self._fanout.publish({**reference, "tenant_id": tenant_id})
