"""On start: live-chat messages stored but never answered, because the process died during their turn
(kill -9, a crash, a deploy), are answered now, each once.

Until now such a message was answered only when the widget resent it (channels/livechat/turns.py); a
visitor who had closed the tab before the process came back was never answered. The sweep finds the
messages still marked `answered: False` with no reply stored and runs their turns through the same
LiveTurns.answer a resend uses: under the conversation's lease it looks again for a reply, so a resend
racing the sweep, or the sweep of another process starting at the same time, answers nothing twice. The
reply reaches the visitor's open sockets in every process (channels/livechat/visitors.py), and any other from its history.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from channels.livechat.locks import TurnLocks
from channels.livechat.turns import LiveTurns
from channels.livechat.visitors import VisitorSockets
from core.db import Database, utcnow
from inbox.models import Conversation, Message

log = logging.getLogger(__name__)
# Older than this, the visitor has long gone and a question answered now would read as out of the blue;
# the widget's resend still answers it if they come back.
RECENT = timedelta(days=1)


def unanswered(db: Database, since: datetime) -> list[tuple[str, str, str]]:
    """(tenant, conversation, message) of the live-chat messages since `since` whose turn never finished,
    oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(Message.tenant_id, Message.conversation_id, Message.id, Message.meta)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.id >= _first_id_at(since),  # ids are time-ordered: the primary key finds them
                Message.created_at >= since,
                Message.role == "customer",
                Conversation.channel == "livechat",
            )
            .order_by(Message.id)
        ).all()
    return [(tenant, conversation, id_) for tenant, conversation, id_, meta in rows if _open(meta)]


def _open(meta: object) -> bool:
    # Read here, not in SQL: a JSON key compared the same way on SQLite and PostgreSQL is not worth it for
    # a day of one channel's messages, read once per start.
    return isinstance(meta, dict) and meta.get("answered") is False


def _first_id_at(at: datetime) -> str:
    """The smallest id core/db.py's new_id gives at `at` (its first 48 bits are Unix milliseconds)."""
    return f"{int(at.timestamp() * 1000):012x}" + "0" * 20


async def answer_lost_turns(
    db: Database,
    turns: LiveTurns,
    locks: TurnLocks,
    visitors: VisitorSockets,
) -> int:
    """Answer what `unanswered` finds; returns how many turns ran (or found their answer stored)."""
    found = await asyncio.to_thread(unanswered, db, utcnow() - RECENT)
    answered = 0
    for tenant, conversation, message_id in found:
        # This process's sockets of the conversation take turns with the sweep (connection.py's lock).
        async with locks.conversation(conversation):
            try:
                question = await asyncio.to_thread(turns.stored, tenant, message_id)
                reply = await asyncio.to_thread(turns.answer, tenant, conversation, question)
            except Exception:  # one conversation's failure must not leave the others unanswered
                log.exception("answering live-chat message %s after a restart failed", message_id)
                continue
        answered += 1
        if reply is not None:
            visitors.push(tenant, conversation, reply.id)
    if found:
        log.info("%d live-chat messages left unanswered by an earlier process answered", answered)
    return answered
