"""The outbox's decisions (channels/outbox.py), through its public functions with fake adapters: the
window rule per purpose, templates outside the window, error classification and the record of a send."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from channels.base import Parsed, SendError
from channels.http_pool import HttpPool
from channels.models import Channel, ChannelMessage
from channels.outbox import Outbox, Outcome, Outgoing, Purpose, Template
from channels.store import ChannelStore
from core.bus import InProcessBus
from core.crypto import SecretBox
from core.db import Database, make_engine, utcnow
from core.models import Tenant
from inbox.models import Message
from inbox.store import ContactInfo, InboxStore

HOURS_AGO = 25  # past WhatsApp's and Messenger's 24-hour window


class PlainAdapter:
    """Sends text only, or raises `fail`."""

    kind = "whatsapp"
    signs_url = False

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[tuple[str, ...]] = []
        self.fail = fail

    def verify(
        self, headers: Mapping[str, str], raw: bytes, secrets: Mapping[str, Any], url: str = ""
    ) -> None:
        pass

    def parse(self, raw: bytes) -> Parsed:
        raise NotImplementedError

    def _sent(self, *what: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append(what)
        return f"out-{len(self.sent)}"

    async def send_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        return self._sent("text", to, text)


class TemplateAdapter(PlainAdapter):
    """WhatsApp's extras: templates, media and a fallback template outside the window (if configured)."""

    def __init__(self, fallback: bool = True) -> None:
        super().__init__()
        self.fallback = fallback

    async def send_template(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        tag: str = "",
    ) -> str:
        return self._sent("template", to, name)

    async def send_media(
        self,
        config: Mapping[str, Any],
        secrets: Mapping[str, Any],
        to: str,
        kind: str,
        link: str,
        caption: str,
        tag: str = "",
    ) -> str:
        return self._sent("media", to, link)

    async def send_outside_window(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str
    ) -> str | None:
        return self._sent("fallback", to) if self.fallback else None


class HumanTagAdapter(PlainAdapter):
    """Messenger's extra: a person's message after the 24-hour window, up to 7 days."""

    kind = "messenger"

    async def send_human_text(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], to: str, text: str
    ) -> str:
        return self._sent("human", to, text)


@pytest.fixture
def db(tmp_path: Path, database: tuple[str | None, str | None], migrated_sqlite: Path) -> Iterator[Database]:
    """A copy of the session's migrated SQLite file, or this test process's PostgreSQL schema (emptied)
    when PARLEY_TEST_DATABASE_URL is set (tests/conftest.database)."""
    url, schema = database
    if url is None:
        shutil.copyfile(migrated_sqlite, tmp_path / "outbox.db")
        opened = Database(make_engine(f"sqlite:///{tmp_path / 'outbox.db'}"))
    else:
        opened = Database(make_engine(url, schema=schema))
    yield opened
    opened.dispose()


@pytest.fixture(autouse=True)
def close_http_loops() -> Iterator[None]:
    """The outbox's connections (a job's sends run on HTTP's loop for this thread), closed after."""
    yield
    HTTP.close_idle_loops()


HTTP = HttpPool()


def setup(db: Database, adapter: PlainAdapter) -> tuple[Outbox, Channel, InboxStore]:
    with db.session() as session:
        tenant = Tenant(name="Harbour Tea House")
        session.add(tenant)
        session.flush()
        tenant_id = tenant.id
    channels = ChannelStore(db, SecretBox(Fernet.generate_key().decode()), InProcessBus())
    channel = channels.create(tenant_id, adapter.kind, "main", {}, {"access_token": "t"})
    inbox = InboxStore(db)
    return Outbox(db, channels, inbox, {adapter.kind: adapter}, http=HTTP), channel, inbox


def send(
    outbox: Outbox, channel: Channel, outgoing: Outgoing, purpose: Purpose, hours_ago: float | None
) -> Outcome:
    last = utcnow() - timedelta(hours=hours_ago) if hours_ago is not None else None
    return asyncio.run(outbox.send(channel, "85290000001", outgoing, purpose, last_customer=last))


