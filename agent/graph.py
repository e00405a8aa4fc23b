"""The conversation graph:
input guardrails -> custom answers -> intent -> (small talk -> respond)
                                            | (a person / a complaint -> hand off -> tools -> respond)
                                            | (a question -> standalone question -> retrieve -> gate -> respond)
respond <-> tools -> output check -> finish (reply or handoff).

Only wiring lives here; the nodes are in agent/nodes.py.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode

from agent.context import Context
from agent.nodes import AgentDeps, AgentNodes
from agent.state import State


def build_graph(deps: AgentDeps) -> StateGraph[State, Context, Any, Any]:
    nodes = AgentNodes(deps)
    graph: StateGraph[State, Context, Any, Any] = StateGraph(State, context_schema=Context)
    graph.add_node("guard_input", nodes.guard_input)
    graph.add_node("custom_answer", nodes.custom_answer)
    graph.add_node("classify", nodes.classify)
    graph.add_node("hand_off", nodes.hand_off)
    graph.add_node("contextualise", nodes.contextualise)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("gate", nodes.gate)
    graph.add_node("respond", nodes.respond)
    graph.add_node("tools", ToolNode(deps.tools))
    graph.add_node("check_output", nodes.check_output)
    graph.add_node("finish", nodes.finish)

    graph.add_edge(START, "guard_input")
    graph.add_conditional_edges("guard_input", nodes.after_guard)
    graph.add_conditional_edges("custom_answer", nodes.after_custom)
    graph.add_conditional_edges("classify", nodes.after_classify)
    graph.add_edge("hand_off", "tools")
    graph.add_edge("contextualise", "retrieve")
    graph.add_edge("retrieve", "gate")
    graph.add_edge("gate", "respond")
    graph.add_conditional_edges("respond", nodes.after_respond)
    graph.add_edge("tools", "respond")
    graph.add_edge("check_output", "finish")
    graph.add_edge("finish", END)
    return graph
