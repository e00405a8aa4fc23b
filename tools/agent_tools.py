"""The tools the agent may call. Tenant, conversation and contact are injected from the runtime
context (ToolRuntime, an injected argument the model never sees), never chosen by the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from crm.inbox import InboxStore


class TurnContext(Protocol):
    """What a tool may know of the turn (agent.context.Context provides it)."""

    tenant_id: str
    conversation_id: str
    contact_id: str


class KnowledgeSearch(Protocol):
    def search(self, tenant_id: str, query: str, k: int = 5) -> list[Any]: ...


class TeamChooser(Protocol):
    def __call__(self, tenant_id: str, reason: str) -> str | None: ...


@dataclass
class ToolDeps:
    inbox: InboxStore
    knowledge: KnowledgeSearch
    team_for: TeamChooser


def make_tools(deps: ToolDeps) -> list[BaseTool]:
    @tool(parse_docstring=True)
    def handoff_to_human(reason: str, runtime: ToolRuntime) -> str:
        """Hand this conversation to a human colleague.

        Use when the customer asks for a person, complains, or needs something you cannot answer
        from the knowledge provided.

        Args:
            reason: Why a human is needed, in a few words (e.g. "asked for a person", "complaint").
        """
        ctx = cast(TurnContext, runtime.context)
        team = deps.team_for(ctx.tenant_id, reason)
        created = deps.inbox.hand_off(ctx.tenant_id, ctx.conversation_id, reason, team)
        state = "handed off" if created else "already waiting for a human"
        return f"{state}; team: {team or 'any'}; reason: {reason}"

    @tool(parse_docstring=True)
    def search_knowledge(query: str, runtime: ToolRuntime) -> str:
        """Search the business's knowledge again, for a follow-up detail not in the passages you have.

        Args:
            query: What to look up, as a short question or keywords.
        """
        ctx = cast(TurnContext, runtime.context)
        hits = deps.knowledge.search(ctx.tenant_id, query, 3)
        if not hits:
            return "no results"
        return "\n".join(f"[{i + 1}] ({h.source_name}) {h.text}" for i, h in enumerate(hits))

    return [handoff_to_human, search_knowledge]
