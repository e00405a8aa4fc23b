"""app.py's `wire`: every listener is hooked up once, by the composition root, on the services it built;
a second app in the same process hooks up its own and adds nothing to the first's (no global lists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from channels import broadcast_replies
from core.jobs import WAKE_TOPIC
from tests.conftest import services


def hook_ups(s: Any) -> dict[str, list[Any]]:
    """What each listener list `wire` adds to holds now (the lists are private: this test reads them)."""
    return {
        "erasure": [name for name, _ in s.crm.privacy._hooks],
        "after erasure": list(s.crm.privacy._after),
        "channel forgotten": list(s.channels._forget_listeners),
        "delivery status": list(s.channel_processor.status_listeners),
        "inbound": [type(listener) for listener in s.channel_processor.inbound_listeners],
        "interceptors": list(s.turns.interceptors),
        "ticket resolved": list(s.crm.tickets._on_resolved),
        "handoff": list(s.inbox_store.handoff._listeners),
        "customer message": list(s.inbox_store._listeners),
        "enqueue": list(s.core.jobs._listeners),
        "wake": list(s.core.bus._handlers._by_topic.get(WAKE_TOPIC, [])),
    }


def expected(s: Any) -> dict[str, Any]:
    return {
        "erasure": ["channel_records"],
        "after erasure": [s.agent.forget],
        "channel forgotten": [s.wechat.forget],
        "delivery status": [broadcast_replies.record_status],
        "inbound": [broadcast_replies.ReplyRecorder],
        "interceptors": [s.csat.answer, s.opt_out],  # in this order: a rating before an opt-out keyword
        "ticket resolved": [s.csat.ask],
        "handoff": [s.inbox.status_changed],
        "customer message": [s.inbox.customer_wrote],
    }


def test_each_listener_is_hooked_up_once_per_app(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory()) as client:
        first = services(client)
        hooked = hook_ups(first)
        assert {name: hooked[name] for name in expected(first)} == expected(first)
        # The worker's own wake, then the bus's: a job queued here wakes every process's worker.
        assert len(hooked["enqueue"]) == 2 and hooked["enqueue"][0] == first.worker.wake
        assert len(hooked["wake"]) == 1
    with TestClient(app_factory()) as client:
        second = services(client)
        hooked_again = hook_ups(second)
        assert {name: hooked_again[name] for name in expected(second)} == expected(second)
        assert len(hooked_again["enqueue"]) == 2 and len(hooked_again["wake"]) == 1
    assert hook_ups(first) == hooked  # building the second app added nothing to the first's


def test_without_a_worker_nothing_listens_for_wake_ups(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        hooked = hook_ups(services(client))
        assert len(hooked["enqueue"]) == 1  # the bus's publish: other processes' workers still wake
        assert hooked["wake"] == []
