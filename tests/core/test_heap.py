"""After start, what the app built is out of the collector's full passes (PARLEY_GC_FREEZE, on by default)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import services


def walked_by_collector(obj: object) -> bool:
    # Called only once the app has stopped: gc.get_objects() takes a reference to every tracked object,
    # including a tuple another thread is still building, and CPython then fails that thread's resize
    # (SystemError "bad argument to internal function"), which CI once saw in the job worker.
    return any(tracked is obj for tracked in gc.get_objects())  # generations 0-2, not the frozen one


def test_startup_heap_is_frozen_when_enabled(app_factory: Callable[..., Any]) -> None:
    try:
        with TestClient(app_factory(gc_freeze=True)) as client:
            core = services(client).core
            assert gc.get_freeze_count() > 10_000
        assert not walked_by_collector(core)
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual


def test_nothing_is_frozen_when_disabled(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory()) as client:
        assert gc.get_freeze_count() == 0
        core = services(client).core
    assert walked_by_collector(core)
