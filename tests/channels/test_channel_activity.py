"""Whether a channel's platform delivers (GET /v1/channels: last_delivery_at, waiting_deliveries,
open_unparsed_events; the console's Channels page shows the same), read from the stored deliveries by their
index, never by reading them all; and connecting, deleting and changing the widget are audited as the key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.models import ChannelEvent, UnparsedEvent
from core.db import new_id, utcnow
from tests.channels.signing import create_channel
from tests.conftest import auth, new_tenant, services
from tests.query_plans import select_plans


def stored(client: TestClient, channel_id: str, ago: timedelta, processed: bool) -> str:
    """A delivery received `ago` ago, ingested or waiting (the worker is off: nothing ingests it)."""
    at = utcnow() - ago
    row = ChannelEvent(
        id=new_id(), channel_id=channel_id, body="{}", received_at=at, processed_at=at if processed else None
    )
    with services(client).core.db.session() as session:
        session.add(row)
    return row.id


def test_the_last_delivery_and_what_waits(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(worker=False)) as client:
        key = new_tenant(client)
        quiet, busy = create_channel(client, key, "telegram"), create_channel(client, key, "line")
        ingested = {m: stored(client, busy, timedelta(minutes=m), processed=True) for m in (90, 30, 60)}
        newest = stored(client, busy, timedelta(minutes=5), processed=False)
        stored(client, busy, timedelta(minutes=10), processed=False)
        with services(client).core.db.session() as session:
            session.add(
                UnparsedEvent(
                    tenant_id=services(client).channels.get(busy).tenant_id,
                    channel_id=busy,
                    delivery_id=newest,
                    digest="d" * 64,
                    raw="{}",
                    error="a message without an id",
                )
            )
        listed = {c["id"]: c for c in client.get("/v1/channels", headers=auth(key)).json()}
        assert listed[quiet]["last_delivery_at"] is None
        assert (listed[quiet]["waiting_deliveries"], listed[quiet]["open_unparsed_events"]) == (0, 0)
        one = client.get(f"/v1/channels/{busy}", headers=auth(key)).json()
        assert one == listed[busy]
        assert arrival(one) == received(client, newest)
        assert (one["waiting_deliveries"], one["open_unparsed_events"]) == (2, 1)

        # Without waiting ones, the last ingested is the last.
        with services(client).core.db.session() as session:
            for row in session.query(ChannelEvent).filter(ChannelEvent.processed_at.is_(None)):
                session.delete(row)
        again = client.get(f"/v1/channels/{busy}", headers=auth(key)).json()
        assert again["waiting_deliveries"] == 0
        assert arrival(again) == received(client, ingested[30])


def arrival(channel: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(channel["last_delivery_at"]).replace(tzinfo=UTC)


def received(client: TestClient, delivery_id: str) -> datetime:
    with services(client).core.db.session() as session:
        row = session.get(ChannelEvent, delivery_id)
        assert row is not None
        return row.received_at.replace(tzinfo=UTC)


def test_activity_walks_the_deliveries_index(app_factory: Callable[..., Any]) -> None:
    """A busy channel keeps a month of deliveries: the page must not read or sort them all."""
    with TestClient(app_factory(worker=False)) as client:
        engine = services(client).core.db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL's planner chooses by its statistics")
        key = new_tenant(client)
        channel = create_channel(client, key, "viber")
        for minutes in range(5):
            stored(client, channel, timedelta(minutes=minutes), processed=minutes > 0)
        tenant = services(client).channels.get(channel).tenant_id
        plans = select_plans(
            engine, lambda: services(client).channels.activity(tenant, [channel]), "channel_events"
        )
    assert len(plans) == 2, plans
    for plan in plans.values():
        assert "INDEX ix_channel_events_pending_order (channel_id=? AND processed_at" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_the_api_audits_channels_and_the_widget_as_its_key(client: TestClient) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "sms")
    assert client.delete(f"/v1/channels/{channel}", headers=auth(key)).status_code == 204
    put = client.put(
        "/v1/livechat/widget", headers=auth(key), json={"rotate_key": True, "require_identity": True}
    )
    assert put.status_code == 200
    audit = client.get("/v1/audit", headers=auth(key)).json()
    actions = {(e["action"], e["entity_id"]) for e in audit if e["actor"].startswith("key:")}
    assert ("channel.create", channel) in actions and ("channel.delete", channel) in actions
    widget = [e for e in audit if e["action"] == "livechat_widget.update"]
    assert len(widget) == 1 and widget[0]["after"]["require_identity"] is True
    assert widget[0]["after"]["widget_key"] == put.json()["widget_key"]
    assert put.json()["identity_secret"] not in str(audit)
    created = next(e for e in audit if e["action"] == "channel.create")
    assert created["after"] == {
        "kind": "sms",
        "name": "Sms",
        "config": {"account_sid": "AC" + "0" * 31 + "1", "from_number": "+85230001234"},
    }


def test_the_snippet_names_the_public_address(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(public_url="https://chat.example.com")) as client:
        key = new_tenant(client)
        snippet = client.get("/v1/livechat/widget", headers=auth(key)).json()["snippet"]
    assert snippet.startswith('<script src="https://chat.example.com/widget.js" data-widget-key="wk_')
