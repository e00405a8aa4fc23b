"""Signed (timestamp, nonce) pairs, for a platform whose signature does not cover the body (WeChat signs
its token, timestamp and nonce only): without a record, a pair captured once would carry any body for as
long as it was accepted. Kept in the database, so every process agrees; a pair is kept with a digest of
its body, so a platform's retry of the same delivery is still taken (and deduplicated as usual) while the
same pair with another body is refused. Pairs older than the accepted window cannot be used again
anyway and are deleted.
"""

from __future__ import annotations

import hashlib
import threading
import time

from sqlalchemy import delete, select

from channels.models import SignedNonce
from core.bulk_insert import insert_rows
from core.db import Database, table_of
from core.errors import Unauthorized

_TABLE = table_of(SignedNonce)
_COLUMNS = ("channel_id", "signed_at", "nonce", "digest")
PRUNE_EVERY_SECONDS = 60.0


class SignedNonces:
    def __init__(self, db: Database, window_seconds: int) -> None:
        self._db = db
        self.window = window_seconds
        self._pruned_at = 0.0
        self._prune = threading.Lock()

    def claim(self, channel_id: str, signed_at: int, nonce: str, body: bytes) -> None:
        """Record the pair; raise Unauthorized if it was used before with another body."""
        digest = hashlib.sha256(body).hexdigest()
        with self._db.engine.begin() as connection:
            row = (channel_id, signed_at, nonce, digest)
            known: str | None = digest  # a new pair
            if not insert_rows(connection, _TABLE, _COLUMNS, [row], ignore_conflicts=True):
                known = connection.scalar(
                    select(SignedNonce.digest).where(
                        SignedNonce.channel_id == channel_id,
                        SignedNonce.signed_at == signed_at,
                        SignedNonce.nonce == nonce,
                    )
                )
        if known != digest:
            raise Unauthorized(
                "replayed signature: this timestamp and nonce were already used with another body"
            )
        self._prune_now_and_then()

    def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS or not self._prune.acquire(blocking=False):
            return
        try:
            self._pruned_at = now
            cutoff = int(time.time()) - self.window
            with self._db.engine.begin() as connection:
                connection.execute(delete(SignedNonce).where(SignedNonce.signed_at < cutoff))
        finally:
            self._prune.release()
