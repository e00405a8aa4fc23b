"""Start refuses to run beside a live process whose keys differ from this one's when either generated them.

A secret key (PARLEY_SECRET_KEY) or admin key (PARLEY_ADMIN_KEY) left unset is generated into the data dir.
That suits one machine. A process on another machine sharing the database generates keys of its own:
channel secrets sealed by one cannot be opened by the other, and which admin key works depends on which
process answers. So every process records its keys' fingerprints (a SHA-256, never a key) and whether it
generated each, and renews the record while it runs (every PARLEY_WORKER_HEARTBEAT_SECONDS). A process
starting refuses when a live one holds a different key that either of them generated. Configured keys
that differ are let be: rolling a new admin key out restarts processes one at a time.

Record first, then look: two processes starting at once each find the other, and both refuse rather
than both run. A process that stops removes its record; one that dies stops renewing it, and after three
missed renewals it no longer counts.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from core.db import Database, utcnow
from core.heartbeat import Heartbeat
from core.liveness import STALE_AFTER_BEATS, worker_id
from core.models import ProcessKeys

FINGERPRINT_PREFIX = b"parley key fingerprint\0"
ADMIN_KEY = "PARLEY_ADMIN_KEY"
SECRET_KEY = "PARLEY_SECRET_KEY"
KEY_FILES = {ADMIN_KEY: "admin_key", SECRET_KEY: "secret_key"}  # where a generated key is kept


def fingerprint(key: str) -> str:
    return hashlib.sha256(FINGERPRINT_PREFIX + key.encode()).hexdigest()


@dataclass(frozen=True)
class StartKey:
    """One key this process runs with, by the setting that configures it."""

    setting: str  # PARLEY_ADMIN_KEY | PARLEY_SECRET_KEY
    value: str
    generated: bool  # not configured: read from (or written to) the data dir


class KeysDiffer(ValueError):
    """Another live process holds a different key that one of the two generated. A ValueError, as a bad
    setting is: `parley worker` says it plainly and exits 2."""


class ProcessKeysRegistry:
    def __init__(self, db: Database, every_seconds: float) -> None:
        self._db = db
        self.every = every_seconds

    def start(self, admin: StartKey, secret: StartKey) -> str:
        """Record this process's keys; its id, to renew and remove the record. Raises KeysDiffer (and
        records nothing) when a live process's keys differ from these where either side generated them."""
        process = worker_id()
        now = utcnow()
        with self._db.session() as session:
            session.add(
                ProcessKeys(
                    id=process,
                    admin_key_fingerprint=fingerprint(admin.value),
                    admin_key_generated=admin.generated,
                    secret_key_fingerprint=fingerprint(secret.value),
                    secret_key_generated=secret.generated,
                    started_at=now,
                    beat_at=now,
                )
            )
        since = utcnow() - timedelta(seconds=self.every * STALE_AFTER_BEATS)
        with self._db.session() as session:
            others = session.scalars(
                select(ProcessKeys).where(ProcessKeys.id != process, ProcessKeys.beat_at >= since)
            ).all()
        for other in others:
            differing = [
                key.setting
                for key, their_print, they_generated in (
                    (admin, other.admin_key_fingerprint, other.admin_key_generated),
                    (secret, other.secret_key_fingerprint, other.secret_key_generated),
                )
                if their_print != fingerprint(key.value) and (key.generated or they_generated)
            ]
            if differing:
                self.gone(process)
                raise KeysDiffer(_refusal(other, differing, self.every * STALE_AFTER_BEATS))
        return process

    @contextmanager
    def recorded(self, admin: StartKey, secret: StartKey) -> Iterator[str]:
        """`start`, then the record renewed from a thread of its own until the block ends, then removed."""
        process = self.start(admin, secret)
        try:
            with Heartbeat(lambda: self.beat(process), every=self.every, name="parley-keys"):
                yield process
        finally:
            self.gone(process)

    def beat(self, process: str) -> bool:
        """Renew the record (Heartbeat's renew: True while it is ours)."""
        with self._db.session() as session:
            renewed = session.execute(
                update(ProcessKeys)
                .where(ProcessKeys.id == process)
                .values(beat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return bool(renewed.rowcount)  # type: ignore[attr-defined]

    def gone(self, process: str) -> None:
        with self._db.session() as session:
            session.execute(delete(ProcessKeys).where(ProcessKeys.id == process))

    def prune(self, older_than: timedelta) -> int:
        """Remove the records of processes that died long ago (the retention sweep)."""
        with self._db.session() as session:
            result = session.execute(delete(ProcessKeys).where(ProcessKeys.beat_at < utcnow() - older_than))
            return int(result.rowcount)  # type: ignore[attr-defined]


def _refusal(other: ProcessKeys, settings: list[str], stale_seconds: float) -> str:
    host = other.id.split(":", 1)[0]
    here = socket.gethostname()[:60]
    names = " and ".join(settings)
    files = " and ".join(KEY_FILES[setting] for setting in settings)
    return (
        f"another Parley process sharing this database (on {host!r}; this is {here!r}) runs with a "
        f"different {names}, generated rather than configured on one side. Processes that share a "
        f"database need the same keys: set {names} on every process (to what the running process "
        f"generated into its data dir: {files}, so what it stored stays readable). If that process is "
        f"gone, its record lapses {stale_seconds:.0f} s after its last heartbeat."
    )
