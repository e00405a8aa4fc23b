"""The live-chat wire format of one message (history, replies, and a person's replies pushed later)."""

from __future__ import annotations

from typing import Any

from inbox.models import Message


def message_frame(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message.id,
        "role": message.role,  # customer | agent | human (a person in the inbox)
        "text": message.text,
        "handoff": bool(message.meta.get("handoff", False)),
        "created_at": message.created_at.isoformat(),
    }
