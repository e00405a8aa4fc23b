"""The live-chat lock table holds the conversations being talked in now, not every one that ever was."""

from __future__ import annotations

import asyncio
import gc
import time

from fastapi.testclient import TestClient

from channels.livechat.locks import TurnLocks
from tests.channels.test_livechat import receive_until, ws_url
from tests.conftest import auth, new_tenant, services


def test_a_lock_is_shared_while_held_and_dropped_after() -> None:
    locks = TurnLocks()
    held = locks.conversation("c-1")
    assert locks.conversation("c-1") is held and locks.visitor("c-1") is not held
    assert len(locks) == 1  # the visitor lock nobody kept is gone already
    del held
    assert len(locks) == 0

    async def turns() -> None:  # many conversations, each taking a turn and finishing
        for n in range(200):
            async with locks.conversation(f"c-{n}"):
                await asyncio.sleep(0)

    asyncio.run(turns())
    assert len(locks) == 0


def test_finished_live_chats_leave_no_lock_behind(client: TestClient) -> None:
    key = new_tenant(client, "Harbour Tea House")
    widget = str(client.get("/v1/livechat/widget", headers=auth(key)).json()["widget_key"])
    locks: TurnLocks = services(client).livechat_locks
    for n in range(5):  # five visitors, each a new conversation, each closes the tab
        with client.websocket_connect(ws_url(widget)) as ws:
            ws.receive_json()
            ws.receive_json()
            ws.send_json({"type": "message", "text": "Hello", "client_id": f"c-{n}"})
            receive_until(ws, "message")
            assert len(locks) >= 1  # the open conversation's lock
    deadline = time.monotonic() + 5  # the server side of the last socket finishes after the client's
    while len(locks) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    assert len(locks) == 0
