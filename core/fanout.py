"""Sockets held by this process, reached from any process.

An event goes over the bus (core/bus.py) as a reference (ids and a few small fields, never a message's
text: NOTIFY carries at most 8000 bytes). Each process that holds sockets for the event's key loads what
the reference names, once, and sends it to them; processes without such a socket do nothing. Events of
one key are sent in the order they were heard.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket

from core.bus import Bus

log = logging.getLogger(__name__)

# reference -> what the sockets are sent (None: nothing, e.g. the row is gone); run in a thread
Load = Callable[[dict[str, Any]], dict[str, Any] | None]


class SocketFanout:
    """`publish` from any thread; sockets are added and removed on this process's event loop."""

    def __init__(self, bus: Bus, topic: str, *, key: str, load: Load) -> None:
        self._bus = bus
        self._topic = topic
        self._key = key
        self._load = load
        self._sockets: dict[str, set[WebSocket]] = {}
        self._loop = asyncio.get_running_loop()
        # One lock per key while its events are on their way (FIFO: they go out in the order heard).
        self._order: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._sending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
        bus.subscribe(topic, self._heard)

    def add(self, key: str, ws: WebSocket) -> None:
        self._sockets.setdefault(key, set()).add(ws)

    def remove(self, key: str, ws: WebSocket) -> None:
        sockets = self._sockets.get(key)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[key]

    def publish(self, reference: dict[str, Any]) -> None:
        """Reach the sockets of `reference[key]` in every process (this one included)."""
        self._bus.publish(self._topic, reference)

    def _heard(self, reference: dict[str, Any]) -> None:
        # In the bus's thread (or the publisher's): over to the loop that owns the sockets.
        if not self._loop.is_closed():  # shutting down: nobody is listening any more
            self._loop.call_soon_threadsafe(self._dispatch, reference)

    def _dispatch(self, reference: dict[str, Any]) -> None:
        key = str(reference.get(self._key))
        if key in self._sockets:  # no socket for it here: nothing to load
            lock = self._order.setdefault(key, asyncio.Lock())
            task = self._loop.create_task(self._send(key, lock, reference))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, key: str, lock: asyncio.Lock, reference: dict[str, Any]) -> None:
        async with lock:
            try:
                event = await asyncio.to_thread(self._load, reference)
            except Exception:  # a row deleted meanwhile, a database hiccup: clients reload on reconnect
                log.warning("could not load %s event %s", self._topic, reference, exc_info=True)
                return
            if event is None:
                return
            for ws in list(self._sockets.get(key, ())):
                try:
                    await ws.send_json(event)
                except Exception:  # a client gone mid-send: it reloads when it reconnects
                    self.remove(key, ws)
