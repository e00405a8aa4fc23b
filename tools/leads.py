"""Scoring this customer as a sales lead (a hot one goes to the sales team)."""

from __future__ import annotations

from langchain_core.tools import tool

from core.audit import AGENT
from core.errors import ParleyError
from tools.base import TurnRuntime, correctable


@tool(parse_docstring=True)
def score_lead(runtime: TurnRuntime) -> str:
    """Score this customer as a sales lead from the whole conversation (budget, timeline, need,
    authority, engagement) and their record. A hot lead is handed to the sales team automatically.
    """
    ctx = runtime.context
    services = ctx.services
    try:
        result = services.crm.leads.score(ctx.tenant_id, AGENT, ctx.contact_id)
    except ParleyError as exc:
        return correctable(exc)
    routed = ""
    if result.hot:
        team = services.crm.leads.settings(ctx.tenant_id).sales_team
        reason = f"hot lead (score {result.score})"
        if services.inbox.hand_off(ctx.tenant_id, ctx.conversation_id, reason, team):
            routed = f"; routed to the {team} team"
    heat = "hot" if result.hot else "not hot yet"
    return f"lead score {result.score}/100 ({heat}{routed}); reasons: {'; '.join(result.reasons) or 'none'}"
