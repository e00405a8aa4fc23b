"""Operations on the channel paths: the webhook deliveries and sends metrics, and the retention sweep of
raw deliveries and done jobs, which must leave every row still needed (pending work, failed jobs for
someone to look at, the message ids that keep a redelivery from being processed twice)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from channels.models import ChannelEvent, ChannelMessage
from core.db import utcnow
from core.models import Job
from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import delivery, post, setup_channel, shop, text_message
from tests.conftest import ingested, new_tenant, services
from tests.core.test_ops import scrape, value


def test_webhook_and_send_metrics(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    with TestClient(wa_app()) as client:
        key = shop(client)
        channel = setup_channel(client, key)
        before = scrape(client)
        body = delivery([text_message("wamid.m1", "How much is the milk tea?")])
        assert post(client, channel["id"], body).json()["stored"] == 1
        assert post(client, channel["id"], body).json()["stored"] == 0  # a retry
        assert post(client, channel["id"], body, signature="sha256=00").status_code == 401
        assert client.post("/webhooks/whatsapp/" + "0" * 32, content=body).status_code == 404
        assert client.post("/webhooks/nosuchkind/" + "0" * 32, content=body).status_code == 404
        graph.wait_for(1)
        graph.errors = [131026]  # undeliverable: recorded with Meta's code, not retried
        post(
            client,
            channel["id"],
            delivery([text_message("wamid.m2", "And the hours?", sender="85298765432")]),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = scrape(client)
            if value(after, "parley_channel_sends_total", channel="whatsapp", outcome="failed") > value(
                before, "parley_channel_sends_total", channel="whatsapp", outcome="failed"
            ):
                break
            time.sleep(0.1)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    deliveries = "parley_webhook_deliveries_total"
    assert grew(deliveries, channel="whatsapp", outcome="stored") == 2
    assert grew(deliveries, channel="whatsapp", outcome="duplicate") == 1
    assert grew(deliveries, channel="whatsapp", outcome="unauthorized") == 1
    assert grew(deliveries, channel="whatsapp", outcome="unknown_channel") == 1
    assert grew(deliveries, channel="unknown", outcome="unknown_channel") == 1
    assert grew("parley_channel_sends_total", channel="whatsapp", outcome="sent", error_code="") == 1
    assert grew("parley_channel_sends_total", channel="whatsapp", outcome="failed", error_code="131026") == 1
    webhook_route = "/webhooks/{channel}/{channel_id}"
    assert grew("parley_http_requests_total", method="POST", route=webhook_route, status="200") == 3


def test_retention_sweep_keeps_what_is_still_needed(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    # A sweep every half second (the default is hourly); the default ages: done jobs 7 days, deliveries 30.
    with TestClient(wa_app(retention_sweep_seconds=0.5)) as client:
        key = new_tenant(client)
        channel = setup_channel(client, key)
        body = delivery([text_message("wamid.old", "Hello")])
        assert post(client, channel["id"], body).json()["stored"] == 1
        ingested(client)
        graph.wait_for(1)
        db = services(client).core.db
        long_ago, now = utcnow() - timedelta(days=40), utcnow()
        with db.session() as session:
            # Everything so far happened "40 days ago": the delivery and the jobs that handled it.
            session.execute(update(ChannelEvent).values(received_at=long_ago))
            session.execute(
                update(Job).where(Job.status == "done").values(created_at=long_ago, updated_at=long_ago)
            )
            old_done = set(
                session.scalars(select(Job.id).where(Job.status == "done", Job.kind != "core.retention"))
            )
            session.add_all(
                [
                    Job(
                        kind="x.failed", status="failed", attempts=3, created_at=long_ago, updated_at=long_ago
                    ),
                    # work still to do, however old: waiting (not before tomorrow) and running
                    Job(
                        kind="x.waiting",
                        status="queued",
                        locked_until=now + timedelta(days=1),
                        created_at=long_ago,
                        updated_at=long_ago,
                    ),
                    Job(
                        kind="x.running",
                        status="running",
                        locked_until=now + timedelta(days=1),
                        created_at=long_ago,
                        updated_at=long_ago,
                    ),
                    Job(
                        kind="x.recent",
                        status="done",
                        created_at=now - timedelta(days=6),
                        updated_at=now - timedelta(days=6),
                    ),
                    # a delivery not ingested yet, however old
                    ChannelEvent(
                        channel_id=channel["id"], body="{}", received_at=long_ago, processed_at=None
                    ),
                    # a recent one, ingested
                    ChannelEvent(
                        channel_id=channel["id"],
                        body="{}",
                        received_at=now - timedelta(days=29),
                        processed_at=now,
                    ),
                ]
            )
        assert old_done  # the ingest and the reply

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.session() as session:
                left = session.scalar(select(func.count()).select_from(Job).where(Job.id.in_(old_done)))
                events = session.scalar(select(func.count()).select_from(ChannelEvent))
            if not left and events == 2:
                break
            time.sleep(0.1)
        assert left == 0, "the done jobs 40 days old are still there"
        with db.session() as session:
            kinds = {kind: status for kind, status in session.execute(select(Job.kind, Job.status)).tuples()}
            assert {k: kinds.get(k) for k in ("x.failed", "x.waiting", "x.running", "x.recent")} == {
                "x.failed": "failed",
                "x.waiting": "queued",
                "x.running": "running",
                "x.recent": "done",
            }
            remaining = session.execute(select(ChannelEvent.processed_at, ChannelEvent.received_at)).all()
            assert len(remaining) == 2 and any(processed is None for processed, _ in remaining)
            # the message id the deleted delivery claimed is kept ...
            claims = session.scalar(
                select(func.count())
                .select_from(ChannelMessage)
                .where(ChannelMessage.external_id == "wamid.old")
            )
            assert claims == 1
        # ... so its redelivery after the sweep is still recognised and answered by nobody a second time
        assert post(client, channel["id"], body).json()["stored"] == 0
        time.sleep(0.5)
        assert len(graph.sent) == 1