@pytest.mark.parametrize("purpose", ["reply", "human", "automated", "broadcast"])
def test_inside_the_window_any_purpose_goes_free_form(db: Database, purpose: Purpose) -> None:
    adapter = PlainAdapter()
    outbox, channel, _ = setup(db, adapter)
    assert send(outbox, channel, Outgoing(text="hello"), purpose, 1) == Outcome("sent", external_id="out-1")
    assert adapter.sent == [("text", "85290000001", "hello")]


@pytest.mark.parametrize("hours_ago", [HOURS_AGO, None])  # None: the customer never wrote
@pytest.mark.parametrize("purpose", ["reply", "human", "automated", "broadcast"])
def test_outside_the_window_nothing_free_form_goes(
    db: Database, purpose: Purpose, hours_ago: float | None
) -> None:
    adapter = PlainAdapter()
    outbox, channel, _ = setup(db, adapter)
    outcome = send(outbox, channel, Outgoing(text="hello"), purpose, hours_ago)
    assert outcome.status == "skipped" and outcome.reason.startswith("window closed: free-form messages only")
    assert "24 hours" in outcome.reason and "only an approved template may be sent" in outcome.reason
    assert adapter.sent == []


def test_a_template_may_go_outside_the_window(db: Database) -> None:
    adapter = TemplateAdapter()
    outbox, channel, _ = setup(db, adapter)
    template = Template("autumn_teas", "zh_HK", ["Kerry"])
    assert send(outbox, channel, Outgoing(template=template), "broadcast", HOURS_AGO).status == "sent"
    # Free-form text with a template to fall back on: the text inside the window, the template outside.
    both = Outgoing(text="autumn", template=template)
    assert send(outbox, channel, both, "broadcast", 1).status == "sent"
    assert send(outbox, channel, both, "broadcast", HOURS_AGO).status == "sent"
    assert [kind for kind, *_ in adapter.sent] == ["template", "text", "template"]


def test_the_agent_falls_back_on_the_channels_template_and_says_when_there_is_none(db: Database) -> None:
    adapter = TemplateAdapter()
    outbox, channel, _ = setup(db, adapter)
    assert send(outbox, channel, Outgoing(text="an answer"), "reply", HOURS_AGO).status == "sent"
    assert adapter.sent == [("fallback", "85290000001")]
    # The fallback is the agent's alone: an automated message outside the window is not sent.
    assert send(outbox, channel, Outgoing(text="rate us"), "automated", HOURS_AGO).status == "skipped"
    adapter.fallback = False
    outcome = send(outbox, channel, Outgoing(text="an answer"), "reply", HOURS_AGO)
    assert outcome.status == "skipped" and "configure a fallback template" in outcome.reason


def test_media_goes_as_media_where_the_channel_has_it_else_as_a_link(db: Database) -> None:
    from channels.outbox import Media

    rich, plain = TemplateAdapter(), PlainAdapter()
    outbox, channel, _ = setup(db, rich)
    picture = Outgoing(text="autumn", media=Media("image", "https://example.com/tea.jpg"))
    send(outbox, channel, picture, "broadcast", 1)
    outbox.adapters["whatsapp"] = plain
    send(outbox, channel, picture, "broadcast", 1)
    assert rich.sent == [("media", "85290000001", "https://example.com/tea.jpg")]
    assert plain.sent == [("text", "85290000001", "autumn\n\nhttps://example.com/tea.jpg")]


def test_a_persons_reply_may_use_the_human_agent_window_an_automated_message_may_not(db: Database) -> None:
    adapter = HumanTagAdapter()
    outbox, channel, _ = setup(db, adapter)
    three_days = 72
    assert send(outbox, channel, Outgoing(text="sorry for the wait"), "human", three_days).status == "sent"
    assert adapter.sent == [("human", "85290000001", "sorry for the wait")]
    automated = send(outbox, channel, Outgoing(text="rate us"), "automated", three_days)
    assert automated.status == "skipped" and "nothing may be sent" in automated.reason
    too_late = send(outbox, channel, Outgoing(text="hello?"), "human", 8 * 24)
    assert too_late.status == "skipped" and "168 hours" in too_late.reason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            SendError("re-engagement required", code=131047),
            Outcome("failed", reason="re-engagement required", code=131047),
        ),
        (
            SendError("too fast", code=130429, retryable=True, retry_after=2.0),
            Outcome("retry", reason="too fast", code=130429, retry_after=2.0),
        ),
        (RuntimeError("boom"), Outcome("retry", reason="unexpected error: RuntimeError: boom")),
    ],
)
def test_errors_are_classified(db: Database, error: Exception, expected: Outcome) -> None:
    outbox, channel, _ = setup(db, PlainAdapter(fail=error))
    assert send(outbox, channel, Outgoing(text="hello"), "reply", 1) == expected


