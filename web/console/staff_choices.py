"""Staff users as the people a contact's owner or a ticket's assignee can be.

Owners and assignees are stored as `user:<id>`, as the Inbox stores a conversation's assignee and the audit
log its actors (an e-mail address can change; the id does not). The /v1 API and its filters keep taking a
plain string, and values written before there were staff users (free text) still show as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.audit import AGENT, CUSTOMER, SYSTEM, key_actor, user_actor
from core.credits import PLATFORM_ADMIN
from core.models import ApiKey
from core.staff.models import StaffUser
from web.console.i18n import Lang, translate


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def choices(users: list[StaffUser], current: str | None) -> list[Choice]:
    """The tenant's users, and the current value when it is none of them (an old free-text name)."""
    found = [Choice(user_actor(u.id), f"{u.name} <{u.email}>" if u.name else u.email) for u in users]
    if current and current not in {c.value for c in found}:
        found.insert(0, Choice(current, current))
    return found


def names(users: list[StaffUser]) -> dict[str, str]:
    """Who an owner, an assignee or an audit actor (user:<id>) is, by the value stored."""
    shown = {u.email: u.name or u.email for u in users}
    return shown | {user_actor(u.id): u.name or u.email for u in users}


def describer(users: list[StaffUser], lang: Lang, keys: Sequence[ApiKey] = ()) -> Callable[[str], str]:
    """Who did something, by its audit actor: a staff user's name, else an API key (by its name and prefix
    when `keys` has it), the AI agent, the system, the customer or the platform admin (plain text: the page
    escapes it once)."""
    shown = names(users)
    shown |= {
        key_actor(k.id): translate(lang, "actor.named_key", name=k.name or k.prefix, prefix=k.prefix)
        for k in keys
    }

    def who(actor: str) -> str:
        if actor in shown:
            return shown[actor]
        if actor.startswith("key:"):
            return translate(lang, "actor.key")
        fixed = (AGENT, SYSTEM, CUSTOMER, PLATFORM_ADMIN)
        return translate(lang, f"actor.{actor}") if actor in fixed else actor

    return who
