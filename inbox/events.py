"""What staff inbox clients are sent, and the small references that name it on the bus.

A reference carries ids (and a conversation's status, a word), never a text: the bus carries at most 8000
bytes and a message may be longer. `StaffEvents.expand` turns a reference back into the event, in the
process that holds the sockets.
"""

from __future__ import annotations

from typing import Any

from core.errors import NotFound
from inbox.models import Conversation, Message
from inbox.store import InboxStore


def message_event(conversation_id: str, message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "conversation_id": conversation_id,
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "author": message.meta.get("author"),
        "created_at": message.created_at.isoformat(),
    }


def status_event(conversation: Conversation) -> dict[str, Any]:
    return {
        "type": "status",
        "conversation_id": conversation.id,
        "status": conversation.status,
        "assignee": conversation.assignee,
        "team": conversation.handoff_team,
    }


def message_ref(conversation_id: str, message_id: str, status: str | None = None) -> dict[str, Any]:
    ref = {"type": "message", "conversation_id": conversation_id, "id": message_id}
    return ref if status is None else {**ref, "status": status}


def status_ref(conversation_id: str) -> dict[str, Any]:
    return {"type": "status", "conversation_id": conversation_id}


def note_ref(conversation_id: str, note_id: str) -> dict[str, Any]:
    return {"type": "note", "conversation_id": conversation_id, "id": note_id}


class StaffEvents:
    def __init__(self, inbox: InboxStore) -> None:
        self._inbox = inbox

    def expand(self, tenant_id: str, ref: dict[str, Any]) -> dict[str, Any] | None:
        """The event a reference names, as it stands now; None when its row is gone."""
        conversation_id = str(ref["conversation_id"])
        try:
            if ref["type"] == "message":
                event = message_event(conversation_id, self._inbox.message(tenant_id, str(ref["id"])))
                return {**event, "status": ref["status"]} if "status" in ref else event
            if ref["type"] == "status":
                # The conversation's state when loaded: of several quick moves each client ends on the last.
                return status_event(self._inbox.get(tenant_id, conversation_id))
            if ref["type"] == "note":
                notes = self._inbox.handoff.notes(tenant_id, conversation_id)
                note = next((n for n in notes if n.id == ref["id"]), None)
                if note is None:
                    return None
                return {"type": "note", "conversation_id": conversation_id, "id": note.id, "text": note.text}
        except NotFound:
            return None
        raise ValueError(f"no staff event of type {ref['type']!r}")
