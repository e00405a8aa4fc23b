"""What every tool shares: the turn it runs in (read from ToolRuntime's context, which the model never sees),
the services it acts through, and the error text a refused call goes back to the model as."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from langgraph.prebuilt import ToolRuntime

from core.errors import ParleyError
from crm.broadcasts.store import BroadcastStore
from crm.services import CrmServices
from tools.ports import Conversations


class KnowledgeSearch(Protocol):
    def search(self, tenant_id: str, query: str, k: int = 5) -> list[Any]: ...


class TeamChooser(Protocol):
    def __call__(self, tenant_id: str, reason: str, contact_id: str, text: str) -> str: ...


class Teams(Protocol):
    def __call__(self, tenant_id: str) -> set[str]: ...


class ToolServices:
    """What the tools act through; built once with the agent and handed to every turn in its context.

    A plain class, not a dataclass: a tool call model_dumps its ToolRuntime, and pydantic walks into
    dataclasses (here the whole CRM) but passes other objects through untouched."""

    def __init__(
        self,
        *,
        inbox: Conversations,
        knowledge: KnowledgeSearch,
        team_for: TeamChooser,
        crm: CrmServices,
        teams: Teams,
        broadcasts: BroadcastStore | None = None,
    ) -> None:
        self.inbox = inbox
        self.knowledge = knowledge
        self.team_for = team_for
        self.crm = crm
        self.teams = teams
        self.broadcasts = broadcasts  # None where follow-up campaigns are not wired (the tool says so)


@runtime_checkable
class TurnContext(Protocol):
    """What a tool may know of the turn (agent.context.Context provides it). Runtime-checkable only because
    pydantic builds an isinstance check for ToolRuntime's fields; nothing calls it."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def contact_id(self) -> str: ...
    @property
    def services(self) -> ToolServices: ...


TurnRuntime = ToolRuntime[TurnContext, Any]
"""A tool's `runtime` parameter: injected by the ToolNode, left out of the schema the model reads."""


def correctable(exc: ParleyError) -> str:
    """A refused call goes back to the model as text it can act on (ask again, fix the argument)."""
    return f"error: {exc.message}. Nothing was changed; correct the arguments or ask the customer."
