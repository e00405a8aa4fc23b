"""HTTP for the channel adapters' sends: one pooled client per event loop, and one long-lived loop per
worker thread.

Opening a client per message means a new TCP connection and a TLS handshake to the platform for every reply
(tens to hundreds of milliseconds each, and CPU). A client is bound to the event loop it was first used in,
so the pool keeps one per loop. Background jobs are synchronous: a fresh `asyncio.run()` loop per send would
get a fresh client every time, so `run_send` runs them on one long-lived loop per thread instead, and the
connections outlive a single reply. The app builds one `HttpPool` and hands it to the adapters and senders;
it closes them all when it stops (`close_idle_loops`, `aclose_running_loop_client`). Its tables hold the loops
and clients of live threads: a closed loop's client is dropped when the next client is made.

One client serves every tenant and platform, so it carries nothing of theirs: credentials go on each request,
and it keeps no cookies (a cookie one platform sets must not travel with another tenant's request).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
from collections.abc import Coroutine
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TypeVar

import certifi
import httpx

T = TypeVar("T")
TIMEOUT_SECONDS = 10.0
# Replies to one platform come seconds apart, not milliseconds: keep idle connections for 30 s (httpx: 5 s).
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


@functools.cache
def tls() -> ssl.SSLContext:
    """Loading the CA bundle takes milliseconds: once per process, not once per client."""
    return ssl.create_default_context(cafile=certifi.where())


class HttpPool:
    """The pooled clients (one per event loop) and the send loops (one per worker thread) of one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # loops of several threads share the tables
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._thread_loops: set[asyncio.AbstractEventLoop] = (
            set()
        )  # made by run_send, closed by close_idle_loops
        self._thread = threading.local()

    def client(self) -> httpx.AsyncClient:
        """The pooled client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            pooled = self._clients.get(loop)
            if pooled is None:
                # A client references its loop, so nothing else ever frees an entry: drop those of loops that
                # were closed elsewhere (one asyncio.run() loop per send used to leak a socket per reply this way).
                for closed in [other for other in self._clients if other.is_closed()]:
                    del self._clients[closed]
                no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
                pooled = self._clients[loop] = httpx.AsyncClient(
                    timeout=TIMEOUT_SECONDS, verify=tls(), cookies=no_cookies, limits=LIMITS
                )
        return pooled

    def run_send(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a send from synchronous code (a background job) on this thread's own long-lived event loop.
        Like asyncio.run, it leaves no task behind: whatever the coroutine started and left is cancelled."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._thread, "loop", None)
        if loop is None or loop.is_closed():
            loop = self._thread.loop = asyncio.new_event_loop()
            with self._lock:
                self._thread_loops.add(loop)
        try:
            return loop.run_until_complete(coroutine)
        finally:
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))

    async def aclose_running_loop_client(self) -> None:
        """Close the running loop's client (the server's own loop, at shutdown)."""
        with self._lock:
            pooled = self._clients.pop(asyncio.get_running_loop(), None)
        if pooled is not None:
            await pooled.aclose()

    def close_idle_loops(self) -> None:
        """Close the loops run_send made, with their clients, once their threads are done (the worker
        stopped). A loop still running a send is left alone."""
        with self._lock:
            idle = [loop for loop in self._thread_loops if not loop.is_running()]
            self._thread_loops.difference_update(idle)
            clients = [self._clients.pop(loop, None) for loop in idle]
        for loop, pooled in zip(idle, clients, strict=True):
            if not loop.is_closed():
                if pooled is not None:
                    loop.run_until_complete(pooled.aclose())
                loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()
