"""The Agent page's settings form <-> AgentSettings.

Each input is named after where its value sits in the settings, the parts joined by "-"
("handoff-routes-0-team"), so a pydantic error's location names the input it is about. The form is read
into the same shape as `AgentSettings.model_dump()` and validated by AgentSettings itself (what
PUT /v1/agent/settings accepts): the console adds no rule of its own. Lists of phrases are one per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from agent.settings import AgentSettings

ROW_FIELDS = {
    "guardrails": ("topic", "keywords", "message"),
    "custom_answers": ("question", "answer"),
    "handoff-routes": ("team", "keywords", "intent", "vip_attribute", "min_lead_score"),
}
LINE_LISTS = ("keywords",)  # a row's list of phrases: a textarea, one per line
FLAGS = ("on_complaint", "on_low_confidence", "customer_can_return_to_bot")
OPTIONAL = ("complaint_team", "intent", "vip_attribute", "min_lead_score")  # blank -> None
LANGUAGES = ("en", "zh")
LENGTHS = ("brief", "moderate", "detailed")
INTENTS = ("complaint", "sales", "billing", "refund")


@dataclass
class Parsed:
    """The posted values in the settings' shape, and the name of every input that was read."""

    values: dict[str, Any]
    inputs: set[str] = field(default_factory=set)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _rows(form: FormData, prefix: str, parsed: Parsed) -> list[dict[str, Any]]:
    """The rows of a list (prefix-0-..., prefix-1-...): a row marked remove and a wholly blank row (the
    empty one offered for adding) are left out; the rest are numbered again in order."""
    names = ROW_FIELDS[prefix]
    indexes = sorted(
        {
            int(key.split("-")[-2])
            for key in form
            # ASCII digits only, and few: "²".isdigit() is true but int("²") fails
            if key.startswith(prefix + "-") and re.fullmatch(r"\d{1,4}", key.split("-")[-2], re.ASCII)
        }
    )
    rows: list[dict[str, Any]] = []
    for index in indexes:
        raw = {name: _text(form, f"{prefix}-{index}-{name}").strip() for name in names}
        if form.get(f"{prefix}-{index}-remove") or not any(raw.values()):
            continue
        row: dict[str, Any] = {}
        for name, text in raw.items():
            if name in LINE_LISTS:
                row[name] = lines(text)
            elif name in OPTIONAL and not text:
                row[name] = None
            else:
                row[name] = text  # numbers too: pydantic parses "50" and names a bad one
            parsed.inputs.add(f"{prefix}-{len(rows)}-{name}")
        rows.append(row)
    return rows


def parse(form: FormData) -> Parsed:
    parsed = Parsed({})
    parsed.inputs |= {"tone", "response_length", "objectives", "languages", "welcome-en", "welcome-zh"}
    handoff: dict[str, Any] = {
        "keywords": lines(_text(form, "handoff-keywords")),
        "max_failed_answers": _text(form, "handoff-max_failed_answers").strip(),
        "team": _text(form, "handoff-team"),
        "complaint_team": _text(form, "handoff-complaint_team").strip() or None,
        "bot_return_keywords": lines(_text(form, "handoff-bot_return_keywords")),
        **{flag: f"handoff-{flag}" in form for flag in FLAGS},
        "routes": _rows(form, "handoff-routes", parsed),
    }
    parsed.inputs |= {f"handoff-{name}" for name in handoff}
    welcome = {lang: _text(form, f"welcome-{lang}").strip() or None for lang in LANGUAGES}
    parsed.values = {
        "tone": _text(form, "tone"),
        "response_length": _text(form, "response_length"),
        "objectives": lines(_text(form, "objectives")),
        "languages": [lang for lang in form.getlist("languages") if isinstance(lang, str)],
        "guardrails": _rows(form, "guardrails", parsed),
        "custom_answers": _rows(form, "custom_answers", parsed),
        "handoff": handoff,
        "welcome": welcome if any(welcome.values()) else None,
    }
    return parsed


def input_for(location: Iterable[int | str], inputs: set[str]) -> str:
    """The input a validation error is about: its location, shortened until it names one ("objectives-3"
    is a line of the objectives box; "welcome" is the welcome's first box)."""
    parts = [str(part) for part in location]
    while parts:
        name = "-".join(parts)
        if name in inputs:
            return name
        if f"{name}-en" in inputs:
            return f"{name}-en"
        parts.pop()
    return "form"


def errors_of(exc: ValidationError, inputs: set[str]) -> dict[str, str]:
    """{input: the validators' messages}; an error inside a line list names its line."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        name = input_for(error["loc"], inputs)
        line = error["loc"][len(name.split("-"))] if len(error["loc"]) > len(name.split("-")) else None
        if isinstance(line, int):
            message = f"line {line + 1}: {message}"
        errors.setdefault(name, []).append(message)
    return {name: "; ".join(messages) for name, messages in errors.items()}


def validate(form: FormData) -> tuple[AgentSettings | None, dict[str, Any], dict[str, str]]:
    """(the settings, or None when invalid; the values to show again; {input: error})."""
    parsed = parse(form)
    try:
        return AgentSettings.model_validate(parsed.values), parsed.values, {}
    except ValidationError as exc:
        return None, parsed.values, errors_of(exc, parsed.inputs)
