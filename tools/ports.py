"""What the agent and its tools need from the conversation's owner (inbox/store.py), as a Protocol: the
agent writes a conversation's handoff and answer streak through it and imports nothing of the inbox."""

from __future__ import annotations

from typing import Protocol


class Conversations(Protocol):
    def hand_off(self, tenant_id: str, conversation_id: str, reason: str, team: str | None) -> bool:
        """Ask for a person; False when a person already has it or it is already asked for."""
        ...

    def record_outcome(self, tenant_id: str, conversation_id: str, *, answered: bool) -> int:
        """Count failed answers in a row (reset by a grounded answer); the current streak."""
        ...
