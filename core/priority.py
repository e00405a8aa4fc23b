"""Foreground first: while requests are being served, background threads get a bounded share of the CPU.

The embedded default runs the API and the background worker in one process, so they share one GIL. A
webhook acknowledgement needs a fraction of a millisecond of it; an agent turn needs tens. Thread
priorities do not order the GIL, and a busy worker thread takes the GIL back every switch interval, so
left alone the worker's threads would take half the process from requests under load.

So background threads account for themselves. At step points where they hold no lock (between jobs,
when a database session starts, between agent graph steps) a background thread charges the CPU time it
used since its last step point to one account shared by all of them. While the process is busy
serving requests, that account is paid back at `share` CPU-seconds per second, and a thread that finds
it in debt waits, without the GIL, until it is paid or the process is no longer busy. Background work as
a whole therefore gets at most `share` of one CPU under a stream of requests, however many threads it
runs; when the process is not busy its debt is forgiven and it runs freely.
CPU time, not wall time: a turn waiting on a network model uses none, so it is not held back.

Busy means a request is in flight, or the event loop fell behind while serving requests a moment ago
(`LoopWatch`). The second half matters: a background thread holding the GIL keeps the loop from even
reading the requests waiting in its sockets, so "in flight" alone drops to zero exactly when requests
wait longest (under a storm, 40 % of step points saw none in flight, and the worker took 25 % of the CPU
instead of 10 %). A late loop is the direct sign that requests are being kept waiting.

One process has one GIL, but the account and the request count belong to the app (one `Foreground` and
one `BackgroundShare` built per app): the worker marks each of its threads with its app's account, and a
thread that is not marked never steps aside.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_SHARE = 0.1
POLL_SECONDS = 0.02  # a waiting thread notices this soon that the process is no longer busy
WATCH_PERIOD_SECONDS = 0.01
LAG_THRESHOLD_SECONDS = 0.005  # the loop woke this much later than asked: requests are waiting
PRESSURE_HOLD_SECONDS = 0.2  # how long one late wake-up counts as busy
MIN_PAUSE_SECONDS = 0.001  # no spinning on a debt of microseconds
MAX_CREDIT_SECONDS = 0.005  # a long wait does not save up a burst that would stall requests

_thread = threading.local()  # per thread: whether it is background work, its account, its CPU mark


class Foreground:
    """The requests one app is serving: counted by ForegroundMiddleware, watched by LoopWatch."""

    def __init__(self) -> None:
        self.in_flight = 0  # written only by the event loop thread, read by background threads
        self.served = 0  # requests started, ever (the loop watch compares it between wake-ups)
        self.pressure_until = float("-inf")  # written by the loop watch

    def busy(self) -> bool:
        """Whether a request is being served, or the event loop fell behind serving them a moment ago."""
        return self.in_flight > 0 or time.monotonic() < self.pressure_until


class BackgroundShare:
    """The account background threads charge their CPU time to (clocks injectable for tests)."""

    def __init__(
        self,
        share: float = DEFAULT_SHARE,
        *,
        cpu: Callable[[], float] = time.thread_time,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        is_busy: Callable[[], bool],
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("the background share is a fraction of one CPU, above 0 and at most 1")
        self.share = share
        self._cpu, self._clock, self._sleep, self._busy = cpu, clock, sleep, is_busy
        self._lock = threading.Lock()
        self._debt = 0.0  # CPU-seconds used beyond the share (negative: a little credit)
        self._paid_until = clock()

    def step(self) -> float:
        """Charge the calling thread's CPU since its last step; wait while in debt and busy. Returns the wait."""
        if not self._busy():
            # Nobody is waiting on us: what was used is forgiven. Nor is this thread's CPU clock read (a
            # system call, not a vDSO read): the next step under load charges from its own mark on.
            _thread.cpu_mark = None
            with self._lock:
                self._debt, self._paid_until = 0.0, self._clock()
            return 0.0
        used = self._used_since_last_step()
        waited = 0.0
        while True:
            now = self._clock()
            with self._lock:
                if not self._busy():
                    self._debt, self._paid_until = 0.0, now  # the requests stopped: forgiven
                    return waited
                self._debt += used - (now - self._paid_until) * self.share
                self._debt = max(self._debt, -MAX_CREDIT_SECONDS)
                self._paid_until, used = now, 0.0
                if self._debt <= 0:
                    return waited
                pause = min(max(self._debt / self.share, MIN_PAUSE_SECONDS), POLL_SECONDS)
            self._sleep(pause)
            waited += pause

    def _used_since_last_step(self) -> float:
        cpu = self._cpu()
        last = getattr(_thread, "cpu_mark", None)
        _thread.cpu_mark = cpu
        return 0.0 if last is None else max(cpu - last, 0.0)


def mark_background(account: BackgroundShare | None = None) -> None:
    """Mark the calling thread as background work (the worker's threads), charging `account` (its app's
    share, PARLEY_BACKGROUND_SHARE) when it steps aside; without one it never waits."""
    _thread.background = True
    _thread.account = account


def is_background() -> bool:
    return bool(getattr(_thread, "background", False))


def step_aside() -> None:
    """On a background thread, at a point where it holds no lock: yield to requests (see above)."""
    account: BackgroundShare | None = getattr(_thread, "account", None)
    if account is not None:
        account.step()


class ForegroundMiddleware:
    """Counts the HTTP requests being served (pure ASGI: no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp, foreground: Foreground) -> None:
        self.app = app
        self.foreground = foreground

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # WebSockets are long-lived: they are not "a request in flight"
            await self.app(scope, receive, send)
            return
        counts = self.foreground
        counts.in_flight += 1
        counts.served += 1
        try:
            await self.app(scope, receive, send)
        finally:
            counts.in_flight -= 1


class LoopWatch:
    """A task on the serving event loop that wakes every WATCH_PERIOD_SECONDS; when it wakes more than
    LAG_THRESHOLD_SECONDS late and requests came in meanwhile, the process counts as busy for
    PRESSURE_HOLD_SECONDS. With no requests, a late loop (the worker's own GIL use) holds nothing back."""

    def __init__(self, foreground: Foreground, clock: Callable[[], float] = time.monotonic) -> None:
        self._foreground = foreground
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="parley-loop-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            asked, served = self._clock(), self._foreground.served
            await asyncio.sleep(WATCH_PERIOD_SECONDS)
            self.observe(self._clock() - asked - WATCH_PERIOD_SECONDS, self._foreground.served != served)

    def observe(self, lag: float, requests_came: bool) -> None:
        if lag > LAG_THRESHOLD_SECONDS and requests_came:
            self._foreground.pressure_until = self._clock() + PRESSURE_HOLD_SECONDS
