"""A broadcast's audience: members of any of its lists, each once, narrowed by its conditions."""

from __future__ import annotations

from collections.abc import Iterator

from crm.attributes import AttributeStore
from crm.broadcasts.models import Audience
from crm.contacts import ContactStore
from crm.lists import ListStore, matches
from crm.models import Contact


class AudienceResolver:
    def __init__(self, lists: ListStore, contacts: ContactStore, attributes: AttributeStore) -> None:
        self.lists = lists
        self.contacts_store = contacts
        self.attributes = attributes

    def contacts(self, tenant_id: str, audience: Audience) -> Iterator[Contact]:
        """Matching contacts, opted-out ones included (callers count or skip them); no lists = everyone."""
        seen: set[str] = set()
        if audience.lists:
            candidates: Iterator[Contact] = (
                contact for list_id in audience.lists for contact in self.lists.members(tenant_id, list_id)
            )
        else:
            candidates = self.contacts_store.each(tenant_id)
        for contact in candidates:
            if contact.id in seen:  # in several lists: receives the broadcast once
                continue
            seen.add(contact.id)
            if all(matches(contact, condition) for condition in audience.conditions):
                yield contact
