"""The live-chat turn locks of this process: one per conversation (and one per visitor while their first
message starts the conversation), held only while someone uses it.

Every conversation that ever chatted would otherwise leave a lock behind. A lock lives while a socket of its
conversation is open or a turn holds it (a `WeakValueDictionary` drops it with the last reference), so the
table holds the conversations being talked in now, however many have finished. Built once per app.
"""

from __future__ import annotations

import asyncio
import weakref


class TurnLocks:
    """The conversation and visitor locks: `conversation(id)` gives every caller of one id the same lock
    while any of them still holds it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def conversation(self, conversation_id: str) -> asyncio.Lock:
        """One turn at a time per conversation (two tabs, a reload racing the old socket, the restart sweep)."""
        return self._get(conversation_id)

    def visitor(self, visitor: str) -> asyncio.Lock:
        """Two sockets of one new visitor token start its conversation one at a time."""
        return self._get("visitor:" + visitor)

    def _get(self, key: str) -> asyncio.Lock:
        # The caller keeps the lock it gets (a reference), which is what keeps the entry alive.
        return self._locks.setdefault(key, asyncio.Lock())

    def __len__(self) -> int:
        return len(self._locks)
