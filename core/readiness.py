"""Readiness: can this process do its work right now? Each check is registered by name (app.py wires
them: the database, the knowledge index, live workers) and returns None when fine or what is wrong.

Checks run in threads with a deadline, so a database or Qdrant server that hangs makes /readyz answer
"not ready" in seconds instead of hanging the probe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Check = Callable[[], str | None]
TIMEOUT_SECONDS = 5.0


class Readiness:
    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._checks: list[tuple[str, Check]] = []
        self._timeout = timeout

    def add(self, name: str, check: Check) -> None:
        self._checks.append((name, check))

    async def report(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        """(all ready, {check: {"ok": bool, "detail"?: str}})."""
        results = await asyncio.gather(*(self._run(check) for _, check in self._checks))
        checks: dict[str, dict[str, Any]] = {}
        for (name, _), problem in zip(self._checks, results, strict=True):
            checks[name] = {"ok": problem is None} | ({"detail": problem} if problem else {})
        return all(problem is None for problem in results), checks

    async def _run(self, check: Check) -> str | None:
        try:
            return await asyncio.wait_for(asyncio.to_thread(check), self._timeout)
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as exc:
            log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
            return f"{type(exc).__name__}: {exc}"[:300]
