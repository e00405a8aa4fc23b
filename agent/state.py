"""Graph state: the conversation (kept by the checkpointer) plus what one turn works out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from knowledge.services import SearchHit


@dataclass
class State:
    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The conversation so far: customer turns, agent turns, tool calls and tool results."""
    language: str = "en"
    """The customer's language for this turn ("en" or "zh")."""
    intent: str = ""
    """What the message is: greeting, thanks, goodbye, acknowledgement, human, complaint or question."""
    question: str = ""
    """This turn's question made standalone (an elliptic follow-up gets its subject from the one before)."""
    alternative: list[str] = field(default_factory=list)
    """Another reading of a short message (with the previous subject): retrieval keeps the closer one."""
    topic: str = ""
    """The last answered standalone question: what the next elliptic follow-up is about (kept across turns)."""
    topic_chunks: list[str] = field(default_factory=list)
    """The chunks that answer stood on (kept across turns): a follow-up looks there first."""
    hits: list[SearchHit] = field(default_factory=list)
    """Retrieval's reranked hits, until the gate has judged them."""
    answerable: bool = True
    """The gate's verdict: the passages answer this question."""
    gate_reason: str = ""
    """Why the gate decided as it did."""
    passages: list[dict[str, Any]] = field(default_factory=list)
    """Knowledge retrieved for this turn: {"id", "name", "text", "score"}."""
    reply: str = ""
    """The text to send the customer (set by a guardrail, a custom answer or the final node)."""
    route: str = ""
    """How this turn was answered: declined, custom_answer, model, handoff, safe_reply."""
    handoff: bool = False
    """Whether this turn handed the conversation to a human."""
    handoff_reason: str = ""
    """Why, when it did."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    """Tool calls made this turn: {"tool", "args", "result"}."""
    canary: str = ""
    """A random marker placed in this turn's system prompt; seeing it in a reply means the prompt leaked."""
