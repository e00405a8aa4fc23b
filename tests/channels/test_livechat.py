"""Live chat through the WebSocket: sessions, replies, typing, reconnects, history, identity, keys."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from channels.livechat.store import identity_hash
from tests.conftest import auth, new_tenant, upload, wait_for


@pytest.fixture
def shop(client: TestClient) -> tuple[str, dict[str, Any]]:
    key = new_tenant(client, "Harbour Tea House")
    md = b"# Menu\n\nQ: How much is the milk tea?\nA: Our signature milk tea costs HK$28.\n\n# Hours\n\nWe open 7am to 6pm."
    wait_for(client, key, upload(client, key, "menu.md", md)["id"])
    widget = client.get("/v1/livechat/widget", headers=auth(key)).json()
    return key, widget


def ws_url(widget_key: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"widget_key": widget_key, **params}.items())
    return f"/v1/livechat/ws?{query}"


def receive_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] == kind:
            return frames


def test_widget_settings_and_snippet(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    key, widget = shop
    assert widget["widget_key"].startswith("wk_") and widget["require_identity"] is False
    assert (
        f'data-widget-key="{widget["widget_key"]}"' in widget["snippet"] and "/widget.js" in widget["snippet"]
    )
    assert client.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"] == widget["widget_key"]
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "WebSocket" in script.text and "localStorage" in script.text
    # The public widget key only opens chats: it is not an API key.
    assert client.get("/v1/knowledge/sources", headers=auth(widget["widget_key"])).status_code == 401


def test_a_visitor_chats_and_gets_grounded_replies(
    client: TestClient, shop: tuple[str, dict[str, Any]]
) -> None:
    _, widget = shop
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        session = ws.receive_json()
        assert session["type"] == "session" and session["token"].startswith("vt_")
        assert session["conversation_id"] is None  # nothing is created before the first message
        assert ws.receive_json() == {"type": "history", "messages": []}
        ws.send_json({"type": "message", "text": "How much is the milk tea?", "client_id": "c-1"})
        frames = receive_until(ws, "message")
        assert frames[0]["type"] == "session" and frames[0]["conversation_id"]
        assert frames[1] == {"type": "typing", "on": True}
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack["client_id"] == "c-1" and ack["id"]
        assert "HK$28" in frames[-1]["text"] and frames[-1]["role"] == "agent"
        assert ws.receive_json() == {"type": "typing", "on": False}


def test_reconnect_resends_and_history_survive(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    _, widget = shop
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        token = ws.receive_json()["token"]
        ws.receive_json()
        ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
        first_reply = receive_until(ws, "message")[-1]
        ws.receive_json()  # typing off
    # The page reloads: same token, the history comes back in order.
    with client.websocket_connect(ws_url(widget["widget_key"], token=token)) as ws:
        opening = ws.receive_json()
        assert opening["type"] == "session" and "token" not in opening
        history = ws.receive_json()["messages"]
        assert [(m["role"], m["text"]) for m in history] == [
            ("customer", "When do you open?"),
            ("agent", first_reply["text"]),
        ]
        # The widget had not seen the ack before the drop and resends: acknowledged with the stored reply
        # (the socket that waited for it is gone), not answered twice.
        ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
        assert ws.receive_json() == {"type": "ack", "client_id": "c-1", "id": history[0]["id"]}
        assert ws.receive_json()["id"] == history[1]["id"]
        ws.send_json({"type": "resume", "after": history[0]["id"]})
        assert [m["id"] for m in ws.receive_json()["messages"]] == [history[1]["id"]]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_messages_keep_their_order(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    _, widget = shop
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        token = ws.receive_json()["token"]
        ws.receive_json()
        for i in range(3):
            ws.send_json({"type": "message", "text": f"question {i} about milk tea", "client_id": f"c-{i}"})
        replies: list[dict[str, Any]] = []
        while len(replies) < 3:
            frame = ws.receive_json()
            if frame["type"] == "message":
                replies.append(frame)
    with client.websocket_connect(ws_url(widget["widget_key"], token=token)) as ws:
        ws.receive_json()
        history = ws.receive_json()["messages"]
    customer = [m["text"] for m in history if m["role"] == "customer"]
    assert customer == [f"question {i} about milk tea" for i in range(3)]
    assert [m["role"] for m in history] == ["customer", "agent"] * 3


def test_bad_frames_and_keys(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    _, widget = shop
    with client.websocket_connect(ws_url("wk_nope")) as ws:
        error = ws.receive_json()
        assert error["type"] == "error" and "widget key" in error["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        ws.receive_json()
        ws.receive_json()
        ws.send_json({"type": "message", "text": "   ", "client_id": "x"})
        assert "1 to 4000" in ws.receive_json()["message"]
        ws.send_json({"type": "dance"})
        assert "unknown frame type" in ws.receive_json()["message"]


def test_identity_verification(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    key, widget = shop
    good = identity_hash(widget["identity_secret"], "user-42")
    with client.websocket_connect(
        ws_url(widget["widget_key"], identifier="user-42", identifier_hash=good)
    ) as ws:
        ws.receive_json()
        ws.receive_json()
        ws.send_json({"type": "message", "text": "How much is the milk tea?", "client_id": "a"})
        conversation = receive_until(ws, "message")[0]["conversation_id"]
    # The same verified visitor on another device (no token) continues the same conversation.
    with client.websocket_connect(
        ws_url(widget["widget_key"], identifier="user-42", identifier_hash=good)
    ) as ws:
        assert ws.receive_json()["conversation_id"] == conversation
        assert len(ws.receive_json()["messages"]) == 2
    with client.websocket_connect(
        ws_url(widget["widget_key"], identifier="user-42", identifier_hash="0" * 64)
    ) as ws:
        assert "identity verification failed" in ws.receive_json()["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403
    required = client.put("/v1/livechat/widget", json={"require_identity": True}, headers=auth(key)).json()
    assert required["require_identity"] is True
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        assert "requires a verified identity" in ws.receive_json()["message"]


def test_rotating_the_key_retires_the_old_one(client: TestClient, shop: tuple[str, dict[str, Any]]) -> None:
    key, widget = shop
    rotated = client.put("/v1/livechat/widget", json={"rotate_key": True}, headers=auth(key)).json()
    assert rotated["widget_key"] != widget["widget_key"]
    with client.websocket_connect(ws_url(widget["widget_key"])) as ws:
        assert ws.receive_json()["type"] == "error"
    with client.websocket_connect(ws_url(rotated["widget_key"])) as ws:
        assert ws.receive_json()["type"] == "session"


def test_demo_page_needs_the_demo_tenant(client: TestClient) -> None:
    response = client.get("/demo")
    assert response.status_code == 404 and "PARLEY_DEMO" in response.text
