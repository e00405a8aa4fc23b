"""Keeping a lease alive while its work runs, so leases can be short.

A lease says "a worker is on this; if it dies, another takes over when the lease runs out". With a lease
of fixed length, that length must outlast the longest run (an upload's indexing takes minutes), so after
a crash the work waits that long before anyone resumes it. A heartbeat renews the lease every third of
its length from a thread of its own while the work runs: a live worker never loses its lease, however
long it runs, and a dead one stops renewing, so the work resumes seconds after a crash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Heartbeat:
    """`with Heartbeat(renew, every=...)`: calls `renew` every `every` seconds until the block ends.
    `renew` returns False when the lease is no longer ours (then `lost` is set and beating stops);
    an exception (a database hiccup) is logged and the next beat tries again."""

    def __init__(self, renew: Callable[[], bool], *, every: float, name: str = "parley-heartbeat") -> None:
        if every <= 0:
            raise ValueError("a heartbeat needs a positive interval")
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)
        self.lost = False
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                renewed = self._renew()
            except Exception:
                log.exception("renewing a lease failed; trying again at the next beat")
                continue
            self.beats += 1
            if not renewed:
                log.warning("a lease was lost while its work ran (another worker may have taken it)")
                self.lost = True
                return
