"""Follow-up campaigns (broadcasts the business opened to the agent): enrolling this customer."""

from __future__ import annotations

from langchain_core.tools import tool

from core.audit import AGENT
from core.errors import ParleyError
from tools.base import TurnRuntime, correctable


@tool(parse_docstring=True)
def schedule_follow_up(campaign: str, runtime: TurnRuntime) -> str:
    """Enrol this customer in one of the business's follow-up campaigns (e.g. "back in stock",
    "abandoned cart"), which messages them later on this channel.

    Only when the customer asked for it or agreed to it, and only campaigns the business opened to you.

    Args:
        campaign: The campaign's exact name.
    """
    ctx = runtime.context
    broadcasts = ctx.services.broadcasts
    if broadcasts is None:
        return "error: follow-up campaigns are not available here."
    try:
        broadcast, due = broadcasts.recipients.enrol(ctx.tenant_id, AGENT, campaign, ctx.contact_id)
    except ParleyError as exc:
        open_ = broadcasts.recipients.open_campaigns(ctx.tenant_id)
        return correctable(exc) + f" Campaigns open to you: {open_ or 'none'}."
    return f"enrolled in {broadcast.name!r}; the message goes out at {due.isoformat(timespec='minutes')}"
