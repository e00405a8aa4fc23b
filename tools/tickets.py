"""Support tickets for this customer: opening one, and changing one of theirs."""

from __future__ import annotations

from langchain_core.tools import tool

from core.audit import AGENT
from core.errors import ParleyError
from crm.ticket_models import Priority, TicketType
from tools.base import TurnRuntime, correctable


@tool(parse_docstring=True)
def create_ticket(type: TicketType, priority: Priority, summary: str, runtime: TurnRuntime) -> str:
    """Open a support ticket for this customer, for a problem a colleague must resolve.

    Use for refunds, billing problems, faults and requests you cannot complete in the chat. Tell the
    customer the ticket number from the result.

    Args:
        type: One of bug_report, feature_request, billing, refund, general_support.
        priority: urgent, high, medium or low (money lost or a broken order is high).
        summary: One line describing the problem in the customer's words.
    """
    ctx = runtime.context
    if not summary.strip():
        return "error: summary is empty. Nothing was created; describe the problem in one line."
    fields = {
        "type": type,
        "priority": priority,
        "subject": summary.strip()[:300],
        "conversation_id": ctx.conversation_id,
        "contact_id": ctx.contact_id,
    }
    try:
        ticket = ctx.services.crm.tickets.create(ctx.tenant_id, AGENT, fields)
    except ParleyError as exc:
        return correctable(exc)
    return f"created ticket #{ticket.number} ({ticket.type}, {ticket.priority} priority)"


@tool(parse_docstring=True)
def update_ticket(
    number: int, runtime: TurnRuntime, priority: Priority | None = None, note: str | None = None
) -> str:
    """Change one of this customer's tickets: raise its priority, or add what the customer just said.

    Args:
        number: The ticket number (e.g. 1001).
        priority: A new priority (urgent, high, medium, low), if the customer's situation changed.
        note: New information from the customer, kept as an internal note for the team.
    """
    ctx = runtime.context
    store = ctx.services.crm.tickets
    tickets, _ = store.search(ctx.tenant_id, contact_id=ctx.contact_id, limit=500)
    ticket = next((t for t in tickets if t.number == number), None)
    if ticket is None:
        mine = sorted(t.number for t in tickets)
        return f"error: this customer has no ticket #{number} (theirs: {mine}). Nothing was changed."
    if priority is None and not (note and note.strip()):
        return "error: give a priority or a note. Nothing was changed."
    try:
        if priority is not None:
            store.update(ctx.tenant_id, AGENT, ticket.id, {"priority": priority})
        if note and note.strip():
            store.add_note(ctx.tenant_id, AGENT, ticket.id, note)
    except ParleyError as exc:
        return correctable(exc)
    return (
        f"ticket #{number} updated"
        + (f"; priority {priority}" if priority else "")
        + ("; note added" if note else "")
    )
