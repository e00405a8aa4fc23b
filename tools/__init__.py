"""LangChain tools the agent calls, one module per domain. Each reads the turn (tenant, conversation,
contact) and the services it acts through from its injected runtime context (tools/base.py)."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.broadcasts import schedule_follow_up
from tools.contacts import add_tag, add_to_list, update_contact
from tools.handoff import handoff_to_human
from tools.knowledge import search_knowledge
from tools.leads import score_lead
from tools.tickets import create_ticket, update_ticket

TOOLS: tuple[BaseTool, ...] = (
    handoff_to_human,
    search_knowledge,
    create_ticket,
    update_ticket,
    update_contact,
    add_tag,
    score_lead,
    add_to_list,
    schedule_follow_up,
)
"""Every tool, in the order the model is shown them."""
