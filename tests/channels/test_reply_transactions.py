"""How many database transactions one answered WhatsApp message costs, counted per job. Issue 15 asks for
one unit of work per reply job; the counts are pinned here so a change that adds transactions is seen, and
lowered by the change that removes them. The agent's checkpointer keeps its own connection: not counted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from channels.intake import INGEST_KIND
from channels.processing import JOB_KIND
from core.models import Job
from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import delivery, post, setup_channel, shop, text_message
from tests.conftest import services

# Counted at this commit (the issue counted 12 for the reply job before the outbox); its goal is 1.
TRANSACTIONS = {INGEST_KIND: 2, JOB_KIND: 16}


@pytest.fixture
def client(wa_app: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(wa_app()) as test_client:
        yield test_client


def replied(client: TestClient) -> bool:
    """The reply job has finished (done, its last transaction committed)."""
    with services(client).core.db.session() as session:
        return session.scalar(select(Job.status).where(Job.kind == JOB_KIND)) == "done"


def test_transactions_of_one_answered_message(client: TestClient, graph: FakeGraph) -> None:
    channel = setup_channel(client, shop(client))
    app = services(client)
    counts: Counter[str] = Counter()
    running = threading.local()  # the kind of job this thread runs, while it runs it

    def counted(kind: str, handler: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        def run(payload: dict[str, Any]) -> None:
            running.kind = kind
            try:
                handler(payload)
            finally:
                running.kind = None

        return run

    def on_begin(_conn: Connection) -> None:
        kind = getattr(running, "kind", None)
        if kind:
            counts[kind] += 1

    processor = app.channel_processor
    app.core.jobs.register(INGEST_KIND, counted(INGEST_KIND, processor.run_ingest))
    app.core.jobs.register(JOB_KIND, counted(JOB_KIND, processor.run_reply))
    event.listen(app.core.db.engine, "begin", on_begin)
    try:
        post(client, channel["id"], delivery([text_message("wamid.t1", "How much is the milk tea?")]))
        assert "HK$28" in graph.wait_for(1)[0]["text"]["body"]
        deadline = time.monotonic() + 30
        while not replied(client) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        event.remove(app.core.db.engine, "begin", on_begin)
    assert dict(counts) == TRANSACTIONS
