"""The broadcast form <-> the body POST/PATCH /v1/broadcasts take, and which input an error is about.

Each input is named after where its value sits in that body, the parts joined by "-" ("content-template-name",
"audience-conditions-0-op"), so a pydantic error's location names the input. The form is read into the API's
shape and validated by its own request models (BroadcastIn, BroadcastFields) and then by the store, as the API
does: the console adds no rule of its own. What it does itself is read text: a condition's value is typed as
its attribute is (a number, true/false) by the attribute store's own `coerce`, and `in` takes a comma-separated
list; a template's variables are one per line; `send_at` is the wall-clock time of a `datetime-local` input,
which the store reads in `timezone`.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.errors import InvalidInput, ParleyError
from crm.attributes import AttributeDefinition, coerce
from crm.broadcasts.models import Broadcast, Media
from crm.broadcasts.personalise import variables
from crm.broadcasts.store import zone
from crm.lists import Operator

OPERATORS: tuple[str, ...] = get_args(Operator)
MEDIA_KINDS: tuple[str, ...] = get_args(Media.model_fields["kind"].annotation)
NO_VALUE = ("empty", "not_empty")  # operators that take no value
TYPED = ("number", "boolean")  # attributes whose condition values are typed, not text
CONDITIONS = "audience-conditions"
TEXT_INPUTS = (
    "name",
    "channel_id",
    "content-text",
    "content-media-kind",
    "content-media-link",
    "content-template-name",
    "content-template-language",
    "content-template-variables",
    "send_at",
    "timezone",
    "follow_up_minutes",
)
INPUTS = (*TEXT_INPUTS, "audience-lists", "agent_enrol", CONDITIONS)
_VARIABLE = re.compile(r"^unknown variable \{\{(.+?)\}\}")
_ROW = re.compile(rf"^{CONDITIONS}-(\d{{1,4}})-(field|op|value|remove)$", re.ASCII)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def shown(value: Any) -> str:
    """A condition's value as its input shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    return str(value)


def values_of(broadcast: Broadcast | None, tenant_zone: str) -> dict[str, Any]:
    """What the form shows for a saved broadcast (or a new one, in the tenant's zone)."""
    if broadcast is None:
        return {
            **dict.fromkeys(TEXT_INPUTS, ""),
            "content-template-language": "en",
            "timezone": tenant_zone,
            "follow_up_minutes": "0",
            "audience-lists": [],
            CONDITIONS: [],
            "agent_enrol": False,
        }
    content = broadcast.content or {}
    media = content.get("media") or {}
    template = content.get("template") or {}
    local = broadcast.send_at.astimezone(zone(broadcast.timezone)) if broadcast.send_at else None
    return {
        "name": broadcast.name,
        "channel_id": broadcast.channel_id,
        "content-text": content.get("text") or "",
        "content-media-kind": media.get("kind", ""),
        "content-media-link": media.get("link", ""),
        "content-template-name": template.get("name", ""),
        "content-template-language": template.get("language", "en"),
        "content-template-variables": "\n".join(template.get("variables") or []),
        "send_at": local.strftime("%Y-%m-%dT%H:%M") if local else "",
        "timezone": broadcast.timezone,
        "follow_up_minutes": str(broadcast.follow_up_minutes),
        "audience-lists": list((broadcast.audience or {}).get("lists") or []),
        CONDITIONS: [
            {"field": c.get("field", ""), "op": c.get("op", "eq"), "value": shown(c.get("value"))}
            for c in (broadcast.audience or {}).get("conditions") or []
        ],
        "agent_enrol": broadcast.agent_enrol,
    }


def read(form: FormData) -> dict[str, Any]:
    """The posted form in the shape `values_of` gives. Condition rows marked remove, and the blank row
    offered for adding, are left out; the rest are numbered again in order (errors name the new numbers)."""
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        found = _ROW.match(key)
        if found:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = _text(form, key)
    conditions = [
        {"field": row.get("field", ""), "op": row.get("op", "eq"), "value": row.get("value", "")}
        for _, row in sorted(rows.items())
        if not row.get("remove") and (row.get("field") or row.get("value"))
    ]
    lists = [v for v in form.getlist("audience-lists") if isinstance(v, str) and v]
    return {
        **{name: _text(form, name) for name in TEXT_INPUTS},
        # The text is sent as written (its line breaks and spacing are the message's).
        "content-text": form.get("content-text") if isinstance(form.get("content-text"), str) else "",
        "audience-lists": list(dict.fromkeys(lists)),
        CONDITIONS: conditions,
        "agent_enrol": bool(form.get("agent_enrol")),
    }


