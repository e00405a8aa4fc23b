"""The channel cache (channels/store.py) answers to the bus: a deletion heard from another process, or a
gap in what the bus heard, drops cached channels and the access tokens kept beside them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from channels.http_pool import HttpPool
from channels.models import Channel
from channels.store import CHANGED_TOPIC, ChannelStore
from channels.wechat import WeChatAdapter
from core.bus import InProcessBus
from core.crypto import SecretBox
from core.db import Database, make_engine
from core.errors import NotFound
from core.migrate import upgrade_to_head
from core.models import Tenant


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'channels.db'}"))
    upgrade_to_head(database.engine)
    with database.session() as session:
        session.add(Tenant(id="t1", name="Acme"))
    return database


def test_a_channel_deleted_elsewhere_is_forgotten_with_its_token(db: Database) -> None:
    box = SecretBox(Fernet.generate_key().decode())
    bus = InProcessBus()
    here, elsewhere = ChannelStore(db, box, bus), ChannelStore(db, box, InProcessBus())
    wechat = WeChatAdapter("http://127.0.0.1:9", http=HttpPool())
    here.on_forget(wechat.forget)
    channel = elsewhere.create("t1", "wechat", "OA", {"app_id": "wx1"}, {"app_secret": "s", "token": "t"})
    cached = here.get(channel.id)
    here.secrets(cached)
    wechat._tokens["wx1"] = ("token", 1e12)  # a token this process fetched for the channel
    assert here.cached(channel.id) is not None

    elsewhere.delete("t1", channel.id)  # its own bus: this process has not heard yet
    assert here.cached(channel.id) is not None
    bus.publish(CHANGED_TOPIC, {"id": channel.id})  # what the deleting process's bus delivers here
    assert here.cached(channel.id) is None and "wx1" not in wechat._tokens
    with pytest.raises(NotFound):
        here.get(channel.id)


def test_after_a_gap_every_cached_channel_is_read_again(db: Database) -> None:
    box = SecretBox(Fernet.generate_key().decode())
    store = ChannelStore(db, box, InProcessBus())
    channels = [store.create("t1", "telegram", f"Bot {n}", {}, {"bot_token": "x"}) for n in range(2)]
    forgotten: list[Channel] = []
    store.on_forget(forgotten.append)
    for channel in channels:
        store.secrets(store.get(channel.id))
    store.forget_all()  # what the bus calls after its listener reconnected
    assert sorted(c.id for c in forgotten) == sorted(c.id for c in channels)
    assert all(store.cached(c.id) is None for c in channels)
