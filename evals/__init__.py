"""Evals suite (issue 7)."""