def _condition_value(row: dict[str, str], definitions: dict[str, AttributeDefinition]) -> Any:
    """A condition's value from its text: none for empty/not_empty, a list for `in`, typed as its attribute."""
    op, text = row["op"], row["value"].strip()
    if op in NO_VALUE or not text:
        return None
    field = row["field"]
    definition = (
        definitions.get(field.removeprefix("attributes.")) if field.startswith("attributes.") else None
    )

    def one(item: str) -> Any:
        return coerce(definition, item) if definition is not None and definition.type in TYPED else item

    if op == "in":
        return [one(item.strip()) for item in text.split(",") if item.strip()]
    return one(text)


def body_of(
    values: dict[str, Any], definitions: dict[str, AttributeDefinition]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body POST /v1/broadcasts would take for these values (every field given: the form is whole), and
    {input: error} for values that cannot be read (a condition's number that is not one)."""
    errors: dict[str, str] = {}
    conditions = []
    for index, row in enumerate(values[CONDITIONS]):
        try:
            value = _condition_value(row, definitions)
        except InvalidInput as exc:
            errors[f"{CONDITIONS}-{index}-value"] = exc.message
            value = None
        conditions.append({"field": row["field"], "op": row["op"], "value": value})
    media = None
    if values["content-media-kind"] or values["content-media-link"]:
        media = {"kind": values["content-media-kind"], "link": values["content-media-link"]}
    template = None
    template_lines = [
        line.strip() for line in values["content-template-variables"].splitlines() if line.strip()
    ]
    if values["content-template-name"] or template_lines:
        template = {
            "name": values["content-template-name"],
            "language": values["content-template-language"] or "en",
            "variables": template_lines,
        }
    content = {"text": values["content-text"] or None, "media": media, "template": template}
    body = {
        "name": values["name"],
        "channel_id": values["channel_id"],
        "audience": {"lists": values["audience-lists"], "conditions": conditions},
        "content": {key: value for key, value in content.items() if value is not None},
        "send_at": values["send_at"] or None,
        "timezone": values["timezone"] or None,
        "agent_enrol": values["agent_enrol"],
        "follow_up_minutes": values["follow_up_minutes"] or 0,
    }
    return body, errors


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """{input: message} from the request model's errors: the input named by the longest start of the
    location that is one ("content-template-variables-2" -> content-template-variables)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        parts = [str(part) for part in error["loc"]]
        name = "form"
        for end in range(len(parts), 0, -1):
            candidate = "-".join(parts[:end])
            if candidate in INPUTS or _ROW.match(candidate):
                name = candidate
                break
        errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return errors


def input_for(exc: ParleyError, values: dict[str, Any]) -> str:
    """The input the store's message is about ("channel x is not one of this tenant's channels" ->
    channel_id); "form" when it names none."""
    text = exc.message
    head = text.split(" ", 1)[0]
    if text.endswith(" cannot be null") and head in INPUTS:
        return head
    if text.startswith("channel ") and "not one of this tenant's channels" in text:
        return "channel_id"
    if text.startswith("audience list "):
        return "audience-lists"
    if text.startswith("condition on "):
        for index, row in enumerate(values[CONDITIONS]):
            if repr(row["field"]) in text:
                return f"{CONDITIONS}-{index}-{'value' if 'needs a value' in text else 'field'}"
        return CONDITIONS
    if text.startswith("templates are WhatsApp's"):
        return "content-template-name"
    unknown = _VARIABLE.match(text)
    if unknown:
        name = unknown.group(1).strip()
        return "content-text" if name in variables(values["content-text"]) else "content-template-variables"
    if text.startswith("unknown time zone"):
        return "timezone"
    if "send_at" in text:
        return "send_at"
    if text.startswith("another campaign open to the agent"):
        return "name"
    return "form"
