"""Sign-in throttling: failed attempts counted per e-mail address and per network address in a window.

The failures live in the database (staff_sign_in_failures), so every process behind a load balancer
counts the same ones. A locked e-mail address is refused before its password is checked: guessing goes
no further while the lock holds, even with the right password.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func, select

from core.db import Database, utcnow
from core.errors import RateLimited
from core.staff.models import SignInFailure


class SignInThrottle:
    def __init__(self, db: Database, *, per_email: int, per_address: int, window: timedelta) -> None:
        self._db = db
        self._limits = {"email": per_email, "address": per_address}
        self._window = window

    @staticmethod
    def _scopes(email: str, address: str) -> dict[str, str]:
        return {"email": f"email:{email.strip().lower()[:254]}", "address": f"address:{address[:100]}"}

    def check(self, email: str, address: str) -> None:
        """Raise RateLimited when either the e-mail address or the network address has used its failures."""
        since = utcnow() - self._window
        with self._db.session() as session:
            for kind, scope in self._scopes(email, address).items():
                count, oldest = session.execute(
                    select(func.count(), func.min(SignInFailure.at)).where(
                        SignInFailure.scope == scope, SignInFailure.at > since
                    )
                ).one()
                if count >= self._limits[kind]:
                    wait = (oldest + self._window - utcnow()).total_seconds()
                    minutes = max(1, math.ceil(wait / 60))
                    whom = "this e-mail address" if kind == "email" else "your network address"
                    raise RateLimited(
                        f"too many failed sign-ins for {whom}; try again in {minutes} minute"
                        f"{'s' if minutes > 1 else ''}",
                        retry_after=max(1, math.ceil(wait)),
                        code="sign_in_throttled",
                    )

    def failed(self, email: str, address: str) -> None:
        """Count a failure against both, and drop this scope's failures the window no longer counts."""
        now = utcnow()
        with self._db.session() as session:
            for scope in self._scopes(email, address).values():
                session.execute(
                    delete(SignInFailure).where(
                        SignInFailure.scope == scope, SignInFailure.at <= now - self._window
                    )
                )
                session.add(SignInFailure(scope=scope, at=now))

    def succeeded(self, email: str) -> None:
        """A right password clears the e-mail address's failures (the network address keeps its count)."""
        with self._db.session() as session:
            session.execute(
                delete(SignInFailure).where(SignInFailure.scope == self._scopes(email, "")["email"])
            )
