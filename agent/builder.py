"""Build the agent service (graph, tools, model, checkpointer) from settings and the services below it;
`inbox` is the conversations' store (inbox/store.py), which the caller builds and the agent only writes
handoffs and answer streaks through.

app.py's lifespan, the benchmarks and `python -m evals` build it the same way; nothing imports app.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from agent import routing
from agent.intent import IntentClassifier
from agent.memory import make_checkpointer
from agent.models.factory import make_chat_model
from agent.nodes import AgentDeps, offline_rewriter
from agent.service import AgentService
from agent.settings import AgentSettingsStore
from agent.standalone import ModelRewriter
from config import Settings
from core.errors import NotFound
from core.services import CoreServices
from crm.broadcasts.store import BroadcastStore
from crm.services import CrmServices
from knowledge.bilingual import lexicon
from knowledge.services import KnowledgeServices
from tools import TOOLS
from tools.base import ToolServices
from tools.ports import Conversations

log = logging.getLogger(__name__)


def build_agent(
    settings: Settings,
    core: CoreServices,
    knowledge: KnowledgeServices,
    inbox: Conversations,
    *,
    model: BaseChatModel | None = None,
    schema: str | None = None,
    crm: CrmServices | None = None,
    broadcasts: BroadcastStore | None = None,
) -> AgentService:
    agent_settings = AgentSettingsStore(core.db, core.audit)

    crm = crm or CrmServices.build(core.db, core.audit)

    def team_for(tenant_id: str, reason: str, contact_id: str, text: str) -> str:
        try:
            contact = crm.contacts.get(tenant_id, contact_id)
        except NotFound:
            contact = None
        return routing.team_for(agent_settings.get(tenant_id).handoff, reason, text, contact)

    def teams(tenant_id: str) -> set[str]:
        return routing.teams(agent_settings.get(tenant_id).handoff, crm.leads.settings(tenant_id).sales_team)

    tool_services = ToolServices(
        inbox=inbox, knowledge=knowledge, team_for=team_for, crm=crm, teams=teams, broadcasts=broadcasts
    )
    model = model or make_chat_model(settings)
    deps = AgentDeps(
        knowledge=knowledge,
        settings=agent_settings,
        inbox=inbox,
        model=model,
        tools=list(TOOLS),
        tool_services=tool_services,
        embedder=knowledge.embedder,
        working_hours=crm.hours.of,
        # With a real model a contextualise call writes the standalone question; offline, carry-over.
        rewriter=ModelRewriter(model) if settings.llm == "openai" else offline_rewriter,
    )
    checkpointer, close = make_checkpointer(settings, schema=schema)
    service = AgentService(deps, checkpointer, close)
    # The intent examples' embeddings, the dictionary and the word lists load once per process (a few
    # seconds): on a thread at start, not in the first customer's turn.
    threading.Thread(target=warm_up, args=(knowledge,), name="parley-warm-up", daemon=True).start()
    return service


def warm_up(knowledge: KnowledgeServices) -> None:
    started = time.perf_counter()
    try:
        IntentClassifier(knowledge.embedder, knowledge.queries).similarities("hello")
        lexicon()
        # Operators (and load benches) can tell when turns stop waiting for it.
        log.info("answer path warmed up in %.1f s", time.perf_counter() - started)
    except Exception:  # a warm-up is an optimisation: the first turn loads whatever failed here
        log.exception("warming up the answer path failed")


def contact_eraser(
    core: CoreServices, agent: AgentService, crm: CrmServices | None = None
) -> Callable[[str, str], None]:
    """erase(tenant_id, contact_id): the contact and all it left (conversations, messages, tickets, the
    agent's memory of them). The evals erase their test customers with it after each case."""
    if crm is None:  # app.py's CRM already forgets the agent's memory on erasure; a new one must too
        crm = CrmServices.build(core.db, core.audit)
        crm.privacy.after_erase(agent.forget)

    def erase(tenant_id: str, contact_id: str) -> None:
        crm.privacy.erase(tenant_id, "evals", contact_id)

    return erase
