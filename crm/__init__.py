"""Contacts, tickets, leads, broadcasts (issue 5)."""
