"""Live updates for staff: every connected inbox client of a tenant hears replies and status changes.

In-process (one set of sockets per tenant). With several server processes each only knows its own
sockets; a shared pub/sub (PostgreSQL LISTEN/NOTIFY or Redis) would carry events between them.
"""

from __future__ import annotations

from typing import Any

from fastapi import WebSocket


class StaffHub:
    def __init__(self) -> None:
        self._sockets: dict[str, set[WebSocket]] = {}

    def add(self, tenant_id: str, ws: WebSocket) -> None:
        self._sockets.setdefault(tenant_id, set()).add(ws)

    def remove(self, tenant_id: str, ws: WebSocket) -> None:
        sockets = self._sockets.get(tenant_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[tenant_id]

    async def publish(self, tenant_id: str, event: dict[str, Any]) -> None:
        for ws in list(self._sockets.get(tenant_id, ())):
            try:
                await ws.send_json(event)
            except Exception:  # a client gone mid-send: it reloads the inbox when it reconnects
                self.remove(tenant_id, ws)
