"""Widget limits: nothing is created before a visitor's first message; turns per visitor and per address
are bounded, and a refused message is said to be unanswered (the widget sends it again later)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.livechat.limits import SlidingWindow, TurnLimits
from config import Settings
from tests.channels.test_livechat import receive_until, ws_url
from tests.conftest import auth, new_tenant, services


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the limiter ------------------------------------------------------------------------------------


def test_a_window_allows_its_limit_then_says_how_long_to_wait() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60.0, clock)
    for second in (0, 10, 20):
        clock.now = 1000 + second
        assert window.wait("v") == 0
        window.record("v")
    clock.now = 1030
    assert window.wait("v") == 30  # the first of the three leaves the window at 1060
    assert window.wait("other") == 0  # keys are counted apart
    clock.now = 1060
    assert window.wait("v") == 0
    window.record("v")
    assert window.wait("v") == 10  # the window slides: now 1010's turn must leave


def test_idle_keys_are_swept() -> None:
    clock = Clock()
    window = SlidingWindow(5, 60.0, clock)
    for n in range(100):
        window.record(f"visitor-{n}")
    clock.now += 61
    window.record("late")
    assert len(window) == 1


def test_a_turn_refused_by_one_limit_uses_up_neither() -> None:
    clock = Clock()
    limits = TurnLimits(per_visitor=2, per_address=3, clock=clock)
    assert [limits.take("a", "ip") for _ in range(3)] == [0, 0, 60]  # the visitor's limit
    assert limits.take("b", "ip") == 0
    assert limits.take("c", "ip") == 60  # the address's limit; c's own budget is untouched
    clock.now += 60.5
    assert limits.take("c", "ip") == 0 and limits.take("c", "ip") == 0
    assert limits.take("c", "ip") == 60


def test_the_limits_are_settings(monkeypatch: pytest.MonkeyPatch, app_factory: Callable[..., Any]) -> None:
    monkeypatch.setenv("PARLEY_LIVECHAT_TURNS_PER_VISITOR", "5")
    monkeypatch.setenv("PARLEY_LIVECHAT_TURNS_PER_ADDRESS", "9")
    settings = Settings()
    assert (settings.livechat_turns_per_visitor, settings.livechat_turns_per_address) == (5, 9)
    assert (Settings.model_fields["livechat_turns_per_visitor"].default, 60) == (
        20,
        Settings.model_fields["livechat_turns_per_address"].default,
    )
    with TestClient(app_factory(livechat_turns_per_visitor=7, livechat_turns_per_address=11)) as client:
        limits = services(client).livechat_limits
        assert (limits.visitors.limit, limits.addresses.limit) == (7, 11)


# --- through the WebSocket --------------------------------------------------------------------------


@pytest.fixture
def tenant(client: TestClient) -> tuple[str, str]:
    """(API key, widget key)."""
    key = new_tenant(client, "Harbour Tea House")
    return key, str(client.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"])


def counts(client: TestClient, key: str) -> tuple[int, int]:
    contacts = client.get("/v1/contacts", headers=auth(key)).json()["total"]
    conversations = client.get("/v1/inbox/conversations", headers=auth(key)).json()["total"]
    return contacts, conversations


def test_connecting_creates_nothing_the_first_message_creates_the_contact(
    client: TestClient, tenant: tuple[str, str]
) -> None:
    key, widget_key = tenant
    tokens = set()
    for _ in range(50):
        with client.websocket_connect(ws_url(widget_key)) as ws:
            tokens.add(ws.receive_json()["token"])
            assert ws.receive_json() == {"type": "history", "messages": []}
    assert len(tokens) == 50 and counts(client, key) == (0, 0)
    # A token that never wrote is unknown: reconnecting with it gets a fresh session, not an error.
    with client.websocket_connect(ws_url(widget_key, token=tokens.pop())) as ws:
        opening = ws.receive_json()
        assert opening["token"].startswith("vt_") and opening["conversation_id"] is None
        ws.receive_json()
        ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
        frames = receive_until(ws, "message")
        receive_until(ws, "typing")
        ws.send_json({"type": "message", "text": "And on Sunday?", "client_id": "c-2"})
        assert not any(f["type"] == "session" for f in receive_until(ws, "message"))  # only the first creates
    assert frames[0] == {"type": "session", "conversation_id": frames[0]["conversation_id"]}
    assert counts(client, key) == (1, 1)
    with client.websocket_connect(ws_url(widget_key, token=opening["token"])) as ws:  # now it resumes
        assert ws.receive_json()["conversation_id"] == frames[0]["conversation_id"]
        assert len(ws.receive_json()["messages"]) == 4


def use_limits(client: TestClient, limits: TurnLimits) -> None:
    """The app's services with these limits (a fake clock), for the sockets opened from now on."""
    client.app.state.services = replace(services(client), livechat_limits=limits)  # type: ignore[attr-defined]


