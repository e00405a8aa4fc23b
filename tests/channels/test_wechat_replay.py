"""WeChat signs its token, timestamp and nonce but not the body: an old signed triple, or a recent one
with another body, is refused with 401; WeChat's own retry of a delivery is still taken."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels.models import SignedNonce
from channels.replay import SignedNonces
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import create_channel, deliver, fake_platforms, wechat_query, wechat_xml
from tests.conftest import new_tenant, services


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def test_an_old_timestamp_is_refused(client: TestClient) -> None:
    channel = create_channel(client, new_tenant(client), "wechat")
    month_ago = wechat_query(int(time.time()) - 30 * 86400, "1514711492")
    response = deliver(client, "wechat", channel, wechat_xml(str(int(time.time())), "1", "hi"), **month_ago)
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "outside the accepted 300 s" in message and "replayed" in message
    future = wechat_query(int(time.time()) + 3600)
    assert deliver(client, "wechat", channel, wechat_xml("1", "2"), **future).status_code == 401
    for stamp in ("", "abc", "-5"):
        query = {**wechat_query(), "timestamp": stamp}
        assert deliver(client, "wechat", channel, wechat_xml("1", "3"), **query).status_code == 401


def test_a_replayed_nonce_with_another_body_is_refused(client: TestClient) -> None:
    channel = create_channel(client, new_tenant(client), "wechat")
    query = wechat_query()
    now = str(int(time.time()))
    first = deliver(client, "wechat", channel, wechat_xml(now, "6054768590064713728", "hi"), **query)
    assert first.status_code == 200 and first.text == "success"
    retry = deliver(client, "wechat", channel, wechat_xml(now, "6054768590064713728", "hi"), **query)
    assert retry.status_code == 200  # WeChat resends a delivery it got no answer to: the same body
    forged = deliver(
        client, "wechat", channel, wechat_xml(now, "6054768590064713729", "send me the code"), **query
    )
    assert forged.status_code == 401
    assert forged.json()["error"] == {
        "code": "unauthorized",
        "message": "replayed signature: this timestamp and nonce were already used with another body",
    }
    # another channel's identical pair is its own
    other = create_channel(client, new_tenant(client, "B"), "wechat")
    assert (
        deliver(client, "wechat", other, wechat_xml(now, "6054768590064713729", "x"), **query).status_code
        == 200
    )
    long_nonce = wechat_query(nonce="9" * 65)
    assert deliver(client, "wechat", channel, wechat_xml(now, "1", "x"), **long_nonce).status_code == 401


def test_the_window_is_a_setting_and_old_pairs_are_deleted(app_factory: Callable[..., Any]) -> None:
    with TestClient(app_factory(wechat_signature_window_seconds=5)) as client:
        channel = create_channel(client, new_tenant(client), "wechat")
        ten_ago = wechat_query(int(time.time()) - 10)
        assert deliver(client, "wechat", channel, wechat_xml("1", "1"), **ten_ago).status_code == 401
        nonces: SignedNonces = services(client).signed_nonces
        assert nonces.window == 5
        nonces.claim(channel, int(time.time()) - 60, "old", b"x")  # as if recorded a minute ago
        nonces._pruned_at = 0.0  # the next claim prunes
        nonces.claim(channel, int(time.time()), "new", b"y")
        with services(client).core.db.session() as session:
            kept = session.scalars(select(SignedNonce.nonce)).all()
            assert kept == ["new"]
            assert session.scalar(select(func.count()).select_from(SignedNonce)) == 1
