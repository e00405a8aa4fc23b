"""A contact's state on a channel lives in its own table: erasing the contact or deleting the channel removes
it, another tenant's erasure touches none of it, and upgrading a database whose states were still rows of
channel_messages (before migration 0021) moves them over without losing one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from channels import channel_state
from channels.models import Channel, ChannelContactState, ChannelMessage
from channels.privacy import erase_channel_records
from core.db import Database, make_engine
from core.migrate import MIGRATIONS_DIR
from core.models import Tenant
from crm.models import Contact
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import create_channel, deliver, fake_platforms
from tests.channels.test_platform_events import NOW, line_event
from tests.conftest import BACKENDS, PG_URL, auth, ingested, new_tenant, services, throwaway_schema


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def follow(client: TestClient, channel: str, user: str, event_id: str) -> None:
    body = line_event("follow", event_id, NOW * 1000)
    body["events"][0]["source"]["userId"] = user
    assert deliver(client, "line", channel, body).status_code == 200
    ingested(client)


def states(client: TestClient) -> dict[str, str]:
    """Every contact state in the database, by the contact's external id."""
    with services(client).core.db.session() as session:
        rows = session.execute(
            select(Contact.external_id, ChannelContactState.state).join(
                Contact, Contact.id == ChannelContactState.contact_id
            )
        )
        return {str(external_id): state for external_id, state in rows}


def contact_id(client: TestClient, external_id: str) -> str:
    with services(client).core.db.session() as session:
        found = session.scalar(select(Contact.id).where(Contact.external_id == external_id))
    assert found is not None, external_id
    return str(found)


def test_erasing_a_contact_removes_their_channel_state_and_only_theirs(client: TestClient) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "line")
    follow(client, channel, "Ukerry", "01HE1")
    follow(client, channel, "Usam", "01HE2")
    assert states(client) == {"line:Ukerry": "subscribed", "line:Usam": "subscribed"}
    kerry = contact_id(client, "line:Ukerry")

    other_tenant = services(client).channels.get(create_channel(client, new_tenant(client, "Other"), "line"))
    with services(client).core.db.session() as session:  # another tenant's erasure of the same id: nothing
        assert erase_channel_records(session, other_tenant.tenant_id, kerry, []) == 0
    assert len(states(client)) == 2

    erased = client.post(f"/v1/contacts/{kerry}/erase", headers=auth(key))
    assert erased.status_code == 200, erased.text
    assert states(client) == {"line:Usam": "subscribed"}


def test_deleting_the_channel_removes_its_contacts_states(client: TestClient) -> None:
    key = new_tenant(client)
    channel = create_channel(client, key, "line")
    follow(client, channel, "Ukerry", "01HD1")
    assert states(client) == {"line:Ukerry": "subscribed"}
    assert client.delete(f"/v1/channels/{channel}", headers=auth(key)).status_code == 204
    assert states(client) == {}


# --- migration 0021 ---------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no migration run yet): a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'upgrade.db'}")
        yield engine
        engine.dispose()
        return
    with throwaway_schema() as schema:
        engine = make_engine(PG_URL or "", schema=schema)
        yield engine
        engine.dispose()


def migrate(engine: Engine, run: Callable[[Config, str], None], revision: str) -> None:
    """Upgrade or downgrade (`run`) to a revision on the engine, as core.migrate upgrades to head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        run(config, revision)


def test_upgrading_moves_state_rows_out_of_channel_messages_and_back_on_downgrade(engine: Engine) -> None:
    migrate(engine, command.upgrade, "0020")
    db = Database(engine)
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    with db.session() as session:
        tenant = Tenant(name="Acme")
        session.add(tenant)
        session.flush()
        channel = Channel(tenant_id=tenant.id, kind="line", name="LINE", config={}, secrets="sealed")
        contact = Contact(tenant_id=tenant.id, external_id="line:Ukerry")
        session.add_all([channel, contact])
        session.flush()
        row = {"tenant_id": tenant.id, "channel_id": channel.id, "conversation_id": "c" * 32}
        session.add_all(
            [
                ChannelMessage(
                    **row,
                    direction="state",
                    external_id=contact.id,
                    status="unsubscribed",
                    created_at=at - timedelta(days=1),
                    updated_at=at,
                ),
                # the unfollow's own claim row: a record of the event, stays where it is
                ChannelMessage(**row, direction="in", external_id="01HF2", status="unfollow"),
                # a state of a contact deleted since (no erasure ran): names no one, not moved
                ChannelMessage(**row, direction="state", external_id="0" * 32, status="subscribed"),
            ]
        )
        moved_id = session.scalar(select(ChannelMessage.id).where(ChannelMessage.external_id == contact.id))

    migrate(engine, command.upgrade, "head")
    with db.session() as session:
        (moved,) = session.scalars(select(ChannelContactState))
        assert (moved.id, moved.tenant_id, moved.channel_id, moved.contact_id) == (
            moved_id,
            tenant.id,
            channel.id,
            contact.id,
        )
        assert (moved.state, moved.changed_at, moved.created_at) == (
            "unsubscribed",
            at,
            at - timedelta(days=1),
        )
        assert moved.conversation_id == "c" * 32
        assert list(session.scalars(select(ChannelMessage.direction))) == ["in"]
        reason = channel_state.no_send_reason(session, channel.id, contact.id)
        assert reason == "the customer unfollowed or blocked the account on 2026-12-01T09:30:00+00:00"

    migrate(engine, command.downgrade, "0020")
    with db.session() as session:
        back = session.execute(
            select(ChannelMessage.external_id, ChannelMessage.status, ChannelMessage.updated_at).where(
                ChannelMessage.direction == "state"
            )
        ).all()
        assert [tuple(r) for r in back] == [(contact.id, "unsubscribed", at)]
