"""A module-level tool run with a scripted turn: tenant, conversation, contact and the services it calls come
from the injected runtime context, never from the model's arguments. Fakes only: no app, no network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, ToolRuntime

from agent.context import Context
from crm.services import CrmServices
from inbox.store import InboxStore
from tools import TOOLS
from tools.base import ToolServices, TurnContext
from tools.handoff import handoff_to_human


@dataclass
class Desk:
    """The services handoff_to_human calls, scripted: the inbox records hand-offs, the routing rules send
    refunds to billing."""

    handed: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    routed_on: list[str] = field(default_factory=list)

    def hand_off(self, tenant_id: str, conversation_id: str, reason: str, team: str | None) -> bool:
        self.handed.append((tenant_id, conversation_id, reason, team))
        return len(self.handed) == 1  # the second request finds it already waiting

    def team_for(self, tenant_id: str, reason: str, contact_id: str, text: str) -> str:
        self.routed_on.append(text)
        return "billing" if "refund" in text else ""

    def teams(self, tenant_id: str) -> set[str]:
        return {"billing", "sales"}

    def services(self) -> ToolServices:
        return ToolServices(
            inbox=cast(InboxStore, self),
            knowledge=cast(Any, None),
            team_for=self.team_for,
            crm=cast(CrmServices, None),
            teams=self.teams,
        )


@dataclass(frozen=True)
class Turn:
    tenant_id: str
    conversation_id: str
    contact_id: str
    services: ToolServices


def run(context: TurnContext, messages: list[BaseMessage], **args: Any) -> str:
    runtime = ToolRuntime(
        state={"messages": messages},
        context=context,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="c1",
        store=None,
    )
    call = {"type": "tool_call", "id": "c1", "name": "handoff_to_human", "args": {**args, "runtime": runtime}}
    return str(handoff_to_human.invoke(call).content)


def test_handoff_to_human_acts_for_the_turn_in_its_runtime_context() -> None:
    desk = Desk()
    turn = Turn("tenant-a", "conv-1", "contact-1", desk.services())
    said: list[BaseMessage] = [HumanMessage("My cream arrived broken, I want a refund. A person please")]

    assert (
        run(turn, said, reason="asked for a person")
        == "handed off; team: billing; reason: asked for a person"
    )
    assert desk.handed == [("tenant-a", "conv-1", "asked for a person", "billing")]
    assert desk.routed_on == [str(said[0].content)]  # the routing rules read the customer's words
    assert run(turn, said, reason="again", team="sales").startswith(
        "already waiting for a human; team: sales"
    )
    assert run(turn, said, reason="x", team="legal").startswith("error: there is no team 'legal'")
    assert len(desk.handed) == 2  # the unknown team changed nothing


def shown(tool: BaseTool) -> set[str]:
    """The arguments the model is offered (the schema bind_tools sends)."""
    return set(convert_to_openai_tool(tool)["function"]["parameters"].get("properties", {}))


def test_the_model_sees_no_turn_or_service_arguments() -> None:
    turn = {"runtime", "tenant_id", "conversation_id", "contact_id", "services"}
    for tool in TOOLS:
        assert not shown(tool) & turn, tool.name
    assert shown(handoff_to_human) == {"reason", "team"}


def test_the_tool_node_injects_the_agents_context() -> None:
    desk = Desk()
    context = Context(
        tenant_id="tenant-a", conversation_id="conv-1", contact_id="contact-1", services=desk.services()
    )
    _: TurnContext = context  # the agent's Context is what the tools' Protocol asks for (mypy checks)
    graph = StateGraph(MessagesState, context_schema=Context)
    graph.add_node("tools", ToolNode(list(TOOLS)))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    # The model tries to name another tenant: the argument is not the tool's, and the hand-off stays with
    # the turn's tenant.
    asked = AIMessage(
        "",
        tool_calls=[
            {"name": "handoff_to_human", "args": {"reason": "complaint", "tenant_id": "b"}, "id": "c1"}
        ],
    )
    state = graph.compile().invoke({"messages": [HumanMessage("This is a disgrace"), asked]}, context=context)
    [result] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert result.content == "handed off; team: any; reason: complaint"
    assert desk.handed == [("tenant-a", "conv-1", "complaint", "")]
