"""Errors shown at the form field they are about.

The services name the field at the start of their message ("email: not a valid e-mail address"); a code
the catalogue knows (`err.<code>`) is shown in the reader's language, anything else as the service said it.
"""

from __future__ import annotations

from pydantic import ValidationError

from core.errors import ParleyError
from web.console.i18n import CATALOGUE, Lang, translate


def message(lang: Lang, exc: ParleyError) -> str:
    """The service's message (it names the limit, the type, the figures); in Chinese a translated sentence
    first when the catalogue knows the code, with the English detail after it."""
    key = f"err.{exc.code}"
    if lang == "en" or key not in CATALOGUE:
        return exc.message
    return f"{translate(lang, key)}（{exc.message}）"


def field_error(lang: Lang, exc: ParleyError, fields: tuple[str, ...], default: str) -> dict[str, str]:
    """{field: text} for the field the error names, else for `default`."""
    head, _, rest = exc.message.partition(": ")
    field = head if head in fields and rest else default
    key = f"err.{exc.code}"
    text = translate(lang, key) if key in CATALOGUE else (rest if field == head else exc.message)
    return {field: text}


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """{input: message} from an API request model's errors (the first part of a location is the field)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return errors
