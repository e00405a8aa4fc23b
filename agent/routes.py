"""HTTP surface of the agent: its settings (the playground chat and ratings go through the inbox:
inbox/chat_routes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from agent.service import AgentService
from agent.settings import AgentSettings
from core.audit import key_actor
from core.deps import AdminDep, provided

router = APIRouter(prefix="/v1/agent", tags=["agent"])


AgentDep = Annotated[AgentService, provided(AgentService)]


class SourceOut(BaseModel):
    id: str
    name: str
    text: str


@router.get("/settings", response_model=AgentSettings)
def get_settings(principal: AdminDep, agent: AgentDep) -> AgentSettings:
    return agent.deps.settings.get(principal.tenant_id)


@router.put("/settings", response_model=AgentSettings)
def put_settings(body: AgentSettings, principal: AdminDep, agent: AgentDep) -> AgentSettings:
    return agent.deps.settings.put(principal.tenant_id, key_actor(principal.key_id), body)
