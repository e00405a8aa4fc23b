"""Contact attributes: the built-in fields every contact has, and typed custom attributes a tenant defines.

A custom attribute's value is checked and normalised on every write (API, import, agent tool), so what is
stored always has the defined type: numbers are numbers, dates are ISO dates, choices are among the options.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import AuditLog
from core.db import Base, Database, UTCDateTime, new_id, utcnow
from core.errors import Conflict, InvalidInput, NotFound

AttributeType = Literal["text", "number", "date", "boolean", "single_choice", "multi_choice"]
ATTRIBUTE_TYPES: tuple[str, ...] = ("text", "number", "date", "boolean", "single_choice", "multi_choice")
# Built-in contact fields (columns of their own); a custom attribute may not reuse these keys.
BUILT_IN = (
    "first_name",
    "last_name",
    "name",
    "phone",
    "email",
    "country",
    "company",
    "job_title",
    "owner",
    "tags",
    "opted_out",
    "created_at",
    "last_contacted_at",
    "id",  # the rest name columns of the contacts export, which imports back
    "lead_score",
)
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 2000


class AttributeDefinition(Base):
    __tablename__ = "attribute_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_attribute_definitions_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)  # for single/multi choice
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def coerce(definition: AttributeDefinition, value: Any) -> Any:
    """The stored form of `value` for this attribute, or InvalidInput naming the attribute and the problem."""
    if value is None:
        return None
    name, kind = definition.key, definition.type
    if kind == "text":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(f"attribute {name!r} is text; got {type(value).__name__}")
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"attribute {name!r} is longer than {MAX_TEXT} characters")
        return text
    if kind == "number":
        if isinstance(value, bool):
            raise InvalidInput(f"attribute {name!r} is a number; got a boolean")
        try:
            number = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"attribute {name!r} is a number; got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidInput(f"attribute {name!r} is a number; got {value!r}")
        return int(number) if number.is_integer() else number
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError:
            raise InvalidInput(f"attribute {name!r} is a date (YYYY-MM-DD); got {value!r}") from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if str(value).strip().lower() in words:
            return words[str(value).strip().lower()]
        raise InvalidInput(f"attribute {name!r} is true or false; got {value!r}")
    options = definition.options
    if kind == "single_choice":
        if str(value) not in options:
            raise InvalidInput(f"attribute {name!r} must be one of {options}; got {value!r}")
        return str(value)
    # multi_choice: a list, or a comma-separated string (spreadsheets)
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise InvalidInput(f"attribute {name!r} is a list of choices; got {value!r}")
    unknown = [str(v) for v in items if str(v) not in options]
    if unknown:
        raise InvalidInput(f"attribute {name!r}: {unknown} not among {options}")
    return list(dict.fromkeys(str(v) for v in items if str(v)))


class AttributeStore:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def create(
        self, tenant_id: str, actor: str, key: str, label: str, kind: str, options: list[str]
    ) -> AttributeDefinition:
        if not KEY_PATTERN.match(key):
            raise InvalidInput(
                f"attribute key {key!r}: lowercase letters, digits and _, starting with a letter"
            )
        if key in BUILT_IN:
            raise InvalidInput(f"attribute key {key!r} is a built-in contact field")
        if kind not in ATTRIBUTE_TYPES:
            raise InvalidInput(f"attribute type {kind!r}: one of {list(ATTRIBUTE_TYPES)}")
        choices = list(dict.fromkeys(o.strip() for o in options if o.strip()))
        if kind.endswith("_choice") and not choices:
            raise InvalidInput(f"attribute {key!r} is a {kind}: give it options")
        with self._db.session() as session:
            exists = session.scalar(
                select(AttributeDefinition.id).where(
                    AttributeDefinition.tenant_id == tenant_id, AttributeDefinition.key == key
                )
            )
            if exists:
                raise Conflict(f"attribute {key!r} already exists")
            definition = AttributeDefinition(
                tenant_id=tenant_id,
                key=key,
                label=label,
                type=kind,
                options=choices if kind.endswith("_choice") else [],
            )
            session.add(definition)
            session.flush()
            after = {"label": label, "type": kind, "options": definition.options}
            self._audit.record(session, tenant_id, actor, "attribute.create", "attribute", key, None, after)
        return definition

    def all(self, tenant_id: str) -> list[AttributeDefinition]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(AttributeDefinition)
                    .where(AttributeDefinition.tenant_id == tenant_id)
                    .order_by(AttributeDefinition.created_at)
                )
            )

    def definitions(self, tenant_id: str) -> dict[str, AttributeDefinition]:
        return {d.key: d for d in self.all(tenant_id)}

    def delete(self, tenant_id: str, actor: str, key: str) -> None:
        """Removes the definition; values already stored on contacts stay (and stay exportable)."""
        with self._db.session() as session:
            definition = session.scalar(
                select(AttributeDefinition).where(
                    AttributeDefinition.tenant_id == tenant_id, AttributeDefinition.key == key
                )
            )
            if definition is None:
                raise NotFound(f"attribute {key!r} not found")
            session.delete(definition)
            self._audit.record(session, tenant_id, actor, "attribute.delete", "attribute", key)

    def validate(self, tenant_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Custom attribute values checked against their definitions; unknown keys are refused by name."""
        definitions = self.definitions(tenant_id)
        unknown = sorted(set(values) - set(definitions))
        if unknown:
            raise InvalidInput(f"unknown attribute(s) {unknown}; define them first with POST /v1/attributes")
        return {key: coerce(definitions[key], value) for key, value in values.items()}
