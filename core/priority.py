"""Foreground first: background threads step aside while HTTP requests are in flight.

The embedded default runs the API and the background worker in one process, so they share one GIL. A
webhook acknowledgement needs a few milliseconds of it; an agent turn needs tens. Thread priorities do
not order the GIL, and with several worker threads competing, a request would wait behind all of them.
So the worker yields cooperatively: at points where it holds no database lock (between jobs, when a
session checks out a connection, between agent graph steps) a background thread pauses while any
request is being served, for at most MAX_PAUSE_SECONDS per point, so background work still makes
progress under a constant stream of requests.

One process has one GIL, which is why the request count is one process-wide value.
"""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_PAUSE_SECONDS = 0.05
_thread = threading.local()
_in_flight = 0  # written only by the event loop thread, read by background threads
_idle = threading.Event()  # set while no request is in flight: paused threads wake once, not by polling
_idle.set()


def in_flight() -> int:
    return _in_flight


def mark_background() -> None:
    """Mark the calling thread as background work (the worker's threads)."""
    _thread.background = True


def is_background() -> bool:
    return bool(getattr(_thread, "background", False))


def step_aside() -> None:
    """On a background thread: wait (without the GIL) while requests are in flight, up to the cap."""
    if _in_flight and getattr(_thread, "background", False):
        _idle.wait(MAX_PAUSE_SECONDS)


class ForegroundMiddleware:
    """Counts the HTTP requests being served (pure ASGI: no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        global _in_flight
        if scope["type"] != "http":  # WebSockets are long-lived: they are not "a request in flight"
            await self.app(scope, receive, send)
            return
        if not _in_flight:
            _idle.clear()
        _in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            _in_flight -= 1
            if not _in_flight:
                _idle.set()