def chat(ws: Any, text: str, client_id: str) -> dict[str, Any]:
    """Send a message; the agent's reply, or the error frame that refused it."""
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    frames = [ws.receive_json()]
    while frames[-1]["type"] != "error" and frames[-1] != {"type": "typing", "on": False}:
        frames.append(ws.receive_json())
    replies = [f for f in frames if f["type"] in ("message", "error")]
    assert len(replies) == 1, frames
    return dict(replies[0])


def test_turns_beyond_the_budgets_are_refused_with_when_to_resend(
    client: TestClient, tenant: tuple[str, str]
) -> None:
    key, widget_key = tenant
    clock = Clock()
    use_limits(client, TurnLimits(per_visitor=2, per_address=3, clock=clock))
    with client.websocket_connect(ws_url(widget_key)) as ws:
        token = ws.receive_json()["token"]
        ws.receive_json()
        assert chat(ws, "Hello", "a-1")["role"] == "agent"
        clock.now += 10
        assert chat(ws, "Good morning", "a-2")["role"] == "agent"
        refused = chat(ws, "Thank you", "a-3")
        assert refused == {
            "type": "error",
            "code": "rate_limited",
            "client_id": "a-3",
            "message": "Too many messages: this one was not answered. Send it again in 50 s.",
            "retry_after": 50,
            "resend": True,
        }
        ws.send_json({"type": "ping"})  # the socket stays open
        assert ws.receive_json() == {"type": "pong"}
    # A new session from the same address: its first turn fits the address's budget, the next does not,
    # and a third visitor refused at their first message leaves no contact behind.
    with client.websocket_connect(ws_url(widget_key)) as other:
        other.receive_json()
        other.receive_json()
        assert chat(other, "Hello", "b-1")["role"] == "agent"
        assert chat(other, "Anyone?", "b-2")["code"] == "rate_limited"
    with client.websocket_connect(ws_url(widget_key)) as third:
        third.receive_json()
        third.receive_json()
        assert chat(third, "Hi", "c-1")["retry_after"] == 50
    assert counts(client, key) == (2, 2)
    # The refused message was not stored; resent when the window has moved on, it is answered.
    clock.now += 50
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        assert [m["text"] for m in ws.receive_json()["messages"] if m["role"] == "customer"] == [
            "Hello",
            "Good morning",
        ]
        assert chat(ws, "Thank you", "a-3")["role"] == "agent"


def test_a_resend_of_an_answered_message_costs_no_turn(client: TestClient, tenant: tuple[str, str]) -> None:
    _, widget_key = tenant
    use_limits(client, TurnLimits(per_visitor=1, per_address=1, clock=Clock()))
    with client.websocket_connect(ws_url(widget_key)) as ws:
        ws.receive_json()
        ws.receive_json()
        answer = chat(ws, "Hello", "a-1")
        for _ in range(3):  # a widget flushing its outbox after reconnects
            ws.send_json({"type": "message", "text": "Hello", "client_id": "a-1"})
            assert ws.receive_json()["type"] == "ack"
            assert ws.receive_json()["id"] == answer["id"]
