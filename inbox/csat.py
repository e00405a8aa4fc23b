"""Customer satisfaction after a ticket is resolved, asked and answered on the conversation's own channel.

When a ticket that came from a conversation is resolved, the customer is asked for a rating from 1 to 5 in
their language (if the channel's window allows a message now). Their next message, if it is a rating,
is recorded on the ticket and thanked for; anything else is a normal message (the agent or a person answers).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from core.errors import ParleyError
from core.language import customer_language
from crm.ticket_models import Ticket
from crm.tickets import TicketStore
from inbox.models import Message
from inbox.service import Replier
from inbox.store import InboxStore

log = logging.getLogger(__name__)
ASK = {
    "en": "Your request #{number} is resolved. How satisfied are you with our help, from 1 (poor) to 5 (excellent)?",
    "zh": "你的個案 #{number} 已處理完畢。你對我們的協助有多滿意？請回覆 1（差）至 5（非常好）。",
}
THANKS = {"en": "Thank you for your rating!", "zh": "多謝你的評分！"}
RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*[.!。！]?\s*$")
WORDS = {"一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5}


def rating_in(text: str) -> int | None:
    match = RATING.match(text)
    if match:
        return int(match.group(1))
    stripped = text.strip().rstrip("分 。！!")
    if stripped in ("1", "2", "3", "4", "5"):
        return int(stripped)
    return WORDS.get(stripped) if len(stripped) == 1 else None


class Csat:
    def __init__(self, inbox: InboxStore, tickets: TicketStore, replier: Replier) -> None:
        self._inbox = inbox
        self._tickets = tickets
        self._replier = replier
        self._loop = asyncio.get_running_loop()

    def ask(self, ticket: Ticket) -> None:
        """Hooked to the tickets' resolved listeners (app.py's wire). Called in whatever thread resolved the
        ticket; the message goes out from the event loop."""
        if not ticket.conversation_id or self._loop.is_closed():
            return
        try:
            conversation = self._inbox.get(ticket.tenant_id, ticket.conversation_id)
            self._replier.check(ticket.tenant_id, conversation, by_human=False)
        except ParleyError as exc:  # a gone conversation, or a channel window that is closed
            log.info("CSAT for ticket #%s not asked: %s", ticket.number, exc)
            return
        said = [
            m.text for m in self._inbox.messages(ticket.tenant_id, conversation.id) if m.role == "customer"
        ]
        language = customer_language(said[-1]) if said else "en"
        meta = {"csat_for": ticket.id, "delivery": "pending"}
        message = self._inbox.add_message(
            ticket.tenant_id, conversation.id, "agent", ASK[language].format(number=ticket.number), meta
        )
        asyncio.run_coroutine_threadsafe(
            self._replier.deliver(ticket.tenant_id, conversation, message), self._loop
        )

    def answer(
        self, tenant_id: str, conversation_id: str, text: str, reply_meta: dict[str, Any]
    ) -> Message | None:
        """If the customer is answering a rating question, record it and return the thanks (else None)."""
        rating = rating_in(text)
        if rating is None:
            return None
        messages = self._inbox.messages(tenant_id, conversation_id)
        previous = next((m for m in reversed(messages[:-1]) if m.role != "customer"), None)
        ticket_id = previous.meta.get("csat_for") if previous else None
        if not ticket_id:
            return None
        try:
            self._tickets.rate(tenant_id, "customer", str(ticket_id), rating, None)
        except ParleyError as exc:  # reopened or already rated meanwhile: an ordinary message then
            log.info("CSAT not recorded: %s", exc)
            return None
        earlier = [m.text for m in messages[:-1] if m.role == "customer"]  # a bare "5" has no language
        language = customer_language(earlier[-1]) if earlier else "en"
        meta = {**reply_meta, "csat_recorded": rating}
        return self._inbox.add_message(tenant_id, conversation_id, "agent", THANKS[language], meta)
