"""Looking the business's knowledge up again, mid-answer."""

from __future__ import annotations

from langchain_core.tools import tool

from tools.base import TurnRuntime


@tool(parse_docstring=True)
def search_knowledge(query: str, runtime: TurnRuntime) -> str:
    """Search the business's knowledge again, for a follow-up detail not in the passages you have.

    Args:
        query: What to look up, as a short question or keywords.
    """
    ctx = runtime.context
    hits = ctx.services.knowledge.search(ctx.tenant_id, query, 3)
    if not hits:
        return "no results"
    return "\n\n".join(f"[{i + 1}] ({h.source_name})\n{h.text}" for i, h in enumerate(hits))
