"""Handing the conversation to a person."""

from __future__ import annotations

from langchain_core.tools import tool

from tools.base import TurnRuntime


def _last_customer_text(runtime: TurnRuntime) -> str:
    state = runtime.state
    messages = state["messages"] if isinstance(state, dict) else getattr(state, "messages", [])
    return next((str(m.content) for m in reversed(messages) if m.type == "human"), "")


@tool(parse_docstring=True)
def handoff_to_human(reason: str, runtime: TurnRuntime, team: str | None = None) -> str:
    """Hand this conversation to a human colleague.

    Use when the customer asks for a person, complains, or needs something you cannot answer
    from the knowledge provided.

    Args:
        reason: Why a human is needed, in a few words (e.g. "asked for a person", "complaint").
        team: A team to hand to, only when the customer's need clearly belongs to one of the business's
            teams; otherwise leave it out and the business's routing rules choose.
    """
    ctx = runtime.context
    services = ctx.services
    if team is not None:
        known = services.teams(ctx.tenant_id)
        if team not in known:
            return (
                f"error: there is no team {team!r} (teams: {sorted(known)}). Nothing was changed; "
                "leave team out."
            )
    # The routing rules read the customer's words, not just the model's reason.
    team = team or services.team_for(ctx.tenant_id, reason, ctx.contact_id, _last_customer_text(runtime))
    created = services.inbox.hand_off(ctx.tenant_id, ctx.conversation_id, reason, team)
    outcome = "handed off" if created else "already waiting for a human"
    return f"{outcome}; team: {team or 'any'}; reason: {reason}"
