"""What the Inbox pages show, worked out from the services' rows: the list's views (states), who an
assignee is, the channel's reply window, a conversation's messages and notes in one timeline.

No rule lives here: the window is read from the channel layer's one policy table (channels/window.py) and
enforced by the inbox's reply (InboxService.reply -> HumanReplies.check); this only says it to the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.window import POLICIES, last_customer_message_at
from core.audit import user_actor
from core.db import utcnow
from core.staff.models import StaffUser
from inbox.handoff import HUMAN_OWNED
from inbox.models import ConversationNote, Message

# The list's views, in the order of their tabs: "open" is the team's (waiting for a person or with one).
STATES = ("open", "waiting", "mine", "bot", "resolved", "all")
ACTING_ROLES = ("admin", "agent")  # QA reads conversations, never acts on them
WRITE_ACTIONS = ("improve", "shorter", "en", "zh-Hant")  # the Writing Assistant's buttons
PAGE_SIZE = 100


def search_args(state: str, me: str) -> dict[str, Any]:
    """Handoff.search's filters for a view (`me`: the signed-in user's id)."""
    if state == "waiting":
        return {"status": "pending_human"}
    if state == "mine":
        return {"statuses": HUMAN_OWNED, "assignee": user_actor(me)}
    if state == "bot":
        return {"status": "bot"}
    if state == "resolved":
        return {"status": "resolved"}
    if state == "open":
        return {"statuses": HUMAN_OWNED}
    return {}


class People:
    """Assignees as people: a console user is stored as `user:<id>` (as the audit names them); an older
    free-text assignee (a name typed through the API) is shown as it was written."""

    def __init__(self, users: list[StaffUser]) -> None:
        self.users = users
        self._by_actor = {user_actor(u.id): u for u in users}

    def name(self, assignee: str | None) -> str:
        if not assignee:
            return ""
        user = self._by_actor.get(assignee)
        return (user.name or user.email) if user else assignee

    def assignable(self) -> list[StaffUser]:
        return [u for u in self.users if u.role in ACTING_ROLES]


@dataclass(frozen=True)
class ReplyWindow:
    limited: bool  # False: the channel lets a person reply at any time (live chat, Telegram, ...)
    open: bool
    until: datetime | None  # when it closes (closed: when it closed); None without a customer message
    hours: int


def reply_window(channel: str, messages: list[Message], now: datetime | None = None) -> ReplyWindow:
    """The window a person's reply has now, from the same policy table the reply is checked against."""
    policy = POLICIES.get(channel)
    if policy is None or policy.free_form is None:
        return ReplyWindow(limited=False, open=True, until=None, hours=0)
    window = policy.window(by_human=True)
    last = last_customer_message_at(messages)
    until = last + window if last is not None and window is not None else None
    is_open = until is not None and (now or utcnow()) < until
    return ReplyWindow(limited=True, open=is_open, until=until, hours=policy.hours(by_human=True))


def timeline(messages: list[Message], notes: list[ConversationNote]) -> list[dict[str, Any]]:
    """Messages and internal notes in the order they were written (a note is the team's, never sent)."""
    entries: list[dict[str, Any]] = [
        {
            "kind": m.role,
            "id": f"m-{m.id}",
            "text": m.text,
            "at": m.created_at,
            "author": m.meta.get("author"),
            "delivery": m.meta.get("delivery"),
        }
        for m in messages
    ]
    entries += [
        {"kind": "note", "id": f"n-{n.id}", "text": n.text, "at": n.created_at, "author": n.author}
        for n in notes
    ]
    entries.sort(key=lambda entry: entry["at"])
    return entries


def contact_name(contact: Any) -> str:
    """The contact as people know them; "" for an anonymous visitor (the pages say "Visitor <ref>": an
    external id is a platform's or a widget's token, not a name)."""
    if contact is None:
        return ""
    return str(contact.name or contact.phone or contact.email or "")
