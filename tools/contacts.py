"""This customer's contact record: details they give, tags, static lists."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool

from core.audit import AGENT
from core.errors import ParleyError
from tools.base import TurnRuntime, correctable

UPDATABLE = {"first_name", "last_name", "phone", "email", "country", "company", "job_title", "attributes"}


@tool(parse_docstring=True)
def update_contact(fields: dict[str, Any], runtime: TurnRuntime) -> str:
    """Save details the customer has just given about themselves to their contact record.

    Only record what the customer stated in this conversation; never guess.

    Args:
        fields: The details, e.g. {"email": "kerry@example.com"} or {"first_name": "Kerry"}. Allowed:
            first_name, last_name, phone, email, country, company, job_title, and the business's
            custom attributes as {"attributes": {"key": value}}.
    """
    ctx = runtime.context
    refused = sorted(set(fields) - UPDATABLE)
    if refused or not fields:
        return f"error: cannot set {refused or 'nothing'}; allowed fields are {sorted(UPDATABLE)}."
    try:
        contact = ctx.services.crm.contacts.update(ctx.tenant_id, AGENT, ctx.contact_id, fields)
    except ParleyError as exc:
        return correctable(exc)
    saved = {k: getattr(contact, k) for k in fields if k != "attributes"}
    if "attributes" in fields:
        saved["attributes"] = {k: contact.attributes.get(k) for k in fields["attributes"]}
    return f"contact updated: {saved}"


@tool(parse_docstring=True)
def add_tag(tag: str, runtime: TurnRuntime) -> str:
    """Tag this customer's contact record (e.g. "interested-in-facials", "vip").

    Args:
        tag: A short label: letters, digits, spaces and - _ : .
    """
    ctx = runtime.context
    try:
        contact = ctx.services.crm.contacts.add_tags(ctx.tenant_id, AGENT, ctx.contact_id, [tag])
    except ParleyError as exc:
        return correctable(exc)
    return f"tags now: {contact.tags}"


@tool(parse_docstring=True)
def add_to_list(list_name: str, runtime: TurnRuntime) -> str:
    """Add this customer to one of the business's static contact lists (e.g. "back-in-stock alerts").

    Only when the customer asked for it or agreed to it.

    Args:
        list_name: The list's exact name.
    """
    ctx = runtime.context
    lists = ctx.services.crm.lists
    try:
        contact_list = lists.find(ctx.tenant_id, list_name)
        added = lists.add(ctx.tenant_id, AGENT, contact_list.id, [ctx.contact_id])
    except ParleyError as exc:
        names = [c.name for c in lists.all(ctx.tenant_id) if c.kind == "static"]
        return correctable(exc) + f" Static lists: {names}."
    return f"added to {list_name!r}" if added else f"already in {list_name!r}"
