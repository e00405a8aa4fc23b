"""Invitations by link: an admin names an e-mail address and a role; the link's one-time token lets that
person set a password and become a user of the tenant, until it expires.

Inviting an address again replaces its open invitation (the older link stops working).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditLog, user_actor
from core.db import Database, utcnow
from core.errors import Conflict, NotFound
from core.staff.models import StaffInvitation, StaffUser
from core.staff.passwords import check_rules, hash_password
from core.staff.sessions import hash_token
from core.staff.users import check_role, normal_email, user_fields


class InvitationGone(NotFound):
    """The link is unknown, used or expired (all read the same to the visitor, on purpose)."""

    code = "invitation_gone"


@dataclass(frozen=True)
class Invited:
    invitation: StaffInvitation
    token: str  # returned once: the link is made of it


class Invitations:
    def __init__(self, db: Database, lifetime: timedelta) -> None:
        self._db = db
        self._lifetime = lifetime

    def create(self, tenant_id: str, actor: str, email: str, role: str) -> Invited:
        email = normal_email(email)
        check_role(role)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self._db.session() as session:
            if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
                raise Conflict(f"email: {email} already has a Parley account", code="email_taken")
            # The address's open invitation is replaced, and the tenant's expired ones go (the retention
            # sweep deletes them too, `prune`; accepted ones stay as the record of who invited whom).
            session.execute(
                delete(StaffInvitation).where(
                    StaffInvitation.tenant_id == tenant_id,
                    StaffInvitation.accepted_at.is_(None),
                    or_(StaffInvitation.email == email, StaffInvitation.expires_at <= now),
                )
            )
            invitation = StaffInvitation(
                tenant_id=tenant_id,
                email=email,
                role=role,
                token_hash=hash_token(token),
                invited_by=actor,
                created_at=now,
                expires_at=now + self._lifetime,
            )
            session.add(invitation)
            session.flush()
            AuditLog.record(
                session,
                tenant_id,
                actor,
                "staff_invitation.create",
                "staff_invitation",
                invitation.id,
                after={"email": email, "role": role},
            )
        return Invited(invitation, token)

    def pending(self, tenant_id: str) -> list[StaffInvitation]:
        """Open invitations that have not expired, newest first."""
        with self._db.session() as session:
            return list(
                session.scalars(
                    select(StaffInvitation)
                    .where(
                        StaffInvitation.tenant_id == tenant_id,
                        StaffInvitation.accepted_at.is_(None),
                        StaffInvitation.expires_at > utcnow(),
                    )
                    .order_by(StaffInvitation.created_at.desc())
                )
            )

    def revoke(self, tenant_id: str, actor: str, invitation_id: str) -> None:
        with self._db.session() as session:
            invitation = session.scalar(
                select(StaffInvitation).where(
                    StaffInvitation.id == invitation_id, StaffInvitation.tenant_id == tenant_id
                )
            )
            if invitation is None or invitation.accepted_at is not None:
                raise NotFound(f"invitation {invitation_id} not found")
            AuditLog.record(
                session,
                tenant_id,
                actor,
                "staff_invitation.revoke",
                "staff_invitation",
                invitation.id,
                before={"email": invitation.email, "role": invitation.role},
            )
            session.delete(invitation)

    def prune(self) -> int:
        """Delete expired invitations nobody accepted, of every tenant (the retention sweep: a tenant that
        never invites again keeps them otherwise). Accepted ones stay as the record of who invited whom."""
        with self._db.session() as session:
            gone = session.execute(
                delete(StaffInvitation).where(
                    StaffInvitation.accepted_at.is_(None), StaffInvitation.expires_at <= utcnow()
                )
            )
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def open(self, token: str) -> StaffInvitation:
        """The invitation a link names, while it can still be accepted."""
        with self._db.session() as session:
            invitation = session.scalar(
                select(StaffInvitation).where(StaffInvitation.token_hash == hash_token(token))
            )
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= utcnow():
            raise InvitationGone("this invitation link is not valid: it was used, replaced or has expired")
        return invitation

    def accept(self, token: str, name: str, password: str) -> StaffUser:
        """Create the invited user with this password; the link cannot be used again."""
        invitation = self.open(token)
        check_rules(password, invitation.email)
        password_hash = hash_password(password)  # outside the transaction: it takes tens of milliseconds
        try:
            with self._db.session() as session:
                row = session.scalar(
                    select(StaffInvitation)
                    .where(StaffInvitation.id == invitation.id, StaffInvitation.accepted_at.is_(None))
                    .with_for_update()
                )
                if row is None:  # accepted by another request a moment ago
                    raise InvitationGone(
                        "this invitation link is not valid: it was used, replaced or has expired"
                    )
                row.accepted_at = utcnow()
                user = StaffUser(
                    tenant_id=row.tenant_id,
                    email=row.email,
                    name=re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200],
                    role=row.role,
                    password_hash=password_hash,
                )
                session.add(user)
                session.flush()
                AuditLog.record(
                    session,
                    row.tenant_id,
                    user_actor(user.id),
                    "staff_invitation.accept",
                    "staff_user",
                    user.id,
                    after=user_fields(user),
                )
        except IntegrityError as exc:  # the address became a user meanwhile (another tenant's invitation)
            raise Conflict(
                f"email: {invitation.email} already has a Parley account", code="email_taken"
            ) from exc
        return user
