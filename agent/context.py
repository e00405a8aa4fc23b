"""Per-turn runtime context: who and where. Nodes and tools read it; the model never writes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    tenant_id: str
    """The business whose knowledge, settings and records this turn may touch."""
    conversation_id: str
    """Also the checkpointer's thread id: conversation memory is keyed by it."""
    contact_id: str
    """The customer in the conversation."""
    channel: str = "playground"
    """Where the message came from (playground, livechat, whatsapp, ...)."""
