"""Assist for the people answering customers: Smart Reply and the Writing Assistant (/v1/assist)."""
