"""A value computed from one tenant's knowledge, kept until that knowledge changes.

The key is the tenant's source fingerprint (ids, versions, states: one small query), so every process
sees a change as soon as the database does; entries live in a bounded LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_TENANTS = 256


class PerTenant(Generic[T]):
    def __init__(
        self,
        compute: Callable[[str], T],
        fingerprint: Callable[[str], Hashable],
        max_tenants: int = MAX_TENANTS,
    ) -> None:
        self._compute = compute
        self._fingerprint = fingerprint
        self._max = max_tenants
        self._entries: OrderedDict[str, tuple[Hashable, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> T:
        key = self._fingerprint(tenant_id)
        with self._lock:
            found = self._entries.get(tenant_id)
            if found is not None and found[0] == key:
                self._entries.move_to_end(tenant_id)
                return found[1]
        value = self._compute(tenant_id)  # outside the lock: it may search the index
        with self._lock:
            self._entries[tenant_id] = (key, value)
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value
