"""A contact's edit form <-> the patch ContactStore.update takes, and which input an error is about.

Inputs: the built-in fields by name, each custom attribute as `attr-<key>` (a multi-choice one as several
checkboxes of that name), `tags` comma-separated, `opted_out` a checkbox. A blank input clears its value
(an attribute left blank is removed, as a null does in PATCH /v1/contacts). The store validates everything.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from core.errors import ParleyError
from crm.attributes import AttributeDefinition
from crm.contacts import FIELDS

_ATTRIBUTE = re.compile(r"^(?:attribute|attribute\(s\)) '([a-z][a-z0-9_]*)'")
_TAKEN = re.compile(r"^contact \S+ already has (email|phone) ")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def patch_of(form: FormData, definitions: list[AttributeDefinition]) -> dict[str, Any]:
    patch: dict[str, Any] = {field: _text(form, field) or None for field in FIELDS}
    attributes: dict[str, Any] = {}
    for definition in definitions:
        name = f"attr-{definition.key}"
        if definition.type == "multi_choice":
            picked = [v for v in form.getlist(name) if isinstance(v, str) and v]
            attributes[definition.key] = picked or None
        else:
            attributes[definition.key] = _text(form, name) or None
    patch["attributes"] = attributes
    patch["tags"] = [tag for tag in _text(form, "tags").split(",") if tag.strip()]
    patch["opted_out"] = "opted_out" in form
    return patch


def new_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """A new contact's fields: only those given (a blank input means none, not "remove")."""
    attributes = {k: v for k, v in patch["attributes"].items() if v is not None}
    fields = {k: v for k, v in patch.items() if k != "attributes" and v not in (None, [], False)}
    return {**fields, "attributes": attributes} if attributes else fields


def values_of(patch: dict[str, Any]) -> dict[str, Any]:
    """The posted values in the shape the form shows a contact (to show them again with an error)."""
    return {**patch, "attributes": {k: v for k, v in patch["attributes"].items() if v is not None}}


def input_for(exc: ParleyError) -> str:
    """The input the store's message names: "phone '12' is not a phone number" -> phone."""
    text = exc.message
    head = text.split(" ", 1)[0]
    if head in ("phone", "email"):
        return head
    if head in ("tag(s)", "tags") or text.startswith("a contact has at most"):
        return "tags"
    taken = _TAKEN.match(text)
    if taken:
        return taken.group(1)
    attribute = _ATTRIBUTE.match(text)
    return f"attr-{attribute.group(1)}" if attribute else "form"
