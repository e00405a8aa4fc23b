"""Row ids are UUIDv7: 32 hex digits, in creation order (within a millisecond too), never repeated."""

from __future__ import annotations

import time
import uuid

from core.db import new_id


def test_ids_are_uuid7_in_creation_order() -> None:
    earlier = [new_id() for _ in range(1000)]
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    assert len(set(earlier + later)) == 2000
    assert earlier + later == sorted(earlier + later)  # new rows append to the B-tree, in order
    for value in (earlier[0], later[-1]):
        parsed = uuid.UUID(value)
        assert len(value) == 32 and parsed.hex == value
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert abs(int(value[:12], 16) / 1000 - time.time()) < 5  # the first 48 bits are Unix milliseconds