def test_a_template_on_a_channel_without_templates_fails(db: Database) -> None:
    outbox, channel, _ = setup(db, PlainAdapter())
    outcome = send(outbox, channel, Outgoing(template=Template("t", "en", [])), "broadcast", 1)
    assert outcome.status == "failed" and "no approved templates" in outcome.reason


def stored_reply(db: Database, inbox: InboxStore, channel: Channel) -> tuple[str, Message]:
    with db.session() as session:
        contact = ContactInfo(external_id="whatsapp:85290000001", name=None, phone=None)
        conversation = inbox.conversation_for(session, channel.tenant_id, contact, channel.kind).id
    reply = inbox.add_message(channel.tenant_id, conversation, "agent", "hello", {"delivery": "pending"})
    return conversation, reply


def records(db: Database) -> list[tuple[str, str, str | None]]:
    with db.session() as session:
        rows = session.scalars(select(ChannelMessage).where(ChannelMessage.direction == "out")).all()
        return [(r.external_id, r.status, r.message_id) for r in rows]


def test_deliver_records_a_sent_message_in_the_inbox_and_for_its_status_webhooks(db: Database) -> None:
    outbox, channel, inbox = setup(db, PlainAdapter())
    conversation, reply = stored_reply(db, inbox, channel)
    now = datetime.now().astimezone()
    assert outbox.deliver(channel, conversation, reply, "85290000001", "reply", now).status == "sent"
    meta = inbox.message(channel.tenant_id, reply.id).meta
    assert meta["delivery"] == "sent" and meta["external_id"] == "out-1"
    assert records(db) == [("out-1", "sent", reply.id)]


def test_deliver_records_a_failure_and_a_skip_and_leaves_a_retry_to_the_job(db: Database) -> None:
    adapter = PlainAdapter(fail=SendError("blocked", code=551))
    outbox, channel, inbox = setup(db, adapter)
    conversation, reply = stored_reply(db, inbox, channel)
    now = utcnow()
    assert outbox.deliver(channel, conversation, reply, "85290000001", "reply", now).status == "failed"
    meta = inbox.message(channel.tenant_id, reply.id).meta
    assert meta["delivery"] == "failed" and meta["delivery_error"] == "blocked"
    assert records(db) == [(f"failed:{reply.id}", "failed", reply.id)]

    _, later = stored_reply(db, inbox, channel)
    adapter.fail = SendError("try later", retryable=True)
    with pytest.raises(SendError) as raised:  # the job backs off and sends it again
        outbox.deliver(channel, conversation, later, "85290000001", "reply", now)
    assert raised.value.retryable and inbox.message(channel.tenant_id, later.id).meta["delivery"] == "pending"

    long_ago = now - timedelta(hours=HOURS_AGO)
    assert (
        outbox.deliver(channel, conversation, later, "85290000001", "automated", long_ago).status == "skipped"
    )
    meta = inbox.message(channel.tenant_id, later.id).meta
    assert meta["delivery"] == "skipped" and meta["delivery_error"].startswith("window closed")
    assert len(records(db)) == 1


def test_a_broadcast_batch_is_recorded_and_hears_of_statuses_that_came_first(db: Database) -> None:
    outbox, channel, _ = setup(db, PlainAdapter())
    line = outbox.line(channel.id, channel.tenant_id)
    with db.session() as session:  # a status webhook beat the record of "out-2"
        session.add(
            ChannelMessage(
                tenant_id=channel.tenant_id,
                channel_id=channel.id,
                direction="out",
                external_id="out-2",
                status="read",
            )
        )
    with db.session() as session:
        assert line.record(session, ["out-1", "out-2"]) == {"out-2": "read"}
    assert sorted(records(db)) == [("out-1", "sent", None), ("out-2", "read", None)]
