"""The Channels page's connect form <-> ChannelIn, the model POST /v1/channels reads.

The inputs of a kind are the fields of its model (channels/routes.py's MODEL_OF), each named after its
field ("fallback_template-name" for a field of a nested model), so a validation error's location names the
input it is about. The form is validated by ChannelIn itself and stored by the same `connect` as the API:
the console adds no rule of its own. A blank input is left out, so the model's default applies (or it
says the field is required).

Two sorts of sealed value: credentials the platform gave the admin (tokens, app secrets) are password
inputs that are never written back into a page, not even when the form comes back with an error; tokens
the admin chooses here and enters on the platform as well (Meta's verify token, Telegram's secret token,
WeChat's server token) are filled with a random value to copy, and shown once more after saving.
"""

from __future__ import annotations

import secrets
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from channels.routes import CHANNEL_IN, MODEL_OF, SECRET_FIELDS, ChannelModel
from web.console.i18n import CATALOGUE, Lang, translate

# The order of the kinds on the page; a kind the API accepts and this list misses comes last.
ORDER = ("whatsapp", "messenger", "instagram", "telegram", "line", "viber", "wechat", "sms")
KINDS: tuple[str, ...] = tuple(sorted(MODEL_OF, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)))

# Tokens the admin chooses here and enters on the platform too, with a random value to start from (each
# fits its model's pattern).
CHOSEN: dict[str, Callable[[], str]] = {
    "verify_token": lambda: secrets.token_urlsafe(24),
    "secret_token": lambda: secrets.token_urlsafe(32),
    "token": lambda: secrets.token_hex(16),
}
LONG_TEXT = ("welcome_message",)


@dataclass(frozen=True)
class Input:
    name: (
        str  # the input's name: the field's, "-"-joined inside a nested model (also its catalogue key's end)
    )
    field: str  # the field's own name (the last part)
    kind: str  # text | password | number | textarea | chosen
    required: bool
    maxlength: int | None = None
    minimum: int | None = None
    maximum: int | None = None


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The model inside `Model | None`, if the field holds one."""
    options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    for option in options:
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _input(name: str, field: str, info: FieldInfo, kind: str, required: bool) -> Input:
    limits = {type(m): m for m in info.metadata}
    if info.annotation is int:
        ge, le = limits.get(Ge), limits.get(Le)
        return Input(
            name,
            field,
            "number",
            required,
            minimum=int(ge.ge) if isinstance(ge, Ge) else None,  # type: ignore[call-overload]
            maximum=int(le.le) if isinstance(le, Le) else None,  # type: ignore[call-overload]
        )
    longest = limits.get(MaxLen)
    maxlength = longest.max_length if isinstance(longest, MaxLen) else None
    if field in SECRET_FIELDS[kind]:
        sort = "chosen" if field in CHOSEN else "password"
    else:
        sort = "textarea" if field in LONG_TEXT else "text"
    return Input(name, field, sort, required, maxlength=maxlength)


def inputs(kind: str) -> list[Input]:
    """The form's inputs for a kind, in its model's order (the `kind` itself is the page's)."""
    found: list[Input] = []
    for name, info in MODEL_OF[kind].model_fields.items():
        if name == "kind":
            continue
        nested = _nested(info.annotation)
        if nested is None:
            found.append(_input(name, name, info, kind, info.is_required()))
            continue
        for inner, inner_info in nested.model_fields.items():
            # Inside an optional model, nothing is required of the form: blank leaves the whole out.
            required = info.is_required() and inner_info.is_required()
            found.append(_input(f"{name}-{inner}", inner, inner_info, kind, required))
    return found


def hint_key(kind: str, name: str) -> str:
    """The catalogue's explanation of an input: the kind's own, else the one every kind shares."""
    own = f"channels.hint.{kind}.{name}"
    return own if own in CATALOGUE else f"channels.hint.{name}"


def blank(kind: str) -> dict[str, str]:
    """The values of a new form: the chosen tokens filled in with random ones."""
    return {i.name: CHOSEN[i.field]() for i in inputs(kind) if i.kind == "chosen"}


def parse(kind: str, form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """(the values for ChannelIn, the inputs' text to show again: never a credential's)."""
    values: dict[str, Any] = {"kind": kind}
    shown: dict[str, str] = {}
    for item in inputs(kind):
        raw = form.get(item.name)
        text = raw.strip() if isinstance(raw, str) else ""
        if item.kind != "password":
            shown[item.name] = text
        if not text:
            continue
        head, _, inner = item.name.partition("-")
        if inner:
            values.setdefault(head, {})[inner] = text
        else:
            values[head] = text
    return values, shown


# A validator's message in the reader's words for the common error types; any other as pydantic says it.
MESSAGES = {
    "missing": "channels.error.missing",
    "string_pattern_mismatch": "channels.error.pattern",
    "string_too_short": "channels.error.too_short",
    "string_too_long": "channels.error.too_long",
    "int_parsing": "channels.error.number",
    "greater_than_equal": "channels.error.at_least",
    "less_than_equal": "channels.error.at_most",
}


def _message(lang: Lang, error: Any) -> str:
    key = MESSAGES.get(error["type"])
    if key is None:
        return str(error["msg"]).removeprefix("Value error, ")
    context = error.get("ctx") or {}
    return translate(
        lang, key, **{k: context[k] for k in ("min_length", "max_length", "ge", "le") if k in context}
    )


def errors_of(lang: Lang, kind: str, exc: ValidationError) -> dict[str, str]:
    """{input: message}. ChannelIn's locations start with the kind (the union's tag); an error about a
    part of a nested model no input shows goes to its first input."""
    names = [i.name for i in inputs(kind)]
    errors: dict[str, str] = {}
    for error in exc.errors():
        parts = [str(part) for part in error["loc"]]
        if parts and parts[0] == kind:
            parts = parts[1:]
        name = "-".join(parts)
        if name not in names:
            name = next((n for n in names if parts and n.startswith(parts[0] + "-")), "form")
        errors.setdefault(name, _message(lang, error))
    return errors


def validate(
    lang: Lang, kind: str, form: FormData
) -> tuple[ChannelModel | None, dict[str, str], dict[str, str]]:
    """(the channel, or None when invalid; the values to show again; {input: error})."""
    values, shown = parse(kind, form)
    try:
        return CHANNEL_IN.validate_python(values), shown, {}
    except ValidationError as exc:
        return None, shown, errors_of(lang, kind, exc)
