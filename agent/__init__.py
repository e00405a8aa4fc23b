"""LangGraph agent (issue 3)."""
