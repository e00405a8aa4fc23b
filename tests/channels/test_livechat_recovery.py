"""No lost live-chat turn: a message stored when the process died is answered on its resend, or by the sweep
when the app starts again, exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.livechat.locks import TurnLocks
from channels.livechat.recovery import answer_lost_turns
from channels.livechat.turns import LiveTurns
from channels.livechat.visitors import VisitorSockets
from core.bus import InProcessBus
from tests.channels.test_livechat import receive_until, ws_url
from tests.conftest import auth, new_tenant, services


@pytest.fixture
def widget_key(client: TestClient) -> str:
    key = new_tenant(client, "Harbour Tea House")
    return str(client.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"])


def opened(client: TestClient, widget_key: str) -> tuple[str, str, str]:
    """A visitor who has chatted once: (tenant id, conversation id, token)."""
    with client.websocket_connect(ws_url(widget_key)) as ws:
        token = ws.receive_json()["token"]
        ws.receive_json()
        ws.send_json({"type": "message", "text": "Hello", "client_id": "c-0"})
        receive_until(ws, "typing")
        conversation = next(f for f in receive_until(ws, "message") if f["type"] == "message")
    tenant = services(client).livechat.tenant_for(widget_key).tenant_id
    return tenant, agent_conversation(client, tenant, conversation["id"]), token


def agent_conversation(client: TestClient, tenant: str, message_id: str) -> str:
    return str(services(client).inbox_store.message(tenant, message_id).conversation_id)


def resend(ws: Any, client_id: str, text: str = "When do you open?") -> list[dict[str, Any]]:
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    return receive_until(ws, "message")


def agent_replies(client: TestClient, widget_key: str, token: str) -> list[dict[str, Any]]:
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        return [m for m in ws.receive_json()["messages"] if m["role"] == "agent"]


def test_a_message_stored_before_a_crash_is_answered_on_its_resend_once(
    client: TestClient, widget_key: str
) -> None:
    tenant, conversation, token = opened(client, widget_key)
    # What kill -9 in the middle of the turn leaves: the question stored, its turn never finished.
    question = LiveTurns(services(client).turns).receive(tenant, conversation, "When do you open?", "c-1")
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        assert [m["text"] for m in ws.receive_json()["messages"]][-1] == "When do you open?"
        frames = resend(ws, "c-1")
        assert frames[0] == {"type": "typing", "on": True}  # a turn runs now
        assert {"type": "ack", "client_id": "c-1", "id": question.id} in frames
        answer = frames[-1]
        assert answer["role"] == "agent" and answer["text"]
        assert ws.receive_json() == {"type": "typing", "on": False}
        # Resent again (the ack was lost too): the same answer, no second turn.
        again = resend(ws, "c-1")
        assert again == [{"type": "ack", "client_id": "c-1", "id": question.id}, answer]
    assert [m["id"] for m in agent_replies(client, widget_key, token)][1:] == [answer["id"]]


def test_a_turn_that_raised_is_answered_when_the_widget_resends(
    client: TestClient, widget_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, token = opened(client, widget_key)
    turns = services(client).turns

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise SystemError("the process died in the middle of the turn")

    with monkeypatch.context() as patch:
        patch.setattr(turns, "answer", dies)
        with pytest.raises(SystemError), client.websocket_connect(ws_url(widget_key, token=token)) as ws:
            ws.receive_json()
            ws.receive_json()
            ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
            receive_until(ws, "ack")  # never comes: the socket dies with the turn
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        ws.receive_json()
        answer = resend(ws, "c-1")[-1]
        assert answer["role"] == "agent"
        ws.receive_json()  # typing off
        assert resend(ws, "c-1")[-1]["id"] == answer["id"]
    assert len(agent_replies(client, widget_key, token)) == 2  # "Hello"'s and this one's


def test_a_reply_stored_before_the_crash_is_not_produced_again(
    client: TestClient, widget_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, token = opened(client, widget_key)
    with monkeypatch.context() as patch:  # the reply is stored; the process dies before marking the question
        patch.setattr(LiveTurns, "settle", lambda self, tenant, question: (_ for _ in ()).throw(SystemError))
        with pytest.raises(SystemError), client.websocket_connect(ws_url(widget_key, token=token)) as ws:
            ws.receive_json()
            ws.receive_json()
            ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
            receive_until(ws, "ack")
    [_, stored] = agent_replies(client, widget_key, token)
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        ws.receive_json()
        frames = resend(ws, "c-1")
        assert [f["type"] for f in frames] == ["ack", "message"] and frames[-1]["id"] == stored["id"]
    assert len(agent_replies(client, widget_key, token)) == 2


def test_two_resends_racing_produce_one_answer(client: TestClient, widget_key: str) -> None:
    tenant, conversation, token = opened(client, widget_key)
    LiveTurns(services(client).turns).receive(tenant, conversation, "When do you open?", "c-1")
    # The reloaded page and the old tab both resend the same message at once.
    with (
        client.websocket_connect(ws_url(widget_key, token=token)) as first,
        client.websocket_connect(ws_url(widget_key, token=token)) as second,
    ):
        for ws in (first, second):
            ws.receive_json()
            ws.receive_json()
        for ws in (first, second):
            ws.send_json({"type": "message", "text": "When do you open?", "client_id": "c-1"})
        answers = {receive_until(ws, "message")[-1]["id"] for ws in (first, second)}
    assert len(answers) == 1
    assert [m["id"] for m in agent_replies(client, widget_key, token)][1:] == list(answers)


# --- the sweep on start: answered without waiting for a resend (the visitor may have gone) -------------
def test_a_message_left_unanswered_is_answered_when_the_app_starts_again(
    app_factory: Callable[..., Any],
) -> None:
    with TestClient(app_factory()) as first:
        key = new_tenant(first, "Harbour Tea House")
        widget = str(first.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"])
        tenant, conversation, token = opened(first, widget)
        # kill -9 during the turn: the question stored, no reply, and the visitor closes the tab.
        LiveTurns(services(first).turns).receive(tenant, conversation, "When do you open?", "c-1")
    with TestClient(app_factory()) as second:
        deadline = time.monotonic() + 30
        while len(agent_replies(second, widget, token)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        replies = agent_replies(second, widget, token)
        assert len(replies) == 2  # "Hello"'s and this one's
        sweep = answer_lost_turns(
            services(second).core.db,
            LiveTurns(services(second).turns),
            TurnLocks(),
            services(second).livechat_visitors,
        )
        assert asyncio.run(sweep) == 0  # nothing left: a second start answers nothing again
        # The visitor comes back and the widget resends it: the stored answer, no second turn.
        with second.websocket_connect(ws_url(widget, token=token)) as ws:
            ws.receive_json()
            ws.receive_json()
            assert [f["type"] for f in resend(ws, "c-1")] == ["ack", "message"]
        assert len(agent_replies(second, widget, token)) == 2


def test_sweeps_of_two_processes_and_a_resend_racing_answer_once(
    client: TestClient, widget_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, conversation, token = opened(client, widget_key)
    router = services(client).turns
    LiveTurns(router).receive(tenant, conversation, "When do you open?", "c-1")
    turns: list[str] = []
    answer = router.answer

    def slow(*args: Any, **kwargs: Any) -> Any:  # a turn long enough for the others to arrive during it
        turns.append(args[2])
        time.sleep(0.5)
        return answer(*args, **kwargs)

    monkeypatch.setattr(router, "answer", slow)

    failures: list[BaseException] = []

    async def another_process() -> None:  # its own locks, its own sockets (built in its loop); one database
        visitors = VisitorSockets(InProcessBus(), router.inbox)
        await answer_lost_turns(services(client).core.db, LiveTurns(router), TurnLocks(), visitors)

    def sweep() -> None:
        try:
            asyncio.run(another_process())
        except BaseException as exc:  # a sweep that crashed would make the race below vacuous
            failures.append(exc)

    sweeps = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in sweeps:
        thread.start()
    with client.websocket_connect(ws_url(widget_key, token=token)) as ws:
        ws.receive_json()
        ws.receive_json()
        frames = resend(ws, "c-1")
    for thread in sweeps:
        thread.join()
    assert not failures, failures
    assert turns == ["When do you open?"]
    replies = agent_replies(client, widget_key, token)
    assert len(replies) == 2 and frames[-1]["id"] == replies[-1]["id"]
