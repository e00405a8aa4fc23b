"""Sign-in throttling: failed attempts counted per e-mail address and per network address in a window.

The failures live in the database (staff_sign_in_failures), so every process behind a load balancer
counts the same ones. An attempt counts as a failure from before its password is checked (and stops
counting once the password proves right), so guesses sent at once cannot slip past the limit together. A
locked e-mail address is refused before its password is checked: guessing goes no further while the lock
holds, even with the right password.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, func, select

from core.db import Database, new_id, utcnow
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

    def attempt(self, email: str, address: str) -> list[str]:
        """Count this attempt as a failure before its password is checked, then raise RateLimited when
        either address is past its limit. Counted first so that guesses sent in parallel cannot all pass
        the check before any of them is recorded. Returns the attempt's rows (`succeeded` removes them)."""
        now = utcnow()
        since = now - self._window
        rows = {
            kind: SignInFailure(id=new_id(), scope=scope, at=now)
            for kind, scope in self._scopes(email, address).items()
        }
        with self._db.session() as session:
            for scope in self._scopes(email, address).values():  # what the window no longer counts
                session.execute(
                    delete(SignInFailure).where(SignInFailure.scope == scope, SignInFailure.at <= since)
                )
            session.add_all(rows.values())
        with self._db.session() as session:
            for kind, row in rows.items():
                count, oldest = session.execute(
                    select(func.count(), func.min(SignInFailure.at)).where(
                        SignInFailure.scope == row.scope, SignInFailure.at > since
                    )
                ).one()
                if count > self._limits[kind]:
                    # A refused attempt does not count: the lock ends a window after the failures that set it.
                    session.execute(
                        delete(SignInFailure).where(SignInFailure.id.in_([r.id for r in rows.values()]))
                    )
                    wait = (oldest + self._window - utcnow()).total_seconds()
                    minutes = max(1, math.ceil(wait / 60))
                    whom = "this e-mail address" if kind == "email" else "your network address"
                    raise RateLimited(
                        f"too many failed sign-ins for {whom}; try again in {minutes} minute"
                        f"{'s' if minutes > 1 else ''}",
                        retry_after=max(1, math.ceil(wait)),
                        code="sign_in_throttled",
                    )
        return [row.id for row in rows.values()]

    def succeeded(self, email: str, attempt: list[str]) -> None:
        """A right password: the attempt was no failure, and the e-mail address's failures are cleared (the
        network address keeps its other failures)."""
        with self._db.session() as session:
            session.execute(delete(SignInFailure).where(SignInFailure.id.in_(attempt)))
            session.execute(
                delete(SignInFailure).where(SignInFailure.scope == self._scopes(email, "")["email"])
            )

    def prune(self) -> int:
        """Delete the failures the window no longer counts (the retention sweep; an address that never
        fails again would keep its rows otherwise). Returns how many."""
        with self._db.session() as session:
            gone = session.execute(delete(SignInFailure).where(SignInFailure.at <= utcnow() - self._window))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]
