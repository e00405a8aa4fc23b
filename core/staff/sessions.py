"""Signed-in console sessions: a random token in an HttpOnly cookie, its SHA-256 hash in the database.

A token carries 256 bits of randomness, so a fast hash is enough (as for API keys, core/auth.py). The
CSRF token of a session is derived from the session token with HMAC: forms carry it, the database never
holds it, and a copy of the database cannot forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from core.db import Database, utcnow
from core.staff.models import StaffSession, StaffUser


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"parley console csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session and its user, as one request sees them."""

    user: StaffUser
    session_id: str
    token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


class SessionStore:
    def __init__(self, db: Database, lifetime: timedelta) -> None:
        self._db = db
        self._lifetime = lifetime

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    def open(self, user_id: str) -> str:
        """A new session for the user; the token is returned once (it goes into the cookie)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self._db.session() as session:
            # Expired sessions of this user go as a new one starts: the table does not grow without bound.
            session.execute(
                delete(StaffSession).where(StaffSession.user_id == user_id, StaffSession.expires_at <= now)
            )
            session.add(
                StaffSession(
                    user_id=user_id,
                    token_hash=hash_token(token),
                    created_at=now,
                    expires_at=now + self._lifetime,
                )
            )
        return token

    def resolve(self, token: str | None) -> SignedIn | None:
        """The session's user, or None for no token, an unknown, expired or ended session."""
        if not token or len(token) > 100:
            return None
        with self._db.session() as session:
            row = session.execute(
                select(StaffSession, StaffUser)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffSession.token_hash == hash_token(token))
            ).one_or_none()
        if row is None or row[0].expires_at <= utcnow():
            return None
        return SignedIn(user=row[1], session_id=row[0].id, token=token)

    def close(self, token: str) -> None:
        with self._db.session() as session:
            session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))

    def close_others(self, user_id: str, keep_session_id: str | None) -> int:
        """End every session of the user but one (after a password change); returns how many ended."""
        query = delete(StaffSession).where(StaffSession.user_id == user_id)
        if keep_session_id:
            query = query.where(StaffSession.id != keep_session_id)
        with self._db.session() as session:
            return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]

    def prune(self) -> int:
        """Delete ended sessions (the retention sweep: a user who never signs in again keeps them otherwise)."""
        with self._db.session() as session:
            gone = session.execute(delete(StaffSession).where(StaffSession.expires_at <= utcnow()))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]
