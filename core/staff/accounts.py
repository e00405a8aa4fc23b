"""Staff accounts as one service: sign-in (throttled), sign-out, password change, users, invitations.

The console and the /v1/staff routes call this; the audit records each change as the staff user
(user:<id>) or the API key (key:<id>) that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from config import Settings
from core.audit import AuditLog, user_actor
from core.db import Database, utcnow
from core.errors import Conflict, InvalidInput, Unauthorized
from core.staff.invitations import Invitations
from core.staff.models import StaffUser
from core.staff.passwords import DUMMY_HASH, check_rules, hash_password, needs_rehash, verify_password
from core.staff.sessions import SessionStore, SignedIn
from core.staff.throttle import SignInThrottle
from core.staff.users import UserStore, check_role, normal_email, user_fields

WRONG_SIGN_IN = "wrong e-mail address or password"


@dataclass
class StaffAccounts:
    db: Database
    users: UserStore
    invitations: Invitations
    sessions: SessionStore
    throttle: SignInThrottle

    @classmethod
    def build(cls, db: Database, settings: Settings) -> StaffAccounts:
        return cls(
            db=db,
            users=UserStore(db),
            invitations=Invitations(db, timedelta(days=settings.console_invitation_days)),
            sessions=SessionStore(db, timedelta(hours=settings.console_session_hours)),
            throttle=SignInThrottle(
                db,
                per_email=settings.console_sign_in_failures_per_email,
                per_address=settings.console_sign_in_failures_per_address,
                window=timedelta(minutes=settings.console_sign_in_window_minutes),
            ),
        )

    def sign_in(self, email: str, password: str, address: str) -> str:
        """A new session token for the right e-mail and password; Unauthorized for a wrong pair (never
        saying which was wrong), RateLimited once either address has failed too often."""
        try:
            email = normal_email(email)
        except InvalidInput:  # no account has such an address (and a NUL would not reach the database)
            raise Unauthorized(WRONG_SIGN_IN, code="wrong_sign_in") from None
        attempt = self.throttle.attempt(email, address)  # a failure until the password proves otherwise
        user = self.users.by_email(email)
        if not verify_password(user.password_hash if user else DUMMY_HASH, password) or user is None:
            raise Unauthorized(WRONG_SIGN_IN, code="wrong_sign_in")
        self.throttle.succeeded(email, attempt)
        if needs_rehash(user.password_hash):
            self._set_password(user.id, password)
        return self.sessions.open(user.id)

    def prune(self) -> int:
        """The retention sweep's part: sign-in failures past their window, ended sessions and expired
        invitations nobody accepted."""
        return self.throttle.prune() + self.sessions.prune() + self.invitations.prune()

    def sign_out(self, token: str) -> None:
        self.sessions.close(token)

    def change_password(self, signed_in: SignedIn, current: str, new: str) -> None:
        """Needs the current password; every other session of the user ends (a stolen cookie stops working)."""
        user = self.users.get(signed_in.user.tenant_id, signed_in.user.id)
        if not verify_password(user.password_hash, current):
            raise InvalidInput("current_password: not your current password", code="wrong_password")
        check_rules(new, user.email)
        if new == current:
            raise InvalidInput("new_password: must differ from the current password", code="same_password")
        self._set_password(user.id, new, audit_as=user_actor(user.id))
        self.sessions.close_others(user.id, keep_session_id=signed_in.session_id)

    def create_user(
        self, tenant_id: str, actor: str, email: str, role: str, password: str, name: str = ""
    ) -> StaffUser:
        """A user with a password set by the caller (the demo admin; invitations are the usual way)."""
        email = normal_email(email)
        check_role(role)
        check_rules(password, email)
        password_hash = hash_password(password)
        with self.db.session() as session:
            if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
                raise Conflict(f"email: {email} already has a Parley account", code="email_taken")
            user = StaffUser(
                tenant_id=tenant_id, email=email, name=name[:200], role=role, password_hash=password_hash
            )
            session.add(user)
            session.flush()
            AuditLog.record(
                session, tenant_id, actor, "staff_user.create", "staff_user", user.id, after=user_fields(user)
            )
        return user

    def reset_password(self, tenant_id: str, actor: str, user_id: str, password: str) -> None:
        """Set a password without the current one (the operator's path, e.g. the demo's lost password file);
        every session of the user ends."""
        user = self.users.get(tenant_id, user_id)
        check_rules(password, user.email)
        self._set_password(user.id, password, audit_as=actor)
        self.sessions.close_others(user.id, keep_session_id=None)

    def _set_password(self, user_id: str, password: str, audit_as: str | None = None) -> None:
        password_hash = hash_password(password)
        with self.db.session() as session:
            user = session.get(StaffUser, user_id)
            if user is None:
                return
            user.password_hash = password_hash
            if audit_as is not None:  # a rehash at sign-in is not a change anyone made
                user.password_changed_at = utcnow()
                AuditLog.record(
                    session, user.tenant_id, audit_as, "staff_user.password", "staff_user", user.id
                )
