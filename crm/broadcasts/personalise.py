"""Personalisation: "Hi {{first_name|there}}" filled from the contact, with a fallback when it is empty.

A variable names a contact field (first_name, name, email, ...), a custom attribute by its key (or as
attributes.<key>), with an optional fallback after "|". Variables are checked when a broadcast is saved,
so a typo is a 422 then, not a blank in ten thousand messages later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core.errors import InvalidInput
from crm.contacts import FIELDS
from crm.models import Contact

VARIABLE = re.compile(r"\{\{\s*([^{}|]+?)\s*(?:\|([^{}]*))?\}\}")


class MissingValue(Exception):  # noqa: N818 (a signal the sender turns into a skipped recipient)
    """A template parameter has no value for this contact and no fallback (WhatsApp refuses empty ones)."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"no value for {{{{{variable}}}}} and no fallback")
        self.variable = variable


def variables(text: str) -> list[str]:
    return [match.group(1) for match in VARIABLE.finditer(text)]


def check(texts: Iterable[str], attribute_keys: set[str]) -> None:
    """Every variable names a contact field or a defined attribute."""
    for text in texts:
        for name in variables(text):
            key = name.removeprefix("attributes.")
            if name not in FIELDS and key not in attribute_keys:
                raise InvalidInput(
                    f"unknown variable {{{{{name}}}}}: use a contact field ({', '.join(FIELDS)}) "
                    "or a custom attribute key"
                )


def _value(contact: Contact, name: str) -> str:
    value: Any
    if name in FIELDS:
        value = getattr(contact, name)
        if name == "name" and not value:
            value = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    else:
        value = (contact.attributes or {}).get(name.removeprefix("attributes."))
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return "" if value is None else str(value).strip()


def render(text: str, contact: Contact, *, strict: bool = False) -> str:
    """The text for this contact. `strict` (template parameters): a missing value without a fallback raises
    MissingValue; otherwise it becomes empty and the spacing around it is tidied."""

    def fill(match: re.Match[str]) -> str:
        value = _value(contact, match.group(1))
        if value:
            return value
        if match.group(2) is not None:
            return match.group(2).strip()
        if strict:
            raise MissingValue(match.group(1))
        return ""

    rendered = VARIABLE.sub(fill, text)
    if strict:
        return rendered
    # "Hi {{first_name}}, ..." with no name reads "Hi, ..." rather than "Hi , ...".
    return re.sub(r"[ \t]+([,.!?，。！？])", r"\1", re.sub(r"[ \t]{2,}", " ", rendered)).strip()
