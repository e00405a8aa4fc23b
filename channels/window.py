"""Messaging-window rules: one policy table the whole product reads.

Platforms limit when a business may write freely. Outside the window only an approved template
(WhatsApp), a message tag (Messenger/Instagram) or nothing at all may be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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


POLICIES: dict[str, WindowPolicy] = {
    "whatsapp": WindowPolicy(free_form=timedelta(hours=24), outside="template"),
    "messenger": WindowPolicy(free_form=timedelta(hours=24), human_agent=timedelta(days=7), outside="tag"),
    "instagram": WindowPolicy(free_form=timedelta(hours=24), human_agent=timedelta(days=7), outside="tag"),
    "wechat": WindowPolicy(free_form=timedelta(hours=48), replies_per_message=5),
    "telegram": WindowPolicy(free_form=None),
    "line": WindowPolicy(free_form=None),
    "viber": WindowPolicy(free_form=None),
    "sms": WindowPolicy(free_form=None),
    "livechat": WindowPolicy(free_form=None),
}


def may_send_free_form(
    channel: str, last_customer_message: datetime | None, now: datetime, *, by_human: bool = False
) -> bool:
    policy = POLICIES[channel]
    if policy.free_form is None:
        return True
    if last_customer_message is None:
        return False
    window = policy.human_agent if by_human and policy.human_agent else policy.free_form
    return now - last_customer_message < window
