"""Per-turn runtime context: who and where. Nodes and tools read it; the model never writes it."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.settings import AgentSettings
from tools.base import ToolServices


@dataclass(frozen=True)
class Context:
    tenant_id: str
    """The business whose knowledge, settings and records this turn may touch."""
    conversation_id: str
    """Also the checkpointer's thread id: conversation memory is keyed by it."""
    contact_id: str
    """The customer in the conversation."""
    services: ToolServices = field(repr=False, compare=False)
    """What the tools act through (inbox, CRM, knowledge search, campaigns): the agent's, the same every turn."""
    channel: str = "playground"
    """Where the message came from (playground, livechat, whatsapp, ...)."""
    settings: AgentSettings = field(default_factory=AgentSettings)
    """The tenant's agent settings, read once per turn (every node consults them)."""
