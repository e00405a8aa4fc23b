"""Staff users as the people a contact's owner or a ticket's assignee can be.

Owners and assignees are stored as the staff user's e-mail address: the /v1 API and its filters keep
taking a plain string, and values written before there were staff users (free text) still show as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.audit import user_actor
from core.staff.models import StaffUser


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def choices(users: list[StaffUser], current: str | None) -> list[Choice]:
    """The tenant's users, and the current value when it is none of them (an old free-text name)."""
    found = [Choice(u.email, f"{u.name} <{u.email}>" if u.name else u.email) for u in users]
    if current and current not in {c.value for c in found}:
        found.insert(0, Choice(current, current))
    return found


def names(users: list[StaffUser]) -> dict[str, str]:
    """Who an owner, an assignee or an audit actor (user:<id>) is, by the value stored."""
    shown = {u.email: u.name or u.email for u in users}
    return shown | {user_actor(u.id): u.name or u.email for u in users}
