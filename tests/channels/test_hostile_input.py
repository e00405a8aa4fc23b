"""Hostile and careless input through the surfaces a caller touches: signatures with non-ASCII or
malformed bytes are refused (never a 500), a binary live-chat frame is answered and the socket kept, and
a signed delivery with odd timestamps or too deep a body never gets a 5xx."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import (
    SIGNATURE_HEADERS,
    create_channel,
    deliver,
    fake_platforms,
    line_events,
    telegram_update,
    viber_callback,
    wechat_query,
    wechat_xml,
    whatsapp_delivery,
)
from tests.conftest import ADMIN_KEY, auth, ingested, new_tenant, services

HOSTILE = ["é", "sha256=é" + "0" * 63, "\u00ff" * 44, "sha256=", "=?utf-8?b?w6k=?=", " "]


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


@pytest.mark.parametrize("kind", sorted(SIGNATURE_HEADERS))
def test_a_non_ascii_or_malformed_signature_is_a_401(client: TestClient, kind: str) -> None:
    channel = create_channel(client, new_tenant(client), kind)
    for value in HOSTILE:
        response = client.post(
            f"/webhooks/{kind}/{channel}",
            content=b'{"object": "page", "entry": []}',
            headers={SIGNATURE_HEADERS[kind].encode(): value.encode("utf-8")},  # raw bytes on the wire
        )
        assert response.status_code == 401, (value, response.text)
        assert response.json()["error"]["code"] == "unauthorized"


def testwechat_xml_and_meta_handshakes_refuse_non_ascii(client: TestClient) -> None:
    key = new_tenant(client)
    wechat, whatsapp = create_channel(client, key, "wechat"), create_channel(client, key, "whatsapp")
    for signature in ("é" * 40, "\u4e2d", ""):
        query = {**wechat_query(), "signature": signature}
        refused = client.post(f"/webhooks/wechat/{wechat}", params=query, content=b"<xml/>")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        handshake = client.get(f"/webhooks/wechat/{wechat}", params={**query, "echostr": "1"})
        assert handshake.status_code == 403
    # Meta's subscription check answers a wrong hub.verify_token with 403, as before: non-ASCII too
    params = {"hub.mode": "subscribe", "hub.verify_token": "vérify-token-0123", "hub.challenge": "1"}
    assert client.get(f"/webhooks/whatsapp/{whatsapp}", params=params).status_code == 403


def test_an_api_key_with_non_ascii_bytes_is_a_401(client: TestClient) -> None:
    hostile = {b"authorization": "Bearer pa_é€".encode()}
    for response in (
        client.post("/v1/tenants", json={"name": "x"}, headers=hostile),  # the platform admin key
        client.get("/v1/channels", headers=hostile),  # a tenant's key
    ):
        assert response.status_code == 401, response.text
    assert client.post("/v1/tenants", json={"name": "x"}, headers=auth(ADMIN_KEY)).status_code == 201


def test_a_non_ascii_identifier_hash_is_refused(client: TestClient) -> None:
    key = new_tenant(client)
    widget = client.get("/v1/livechat/widget", headers=auth(key)).json()
    url = f"/v1/livechat/ws?widget_key={widget['widget_key']}&identifier=user-42&identifier_hash=%C3%A9%E4%B8%AD"
    with client.websocket_connect(url) as ws:
        frame = ws.receive_json()
        assert frame["type"] == "error" and "identity verification failed" in frame["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403


def test_a_binary_frame_is_answered_and_the_socket_kept(client: TestClient) -> None:
    key = new_tenant(client)
    widget = client.get("/v1/livechat/widget", headers=auth(key)).json()
    with client.websocket_connect(f"/v1/livechat/ws?widget_key={widget['widget_key']}") as ws:
        assert ws.receive_json()["type"] == "session"
        assert ws.receive_json()["type"] == "history"
        ws.send_bytes(b'{"type": "ping"}')
        frame = ws.receive_json()
        assert frame["type"] == "error" and frame["code"] == "binary_frame"
        assert "text" in frame["message"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


# --- signed deliveries with odd timestamps ------------------------------------------------------------


ODD_TIMES: dict[str, Callable[[Any, int], Any]] = {
    "wechat": lambda when, i: wechat_xml(str(when), f"60547685900647{i:05d}"),
    "telegram": lambda when, i: telegram_update(when, 1000 + i),
    "line": lambda when, i: line_events(when, f"01HLINE{i}"),
    "viber": lambda when, i: viber_callback(when, f"5{i:08d}"),
    "whatsapp": lambda when, i: whatsapp_delivery(when, f"wamid.odd{i}"),
}


@pytest.mark.parametrize("kind", sorted(ODD_TIMES))
def test_odd_timestamps_are_stored_with_a_sane_time(client: TestClient, kind: str) -> None:
    channel = create_channel(client, new_tenant(client), kind)
    now_ms = int(time.time() * 1000)
    odd = [now_ms, now_ms * 1000, "1764000000", "soon", -5, 10**30, 1e308, None, True, [1], {"a": 1}]
    for i, when in enumerate(odd):
        # WeChat's XML carries text; the JSON platforms get each value as JSON
        body = (
            ODD_TIMES[kind]("" if when is None else when, i) if kind == "wechat" else ODD_TIMES[kind](when, i)
        )
        response = deliver(client, kind, channel, body)
        assert response.status_code == 200, (when, response.text)
    ingested(client)
    tenant = services(client).channels.get(channel).tenant_id
    with services(client).core.db.session() as session:
        from inbox.models import Message

        stored = list(session.query(Message).filter(Message.tenant_id == tenant, Message.role == "customer"))
    assert len(stored) == len(odd)
    for message in stored:
        year = datetime.fromisoformat(message.meta["sent_at"]).year
        assert 2000 <= year <= 2100, message.meta


@pytest.mark.parametrize("kind", ["whatsapp", "messenger", "telegram", "line", "viber"])
def test_a_body_nested_too_deep_is_a_4xx_naming_it(client: TestClient, kind: str) -> None:
    channel = create_channel(client, new_tenant(client), kind)
    for depth in (100, 1100, 100_000):
        body = b'{"object": ' + b"[" * depth + b"]" * depth + b"}"
        response = deliver(client, kind, channel, body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "too_deep" and "nests deeper than 64 levels" in error["message"]
    # a real delivery with some nesting is still taken
    ok = {"object": "page", "entry": [{"messaging": [{"a": [[[[[[[[[[{"b": 1}]]]]]]]]]]}]}]}
    assert (
        deliver(
            client, "messenger", create_channel(client, new_tenant(client, "B"), "messenger"), ok
        ).status_code
        == 200
    )
    assert json.loads(json.dumps(ok)) == ok
