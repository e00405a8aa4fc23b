"""Messaging-window rules: one policy table the whole product reads, when the customer last wrote (the
window's start), and what "window closed" says. The outbox (channels/outbox.py) applies them to every send.

Platforms limit when a business may write freely. Outside the window only an approved template
(WhatsApp), a message tag (Messenger/Instagram) or nothing at all may be sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from inbox.models import Conversation, Message


@dataclass(frozen=True)
class WindowPolicy:
    free_form: timedelta | None
    """How long after the customer's last message free-form replies are allowed (None = no limit)."""
    human_agent: timedelta | None = None
    """A longer window for messages written by a human agent (never for AI replies)."""
    replies_per_message: int | None = None
    """At most this many replies per customer message (WeChat)."""
    outside: str = "nothing"
    """What may be sent outside the window: "template", "tag" or "nothing"."""
    sends_per_second: int = 20
    """Default outbound ceiling per channel account (a channel's config `messages_per_second` overrides)."""
    broadcasts_per_month: int | None = None
    """At most this many broadcasts per follower per calendar month (WeChat)."""

    def window(self, *, by_human: bool = False) -> timedelta | None:
        """The free-form window; a person's message may use the longer human-agent one where there is one."""
        return self.human_agent if by_human and self.human_agent else self.free_form

    def hours(self, *, by_human: bool = False) -> int:
        """The window in whole hours, for messages that name it (0 when there is none)."""
        window = self.window(by_human=by_human)
        return int(window.total_seconds() // 3600) if window else 0


POLICIES: dict[str, WindowPolicy] = {
    # WhatsApp's ceiling is the number's throughput (80/s by default), enforced by its client.
    "whatsapp": WindowPolicy(free_form=timedelta(hours=24), outside="template", sends_per_second=80),
    "messenger": WindowPolicy(
        free_form=timedelta(hours=24), human_agent=timedelta(days=7), outside="tag", sends_per_second=40
    ),
    "instagram": WindowPolicy(
        free_form=timedelta(hours=24), human_agent=timedelta(days=7), outside="tag", sends_per_second=40
    ),
    "wechat": WindowPolicy(
        free_form=timedelta(hours=48), replies_per_message=5, sends_per_second=20, broadcasts_per_month=4
    ),
    "telegram": WindowPolicy(free_form=None, sends_per_second=30),  # the Bot API's documented limit
    "line": WindowPolicy(free_form=None, sends_per_second=100),
    "viber": WindowPolicy(free_form=None, sends_per_second=20),
    "sms": WindowPolicy(free_form=None, sends_per_second=1),  # a Twilio long code sends 1 message/s
    "livechat": WindowPolicy(free_form=None),
}


def may_send_free_form(
    channel: str, last_customer_message: datetime | None, now: datetime, *, by_human: bool = False
) -> bool:
    policy = POLICIES[channel]
    window = policy.window(by_human=by_human)
    if policy.free_form is None or window is None:
        return True
    if last_customer_message is None:
        return False
    return now - last_customer_message < window


def window_closed(channel: str, *, by_human: bool = False, fallback: bool = False) -> str:
    """Why a free-form message may not go now: the one wording of "window closed" (`fallback`: the agent's
    reply, which the channel's fallback template could have answered)."""
    policy = POLICIES[channel]
    if policy.outside == "template":
        outside = "only an approved template may be sent" + (
            " (configure a fallback template)" if fallback else ""
        )
    else:
        outside = "nothing may be sent"
    return (
        f"window closed: free-form messages only within {policy.hours(by_human=by_human)} hours of the "
        f"customer's last message; {outside}"
    )


# --- when the customer last wrote: the window's start ---------------------------------------------------
def customer_wrote_at(message: Message) -> datetime:
    """When a customer message was written: the platform's time for it, else when it was stored."""
    stamp = (message.meta or {}).get("sent_at")
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) and stamp else message.created_at


def last_customer_message(messages: Sequence[Message]) -> Message | None:
    """The latest customer message of a conversation's messages (in the order they were stored)."""
    return next((m for m in reversed(messages) if m.role == "customer"), None)


def last_customer_message_at(messages: Sequence[Message]) -> datetime | None:
    last = last_customer_message(messages)
    return customer_wrote_at(last) if last is not None else None


def last_customer_messages_at(
    session: Session, contact_ids: Iterable[str], channel: str
) -> dict[str, datetime]:
    """As last_customer_message_at, for many contacts at once: each contact's latest customer message in
    their conversations on `channel` (a broadcast's batch)."""
    latest = (
        select(Conversation.contact_id, func.max(Message.created_at).label("at"))
        .join(Message, Message.conversation_id == Conversation.id)
        .where(
            Conversation.contact_id.in_(list(contact_ids)),
            Conversation.channel == channel,
            Message.role == "customer",
        )
        .group_by(Conversation.contact_id)
        .subquery()
    )
    rows = session.execute(
        select(Conversation.contact_id, Message)
        .join(Message, Message.conversation_id == Conversation.id)
        .join(latest, and_(latest.c.contact_id == Conversation.contact_id, latest.c.at == Message.created_at))
        .where(Conversation.channel == channel, Message.role == "customer")
    ).all()
    found: dict[str, datetime] = {}
    for contact, message in rows:
        at = customer_wrote_at(message)
        found[contact] = max(at, found.get(contact, at))
    return found
