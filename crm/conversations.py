"""The inbox's tables as crm reads them, by table name: a contact's timeline, lead score, export and erasure
read or remove their conversations and messages. inbox/models.py owns these tables (inbox imports crm, never
the other way round); only the columns crm uses are named here.
"""

from __future__ import annotations

from sqlalchemy import String, Text, column, table

from core.db import UTCDateTime

conversations = table(
    "conversations",
    column("id", String),
    column("tenant_id", String),
    column("contact_id", String),
    column("channel", String),
    column("status", String),
    column("created_at", UTCDateTime()),
)
messages = table(
    "messages",
    column("id", String),
    column("conversation_id", String),
    column("role", String),
    column("text", Text),
    column("created_at", UTCDateTime()),
)
message_feedback = table("message_feedback", column("message_id", String))
conversation_notes = table("conversation_notes", column("conversation_id", String))
