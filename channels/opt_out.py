"""Customers opting out of broadcasts (and back in) by what they write on a channel.

STOP, unsubscribe, 取消訂閱 or 退訂 opts the contact out; START, subscribe or 訂閱 opts them back in. The change is
made in the ingest transaction of the message (audited as the customer's own), and the customer gets a short
confirmation instead of an agent answer to the bare keyword.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from core.audit import CUSTOMER, AuditLog
from core.language import customer_language
from crm.models import Contact
from inbox.models import Conversation, Message
from inbox.store import InboxStore

STOP_WORDS = {"stop", "unsubscribe", "stop all", "opt out", "取消訂閱", "退訂", "停止", "取消订阅", "退订"}
START_WORDS = {"start", "subscribe", "unstop", "訂閱", "重新訂閱", "订阅"}
CONFIRMATIONS = {
    "stop": {
        "en": "You will not receive our broadcasts any more. Reply START to subscribe again.",
        "zh": "你將不會再收到我們的推廣訊息。如想重新訂閱，請回覆「訂閱」。",
    },
    "start": {
        "en": "You are subscribed to our broadcasts again. Reply STOP to unsubscribe.",
        "zh": "你已重新訂閱我們的訊息。如想取消，請回覆「取消訂閱」。",
    },
}


def keyword(text: str) -> Literal["stop", "start"] | None:
    said = text.strip().lower().rstrip(".!。！")
    return "stop" if said in STOP_WORDS else "start" if said in START_WORDS else None


def apply(session: Session, audit: AuditLog, conversation: Conversation, text: str) -> None:
    """In the caller's transaction: opt the conversation's contact out or in if the text says so."""
    wanted = keyword(text)
    contact = session.get(Contact, conversation.contact_id) if wanted else None
    if contact is not None:
        set_opted_out(session, audit, contact, wanted == "stop")


def set_opted_out(session: Session, audit: AuditLog, contact: Contact, opted_out: bool) -> None:
    """In the caller's transaction: the contact opted out (or back in) by their own act on a channel (a
    keyword, or unfollowing the account: channels/platform_events.py), audited as the customer's."""
    if bool(contact.opted_out) == opted_out:
        return
    contact.opted_out = opted_out
    audit.record(
        session,
        contact.tenant_id,
        CUSTOMER,
        "contact.update",
        "contact",
        contact.id,
        {"opted_out": not opted_out},
        {"opted_out": opted_out},
    )


class Confirmation:
    """An agent interceptor: the bare keyword on a channel gets its confirmation, not an agent turn."""

    def __init__(self, inbox: InboxStore) -> None:
        self._inbox = inbox

    def __call__(
        self, tenant_id: str, conversation_id: str, text: str, reply_meta: dict[str, Any]
    ) -> Message | None:
        wanted = keyword(text)
        if wanted is None or "delivery" not in reply_meta:  # channel replies only (not the playground)
            return None
        reply = CONFIRMATIONS[wanted][customer_language(text)]
        return self._inbox.add_message(
            tenant_id, conversation_id, "agent", reply, {**reply_meta, "route": f"opt_{wanted}"}
        )
