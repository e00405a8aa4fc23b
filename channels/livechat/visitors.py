"""Open live-chat sockets by conversation, so a person's reply reaches the visitor at once, in whichever
process the visitor's socket is (core/fanout.py over the bus): the reply is published by id and the
process holding the socket loads it."""

from __future__ import annotations

from typing import Any

from fastapi import WebSocket

from channels.livechat.frames import message_frame
from core.bus import Bus
from core.fanout import SocketFanout
from inbox.store import InboxStore

TOPIC = "livechat.visitor"


class VisitorSockets:
    def __init__(self, bus: Bus, inbox: InboxStore) -> None:
        self._inbox = inbox
        self._fanout = SocketFanout(bus, TOPIC, key="conversation_id", load=self._frame)

    def add(self, conversation_id: str, ws: WebSocket) -> None:
        self._fanout.add(conversation_id, ws)

    def remove(self, conversation_id: str, ws: WebSocket) -> None:
        self._fanout.remove(conversation_id, ws)

    def push(self, tenant_id: str, conversation_id: str, message_id: str) -> None:
        """From any thread: the message goes to the conversation's open sockets in every process."""
        self._fanout.publish({"tenant_id": tenant_id, "conversation_id": conversation_id, "id": message_id})

    def _frame(self, ref: dict[str, Any]) -> dict[str, Any]:
        return message_frame(self._inbox.message(str(ref["tenant_id"]), str(ref["id"])))
