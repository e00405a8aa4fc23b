"""Webhook intake: concurrent deliveries share a transaction yet each is claimed and acknowledged on its
own; a delivery that cannot be stored fails alone; a backlog is ingested in bounded runs, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from channels import processing
from channels.intake import INGEST_KIND, Delivery, Receipt
from channels.models import ChannelEvent, ChannelMessage
from inbox.models import Message
from tests.channels.test_whatsapp import delivery, post, setup_channel, text_message
from tests.conftest import ingested, new_tenant, services
from tests.query_plans import select_plans


def test_concurrent_deliveries_are_written_together_and_claimed_once(
    app_factory: Callable[..., Any],
) -> None:
    with TestClient(app_factory(worker=False)) as client:
        channel_id = setup_channel(client, new_tenant(client))["id"]
        app = services(client)
        channel = app.channels.get(channel_id)
        commits: list[int] = []
        event.listen(app.core.db.engine, "commit", lambda conn: commits.append(1))

        def make(n: int, wamid: str) -> Delivery:
            raw = delivery([text_message(wamid, f"message {n}")])
            return Delivery(channel, raw, [wamid], 0)

        async def burst() -> list[Receipt | BaseException]:
            # wamid.d0 arrives twice in the same burst (a platform retry racing the original)
            deliveries = [make(n, f"wamid.d{n % 5}") for n in range(6)]
            return await asyncio.gather(
                *(app.channel_intake.store(d) for d in deliveries), return_exceptions=True
            )

        receipts = asyncio.run(burst())
        assert all(isinstance(r, Receipt) for r in receipts)
        assert sorted(r.stored for r in receipts if isinstance(r, Receipt)) == [0, 1, 1, 1, 1, 1]
        assert len(commits) == 1  # the burst arrived while nothing was being written: one transaction
        with app.core.db.session() as session:
            assert session.scalar(select(func.count()).select_from(ChannelEvent)) == 6
            claimed = session.scalars(
                select(ChannelMessage.external_id).where(ChannelMessage.direction == "in")
            )
            assert sorted(claimed) == [f"wamid.d{n}" for n in range(5)]


def test_a_delivery_that_cannot_be_stored_fails_alone(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        channel_id = setup_channel(client, new_tenant(client))["id"]
        app = services(client)
        good = app.channels.get(channel_id)
        # a channel deleted while its delivery waited: its rows break the foreign key
        gone = type(good)(
            id="0" * 32, tenant_id=good.tenant_id, kind="whatsapp", name="gone", config={}, secrets=""
        )

        async def burst() -> list[Receipt | BaseException]:
            deliveries = [
                Delivery(good, delivery([text_message("wamid.ok1", "hi")]), ["wamid.ok1"], 0),
                Delivery(gone, delivery([text_message("wamid.bad", "hi")]), ["wamid.bad"], 0),
                Delivery(good, delivery([text_message("wamid.ok2", "hi")]), ["wamid.ok2"], 0),
            ]
            return await asyncio.gather(
                *(app.channel_intake.store(d) for d in deliveries), return_exceptions=True
            )

        first, bad, second = asyncio.run(burst())
        assert isinstance(first, Receipt) and first.stored == 1
        assert isinstance(second, Receipt) and second.stored == 1
        assert isinstance(bad, Exception)


def test_a_backlog_is_ingested_in_bounded_runs_in_arrival_order(
    app_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processing, "INGEST_BATCH", 2)
    with TestClient(app_factory(worker=False)) as client:
        channel = setup_channel(client, new_tenant(client))
        for n in range(5):
            body = delivery([text_message(f"wamid.b{n}", f"question {n}", sender="85291112222")])
            assert post(client, channel["id"], body).json()["stored"] == 1
        queue, runs = services(client).core.jobs, []

        def counted_ingest(payload: dict[str, Any]) -> None:
            runs.append(1)
            services(client).channel_processor.run_ingest(payload)

        queue.register(INGEST_KIND, counted_ingest)
        queue.register(processing.JOB_KIND, lambda payload: None)  # replies are not this test's concern
        queue.drain()
        ingested(client, timeout=1)
        with services(client).core.db.session() as session:
            texts = list(
                session.scalars(
                    select(Message.text).where(Message.role == "customer").order_by(Message.created_at)
                )
            )
    assert texts == [f"question {n}" for n in range(5)]
    assert len(runs) == 3  # 5 deliveries, 2 per run: the job queued its next run instead of draining all


def test_the_ingest_run_reads_waiting_deliveries_in_index_order(app_factory: Callable[..., Any]) -> None:
    """A storm leaves 100,000s of deliveries waiting: each run must not sort them all to find the oldest."""
    with TestClient(app_factory(worker=False)) as client:
        engine = services(client).core.db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL's planner chooses by its statistics")
        channel = setup_channel(client, new_tenant(client))
        for n in range(3):
            assert post(client, channel["id"], delivery([text_message(f"wamid.p{n}", "hi")])).json()["stored"]
        queue = services(client).core.jobs
        queue.register(processing.JOB_KIND, lambda payload: None)
        plans = select_plans(engine, queue.drain, "channel_events")
    oldest_first = [plan for statement, plan in plans.items() if "ORDER BY" in statement]
    assert oldest_first, plans
    for plan in oldest_first:
        assert "INDEX ix_channel_events_pending_order (" in plan and "TEMP B-TREE" not in plan, plan


def test_closing_writes_what_waits_and_refuses_more(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        channel = services(client).channels.get(setup_channel(client, new_tenant(client))["id"])
        intake = services(client).channel_intake

        async def hand_over_then_close() -> list[Receipt]:
            pending = [
                asyncio.ensure_future(
                    intake.store(
                        Delivery(channel, delivery([text_message(f"wamid.z{n}", "hi")]), [f"wamid.z{n}"], 0)
                    )
                )
                for n in range(3)
            ]
            await asyncio.sleep(0)  # each request has handed its delivery to the writer
            await asyncio.to_thread(intake.close)  # as the app does when it stops
            return list(await asyncio.gather(*pending))

        receipts = asyncio.run(hand_over_then_close())
        assert [r.stored for r in receipts] == [1, 1, 1]
        with pytest.raises(RuntimeError, match="closed"):
            asyncio.run(
                intake.store(
                    Delivery(channel, delivery([text_message("wamid.late", "hi")]), ["wamid.late"], 0)
                )
            )
        with services(client).core.db.session() as session:
            assert session.scalar(select(func.count()).select_from(ChannelEvent)) == 3
