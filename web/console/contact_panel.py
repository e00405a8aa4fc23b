"""What a contact's page shows beside its fields, from what the CRM services give cheaply: the lists the
contact is in, and its conversations as its timeline names them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm.lists import Condition, ContactList, matches
from crm.models import Contact
from crm.services import CrmServices


def lists_of(crm: CrmServices, tenant: str, contact: Contact) -> tuple[list[ContactList], list[ContactList]]:
    """(the lists the contact is in, the static lists it could be added to). A condition list's members are
    whoever matches its conditions now, checked with the lists' own `matches`."""
    member, other = [], []
    for contact_list in crm.lists.all(tenant):
        if contact_list.kind == "condition":
            conditions = [Condition.model_validate(c) for c in contact_list.conditions]
            if all(matches(contact, condition) for condition in conditions):
                member.append(contact_list)
        elif contact.id in {c.id for c in crm.lists.members(tenant, contact_list.id)}:
            member.append(contact_list)
        else:
            other.append(contact_list)
    return member, other


@dataclass(frozen=True)
class ConversationSeen:
    id: str
    channel: str
    last: datetime


def conversations_in(timeline: list[dict[str, Any]]) -> list[ConversationSeen]:
    """The conversations the timeline's messages belong to, the latest first (a conversation older than
    the timeline's window is not among them; the inbox lists every one)."""
    last: dict[str, ConversationSeen] = {}
    for entry in timeline:  # newest first: the first message seen of a conversation is its latest
        if entry["kind"] == "message" and entry["conversation_id"] not in last:
            last[entry["conversation_id"]] = ConversationSeen(
                entry["conversation_id"], entry["channel"], entry["at"]
            )
    return list(last.values())
