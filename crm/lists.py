"""Contact lists: static lists (members added and removed by hand, by import or by the agent) and condition
lists ("plan = premium and industry = tech") whose members are whoever matches now.

Conditions name a built-in field, `tags`, or a custom attribute as `attributes.<key>`, with an operator;
all conditions of a list must hold. They are checked against the attribute definitions when the list is
saved, so a typo is a 422 then, not an empty list later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import AuditLog
from core.db import Base, Database, UTCDateTime, new_id, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from crm.attributes import AttributeStore
from crm.contacts import FIELDS
from crm.models import Contact

Operator = Literal["eq", "ne", "contains", "in", "gt", "lt", "has", "empty", "not_empty"]


class Condition(BaseModel):
    field: str = Field(min_length=1, max_length=60, description="a contact field, tags, or attributes.<key>")
    op: Operator = "eq"
    value: Any = None


class ContactList(Base):
    __tablename__ = "contact_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_contact_lists_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # static | condition
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ListMember(Base):
    __tablename__ = "contact_list_members"

    list_id: Mapped[str] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _value(contact: Contact, field: str) -> Any:
    if field.startswith("attributes."):
        return (contact.attributes or {}).get(field.removeprefix("attributes."))
    return list(contact.tags or []) if field == "tags" else getattr(contact, field)


def _number(value: Any) -> float | str:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)  # dates compare as ISO text


def matches(contact: Contact, condition: Condition) -> bool:
    value, wanted, op = _value(contact, condition.field), condition.value, condition.op
    if op == "empty":
        return value in (None, "", [])
    if op == "not_empty":
        return value not in (None, "", [])
    if value is None:
        return op == "ne"
    if op in ("has", "contains") and isinstance(value, list):
        return wanted in value
    if op == "contains":
        return str(wanted).lower() in str(value).lower()
    if op == "in":
        return value in (wanted if isinstance(wanted, list) else [wanted])
    if op in ("gt", "lt"):
        left, right = _number(value), _number(wanted)
        if type(left) is not type(right):
            return False
        return left > right if op == "gt" else left < right  # type: ignore[operator]
    equal = str(value).lower() == str(wanted).lower() if isinstance(value, bool) else value == wanted
    return equal if op == "eq" else not equal


class ListStore:
    def __init__(self, db: Database, attributes: AttributeStore, audit: AuditLog) -> None:
        self._db = db
        self._attributes = attributes
        self._audit = audit

    def check_conditions(self, tenant_id: str, conditions: list[Condition]) -> None:
        known = self._attributes.definitions(tenant_id)
        for condition in conditions:
            field = condition.field
            if field.startswith("attributes."):
                if field.removeprefix("attributes.") not in known:
                    raise InvalidInput(f"condition on unknown attribute {field!r}")
            elif field not in (*FIELDS, "tags"):
                raise InvalidInput(
                    f"condition on unknown field {field!r}; use a contact field, tags or attributes.<key>"
                )
            if condition.op not in ("empty", "not_empty") and condition.value is None:
                raise InvalidInput(f"condition on {field!r} ({condition.op}) needs a value")

    def create(
        self, tenant_id: str, actor: str, name: str, kind: str, conditions: list[Condition]
    ) -> ContactList:
        if kind == "condition" and not conditions:
            raise InvalidInput("a condition list needs at least one condition")
        if kind == "static" and conditions:
            raise InvalidInput("a static list has members, not conditions")
        self.check_conditions(tenant_id, conditions)
        with self._db.session() as session:
            if session.scalar(
                select(ContactList.id).where(ContactList.tenant_id == tenant_id, ContactList.name == name)
            ):
                raise Conflict(f"a list named {name!r} exists")
            saved = [c.model_dump() for c in conditions]
            contact_list = ContactList(tenant_id=tenant_id, name=name, kind=kind, conditions=saved)
            session.add(contact_list)
            session.flush()
            self._audit.record(
                session,
                tenant_id,
                actor,
                "list.create",
                "list",
                contact_list.id,
                None,
                {"name": name, "kind": kind, "conditions": saved},
            )
        return contact_list

    def get(self, tenant_id: str, list_id: str) -> ContactList:
        with self._db.session() as session:
            found = session.scalar(
                select(ContactList).where(ContactList.id == list_id, ContactList.tenant_id == tenant_id)
            )
        if found is None:
            raise NotFound(f"list {list_id} not found")
        return found

    def find(self, tenant_id: str, name: str) -> ContactList:
        with self._db.session() as session:
            found = session.scalar(
                select(ContactList).where(ContactList.tenant_id == tenant_id, ContactList.name == name)
            )
        if found is None:
            raise NotFound(f"no list named {name!r}")
        return found

    def all(self, tenant_id: str) -> list[ContactList]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(ContactList).where(ContactList.tenant_id == tenant_id).order_by(ContactList.name)
                )
            )

    def delete(self, tenant_id: str, actor: str, list_id: str) -> None:
        contact_list = self.get(tenant_id, list_id)
        with self._db.session() as session:
            session.execute(delete(ContactList).where(ContactList.id == contact_list.id))
            self._audit.record(
                session, tenant_id, actor, "list.delete", "list", list_id, {"name": contact_list.name}, None
            )

    def add(self, tenant_id: str, actor: str, list_id: str, contact_ids: list[str]) -> int:
        """Add contacts to a static list; returns how many were new members."""
        contact_list = self.get(tenant_id, list_id)
        if contact_list.kind != "static":
            raise Conflict(
                f"list {contact_list.name!r} is a condition list: its members follow its conditions"
            )
        with self._db.session() as session:
            owned = set(
                session.scalars(
                    select(Contact.id).where(Contact.tenant_id == tenant_id, Contact.id.in_(contact_ids))
                )
            )
            missing = next((c for c in contact_ids if c not in owned), None)
            if missing is not None:
                raise NotFound(f"contact {missing} not found")  # as ContactStore.owned says it
            present = set(session.scalars(select(ListMember.contact_id).where(ListMember.list_id == list_id)))
            new = [c for c in dict.fromkeys(contact_ids) if c not in present]
            session.add_all(ListMember(list_id=list_id, contact_id=c) for c in new)
            for contact_id in new:
                self._audit.record(
                    session,
                    tenant_id,
                    actor,
                    "contact.list_add",
                    "contact",
                    contact_id,
                    None,
                    {"list": contact_list.name},
                )
        return len(new)

    def remove(self, tenant_id: str, actor: str, list_id: str, contact_id: str) -> None:
        contact_list = self.get(tenant_id, list_id)
        with self._db.session() as session:
            removed = session.execute(
                delete(ListMember).where(ListMember.list_id == list_id, ListMember.contact_id == contact_id)
            )
            if not removed.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"contact {contact_id} is not in list {contact_list.name!r}")
            self._audit.record(
                session,
                tenant_id,
                actor,
                "contact.list_remove",
                "contact",
                contact_id,
                {"list": contact_list.name},
                None,
            )

    def members(self, tenant_id: str, list_id: str) -> list[Contact]:
        contact_list = self.get(tenant_id, list_id)
        with self._db.session() as session:
            if contact_list.kind == "static":
                query = (
                    select(Contact)
                    .join(ListMember, ListMember.contact_id == Contact.id)
                    .where(ListMember.list_id == list_id, Contact.tenant_id == tenant_id)
                )
                return list(session.scalars(query.order_by(Contact.created_at, Contact.id)))
            everyone = session.scalars(
                select(Contact).where(Contact.tenant_id == tenant_id).order_by(Contact.created_at, Contact.id)
            )
            conditions = [Condition.model_validate(c) for c in contact_list.conditions]
            return [c for c in everyone if all(matches(c, condition) for condition in conditions)]
