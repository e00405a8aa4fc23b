"""HTTP for the channel adapters' sends: one pooled client per event loop, and one long-lived loop per
worker thread.

Opening a client per message means a new TCP connection and a TLS handshake to the platform for every reply
(tens to hundreds of milliseconds each, and CPU). A client is bound to the event loop it was first used in,
so the pool keeps one per loop. Background jobs are synchronous: a fresh `asyncio.run()` loop per send would
get a fresh client every time, so `run_send` runs them on one long-lived loop per thread instead, and the
connections outlive a single reply.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

import certifi
import httpx

T = TypeVar("T")
TIMEOUT_SECONDS = 10.0
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)
_clients_lock = threading.Lock()
_thread = threading.local()


@functools.cache
def tls() -> ssl.SSLContext:
    """Loading the CA bundle takes milliseconds: once per process, not once per client."""
    return ssl.create_default_context(cafile=certifi.where())


def client() -> httpx.AsyncClient:
    """The pooled client of the running event loop (credentials go on each request, never on the client)."""
    loop = asyncio.get_running_loop()
    with _clients_lock:  # loops of several threads share the table
        pooled = _clients.get(loop)
        if pooled is None:
            pooled = _clients[loop] = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, verify=tls())
    return pooled


def run_send(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a send from synchronous code (a background job) on this thread's own long-lived event loop."""
    loop: asyncio.AbstractEventLoop | None = getattr(_thread, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coroutine)
