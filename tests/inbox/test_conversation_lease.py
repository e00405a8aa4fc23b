"""The conversation reply lease (inbox/store.py): one worker answers a conversation at a time. A long turn
keeps its lease by renewing it; a worker that stalled past its lease, which another then took, can
neither renew nor release the new holder's lease. The clock is the test's."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.db import Database, make_engine
from core.heartbeat import Heartbeat
from core.migrate import upgrade_to_head
from core.models import Tenant
from inbox import store as inbox_module
from inbox.store import ContactInfo, InboxStore
from tests.clock import Clock

LEASE = 15.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(inbox_module, "utcnow", fake)
    return fake


@pytest.fixture
def inbox(tmp_path: Path) -> InboxStore:
    db = Database(make_engine(f"sqlite:///{tmp_path / 'inbox.db'}"))
    upgrade_to_head(db.engine)
    return InboxStore(db)


@pytest.fixture
def conversation(inbox: InboxStore) -> str:
    db = inbox._db
    with db.session() as session:
        tenant = Tenant(name="Acme")
        session.add(tenant)
    return inbox.open(tenant.id, None, ContactInfo(external_id="whatsapp:852"), "whatsapp").id


def test_a_long_turn_keeps_its_lease(inbox: InboxStore, conversation: str, clock: Clock) -> None:
    holder = inbox.lease(conversation, LEASE)
    assert holder is not None
    for _ in range(12):  # a minute of turn, four leases long, renewed every third of the lease
        clock.advance(LEASE / 3)
        assert inbox.renew_lease(conversation, holder, LEASE)
        assert inbox.lease(conversation, LEASE) is None  # no second worker starts it
    inbox.release(conversation, holder)
    assert inbox.lease(conversation, LEASE) is not None


def test_a_stale_holder_can_neither_renew_nor_release(
    inbox: InboxStore, conversation: str, clock: Clock
) -> None:
    stalled = inbox.lease(conversation, LEASE)
    assert stalled is not None
    clock.advance(LEASE + 1)  # the first worker stalled past its lease; a second takes over
    current = inbox.lease(conversation, LEASE)
    assert current is not None and current != stalled
    assert not inbox.renew_lease(conversation, stalled, LEASE)
    inbox.release(conversation, stalled)  # waking up, it lets go of what it no longer holds: nothing
    assert inbox.lease(conversation, LEASE) is None
    clock.advance(LEASE / 2)
    assert inbox.renew_lease(conversation, current, LEASE)
    inbox.release(conversation, current)
    assert inbox.lease(conversation, LEASE) is not None


def test_an_expired_lease_nobody_took_is_still_its_holders(
    inbox: InboxStore, conversation: str, clock: Clock
) -> None:
    holder = inbox.lease(conversation, LEASE)
    assert holder is not None
    clock.advance(LEASE + 1)  # a database hiccup cost a beat, and nobody else wanted it
    assert inbox.renew_lease(conversation, holder, LEASE)
    assert inbox.lease(conversation, LEASE) is None


def test_the_heartbeat_learns_its_lease_was_taken_over(
    inbox: InboxStore, conversation: str, clock: Clock
) -> None:
    stalled = inbox.lease(conversation, LEASE)
    assert stalled is not None
    clock.advance(LEASE + 1)
    assert inbox.lease(conversation, LEASE) is not None
    with Heartbeat(lambda: inbox.renew_lease(conversation, stalled, LEASE), every=0.001) as beat:
        deadline = time.monotonic() + 10
        while not beat.lost and time.monotonic() < deadline:
            time.sleep(0.001)
    assert beat.lost
