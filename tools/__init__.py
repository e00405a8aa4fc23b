"""LangChain tools the agent calls (issues 3, 5, 6)."""
