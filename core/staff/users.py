"""Staff users of a tenant: list, change role, remove, with the rule that a tenant keeps an admin.

Every change is audited in its own transaction, as the actor who made it (user:<id> or key:<id>).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.db import Database
from core.errors import Conflict, InvalidInput, NotFound
from core.staff.models import STAFF_ROLES, StaffUser

# No control characters either: PostgreSQL refuses a NUL in text, and no address holds one.
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


def normal_email(email: str) -> str:
    """The e-mail address as stored (trimmed, lower case), or InvalidInput naming the field."""
    email = email.strip().lower()
    if not email:
        raise InvalidInput("email: required", code="invalid_email")
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise InvalidInput("email: not a valid e-mail address", code="invalid_email")
    return email


def check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role: one of {', '.join(STAFF_ROLES)}", code="invalid_role")
    return role


def user_fields(user: StaffUser) -> dict[str, str]:
    """What the audit log keeps of a user (never the password hash)."""
    return {"email": user.email, "name": user.name, "role": user.role}


class UserStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self, tenant_id: str) -> list[StaffUser]:
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(StaffUser).where(StaffUser.tenant_id == tenant_id).order_by(StaffUser.created_at)
                )
            )

    def get(self, tenant_id: str, user_id: str) -> StaffUser:
        with self._db.session() as session:
            return self._owned(session, tenant_id, user_id)

    def by_email(self, email: str) -> StaffUser | None:
        with self._db.session() as session:
            return session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))

    def change_role(self, tenant_id: str, actor: str, user_id: str, role: str) -> StaffUser:
        check_role(role)
        with self._db.session() as session:
            user = self._owned(session, tenant_id, user_id)
            if user.role == role:
                return user
            if user.role == "admin":
                self._keep_an_admin(session, tenant_id, "change the role of")
            before = user_fields(user)
            user.role = role
            AuditLog.record(
                session, tenant_id, actor, "staff_user.role", "staff_user", user.id, before, user_fields(user)
            )
            return user

    def remove(self, tenant_id: str, actor: str, user_id: str) -> None:
        """Delete the user; their sessions end with them (foreign key cascade)."""
        with self._db.session() as session:
            user = self._owned(session, tenant_id, user_id)
            if user.role == "admin":
                self._keep_an_admin(session, tenant_id, "remove")
            AuditLog.record(
                session, tenant_id, actor, "staff_user.remove", "staff_user", user.id, user_fields(user)
            )
            session.delete(user)

    @staticmethod
    def _keep_an_admin(session: Session, tenant_id: str, verb: str) -> None:
        admins = session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(StaffUser.tenant_id == tenant_id, StaffUser.role == "admin")
        )
        if (admins or 0) <= 1:
            raise Conflict(f"cannot {verb} the last admin: make another user admin first", code="last_admin")

    @staticmethod
    def _owned(session: Session, tenant_id: str, user_id: str) -> StaffUser:
        user = session.scalar(
            select(StaffUser).where(StaffUser.id == user_id, StaffUser.tenant_id == tenant_id)
        )
        if user is None:
            raise NotFound(f"staff user {user_id} not found")
        return user
