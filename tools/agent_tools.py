"""The tools the agent may call. Tenant, conversation and contact are injected from the runtime
context (ToolRuntime, an injected argument the model never sees), never chosen by the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime

from core.audit import AGENT
from core.errors import ParleyError
from crm.broadcasts.store import BroadcastStore
from crm.inbox import InboxStore
from crm.services import CrmServices
from crm.ticket_models import Priority, TicketType


class TurnContext(Protocol):
    """What a tool may know of the turn (agent.context.Context provides it)."""

    tenant_id: str
    conversation_id: str
    contact_id: str


class KnowledgeSearch(Protocol):
    def search(self, tenant_id: str, query: str, k: int = 5) -> list[Any]: ...


class TeamChooser(Protocol):
    def __call__(self, tenant_id: str, reason: str, contact_id: str, text: str) -> str: ...


class Teams(Protocol):
    def __call__(self, tenant_id: str) -> set[str]: ...


@dataclass
class ToolDeps:
    inbox: InboxStore
    knowledge: KnowledgeSearch
    team_for: TeamChooser
    crm: CrmServices
    teams: Teams
    broadcasts: BroadcastStore | None = None


def _correctable(exc: ParleyError) -> str:
    """A refused call goes back to the model as text it can act on (ask again, fix the argument)."""
    return f"error: {exc.message}. Nothing was changed; correct the arguments or ask the customer."


def _last_customer_text(runtime: ToolRuntime) -> str:
    state = runtime.state
    messages = state["messages"] if isinstance(state, dict) else getattr(state, "messages", [])
    return next((str(m.content) for m in reversed(messages) if m.type == "human"), "")


def make_tools(deps: ToolDeps) -> list[BaseTool]:
    @tool(parse_docstring=True)
    def handoff_to_human(reason: str, runtime: ToolRuntime, team: str | None = None) -> str:
        """Hand this conversation to a human colleague.

        Use when the customer asks for a person, complains, or needs something you cannot answer
        from the knowledge provided.

        Args:
            reason: Why a human is needed, in a few words (e.g. "asked for a person", "complaint").
            team: A team to hand to, only when the customer's need clearly belongs to one of the business's
                teams; otherwise leave it out and the business's routing rules choose.
        """
        ctx = cast(TurnContext, runtime.context)
        if team is not None:
            known = deps.teams(ctx.tenant_id)
            if team not in known:
                return (
                    f"error: there is no team {team!r} (teams: {sorted(known)}). Nothing was changed; "
                    "leave team out."
                )
        # The routing rules read the customer's words, not just the model's reason.
        team = team or deps.team_for(ctx.tenant_id, reason, ctx.contact_id, _last_customer_text(runtime))
        created = deps.inbox.hand_off(ctx.tenant_id, ctx.conversation_id, reason, team)
        outcome = "handed off" if created else "already waiting for a human"
        return f"{outcome}; team: {team or 'any'}; reason: {reason}"

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
        return "\n\n".join(f"[{i + 1}] ({h.source_name})\n{h.text}" for i, h in enumerate(hits))

    @tool(parse_docstring=True)
    def create_ticket(type: TicketType, priority: Priority, summary: str, runtime: ToolRuntime) -> str:
        """Open a support ticket for this customer, for a problem a colleague must resolve.

        Use for refunds, billing problems, faults and requests you cannot complete in the chat. Tell the
        customer the ticket number from the result.

        Args:
            type: One of bug_report, feature_request, billing, refund, general_support.
            priority: urgent, high, medium or low (money lost or a broken order is high).
            summary: One line describing the problem in the customer's words.
        """
        ctx = cast(TurnContext, runtime.context)
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
            ticket = deps.crm.tickets.create(ctx.tenant_id, AGENT, fields)
        except ParleyError as exc:
            return _correctable(exc)
        return f"created ticket #{ticket.number} ({ticket.type}, {ticket.priority} priority)"

    @tool(parse_docstring=True)
    def update_ticket(
        number: int, runtime: ToolRuntime, priority: Priority | None = None, note: str | None = None
    ) -> str:
        """Change one of this customer's tickets: raise its priority, or add what the customer just said.

        Args:
            number: The ticket number (e.g. 1001).
            priority: A new priority (urgent, high, medium, low), if the customer's situation changed.
            note: New information from the customer, kept as an internal note for the team.
        """
        ctx = cast(TurnContext, runtime.context)
        tickets, _ = deps.crm.tickets.search(ctx.tenant_id, contact_id=ctx.contact_id, limit=500)
        ticket = next((t for t in tickets if t.number == number), None)
        if ticket is None:
            mine = sorted(t.number for t in tickets)
            return f"error: this customer has no ticket #{number} (theirs: {mine}). Nothing was changed."
        if priority is None and not (note and note.strip()):
            return "error: give a priority or a note. Nothing was changed."
        try:
            if priority is not None:
                deps.crm.tickets.update(ctx.tenant_id, AGENT, ticket.id, {"priority": priority})
            if note and note.strip():
                deps.crm.tickets.add_note(ctx.tenant_id, AGENT, ticket.id, note)
        except ParleyError as exc:
            return _correctable(exc)
        return (
            f"ticket #{number} updated"
            + (f"; priority {priority}" if priority else "")
            + ("; note added" if note else "")
        )

    @tool(parse_docstring=True)
    def update_contact(fields: dict[str, Any], runtime: ToolRuntime) -> str:
        """Save details the customer has just given about themselves to their contact record.

        Only record what the customer stated in this conversation; never guess.

        Args:
            fields: The details, e.g. {"email": "kerry@example.com"} or {"first_name": "Kerry"}. Allowed:
                first_name, last_name, phone, email, country, company, job_title, and the business's
                custom attributes as {"attributes": {"key": value}}.
        """
        ctx = cast(TurnContext, runtime.context)
        allowed = {
            "first_name",
            "last_name",
            "phone",
            "email",
            "country",
            "company",
            "job_title",
            "attributes",
        }
        refused = sorted(set(fields) - allowed)
        if refused or not fields:
            return f"error: cannot set {refused or 'nothing'}; allowed fields are {sorted(allowed)}."
        try:
            contact = deps.crm.contacts.update(ctx.tenant_id, AGENT, ctx.contact_id, fields)
        except ParleyError as exc:
            return _correctable(exc)
        saved = {k: getattr(contact, k) for k in fields if k != "attributes"}
        if "attributes" in fields:
            saved["attributes"] = {k: contact.attributes.get(k) for k in fields["attributes"]}
        return f"contact updated: {saved}"

    @tool(parse_docstring=True)
    def add_tag(tag: str, runtime: ToolRuntime) -> str:
        """Tag this customer's contact record (e.g. "interested-in-facials", "vip").

        Args:
            tag: A short label: letters, digits, spaces and - _ : .
        """
        ctx = cast(TurnContext, runtime.context)
        try:
            contact = deps.crm.contacts.add_tags(ctx.tenant_id, AGENT, ctx.contact_id, [tag])
        except ParleyError as exc:
            return _correctable(exc)
        return f"tags now: {contact.tags}"

    @tool(parse_docstring=True)
    def score_lead(runtime: ToolRuntime) -> str:
        """Score this customer as a sales lead from the whole conversation (budget, timeline, need,
        authority, engagement) and their record. A hot lead is handed to the sales team automatically.
        """
        ctx = cast(TurnContext, runtime.context)
        try:
            result = deps.crm.leads.score(ctx.tenant_id, AGENT, ctx.contact_id)
        except ParleyError as exc:
            return _correctable(exc)
        routed = ""
        if result.hot:
            team = deps.crm.leads.settings(ctx.tenant_id).sales_team
            reason = f"hot lead (score {result.score})"
            if deps.inbox.hand_off(ctx.tenant_id, ctx.conversation_id, reason, team):
                routed = f"; routed to the {team} team"
        heat = "hot" if result.hot else "not hot yet"
        return (
            f"lead score {result.score}/100 ({heat}{routed}); reasons: {'; '.join(result.reasons) or 'none'}"
        )

    @tool(parse_docstring=True)
    def add_to_list(list_name: str, runtime: ToolRuntime) -> str:
        """Add this customer to one of the business's static contact lists (e.g. "back-in-stock alerts").

        Only when the customer asked for it or agreed to it.

        Args:
            list_name: The list's exact name.
        """
        ctx = cast(TurnContext, runtime.context)
        try:
            contact_list = deps.crm.lists.find(ctx.tenant_id, list_name)
            added = deps.crm.lists.add(ctx.tenant_id, AGENT, contact_list.id, [ctx.contact_id])
        except ParleyError as exc:
            names = [c.name for c in deps.crm.lists.all(ctx.tenant_id) if c.kind == "static"]
            return _correctable(exc) + f" Static lists: {names}."
        return f"added to {list_name!r}" if added else f"already in {list_name!r}"

    @tool(parse_docstring=True)
    def schedule_follow_up(campaign: str, runtime: ToolRuntime) -> str:
        """Enrol this customer in one of the business's follow-up campaigns (e.g. "back in stock",
        "abandoned cart"), which messages them later on this channel.

        Only when the customer asked for it or agreed to it, and only campaigns the business opened to you.

        Args:
            campaign: The campaign's exact name.
        """
        ctx = cast(TurnContext, runtime.context)
        if deps.broadcasts is None:
            return "error: follow-up campaigns are not available here."
        try:
            broadcast, due = deps.broadcasts.recipients.enrol(ctx.tenant_id, AGENT, campaign, ctx.contact_id)
        except ParleyError as exc:
            open_ = deps.broadcasts.recipients.open_campaigns(ctx.tenant_id)
            return _correctable(exc) + f" Campaigns open to you: {open_ or 'none'}."
        return f"enrolled in {broadcast.name!r}; the message goes out at {due.isoformat(timespec='minutes')}"

    return [
        handoff_to_human,
        search_knowledge,
        create_ticket,
        update_ticket,
        update_contact,
        add_tag,
        score_lead,
        add_to_list,
        schedule_follow_up,
    ]
