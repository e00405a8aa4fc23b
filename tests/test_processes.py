"""Two server processes on one PostgreSQL database, as an operator runs Parley on more than one machine.

Real `uvicorn app:app` processes on loopback (each with its own data folder, so its own embedded index),
sharing the database and the secret key. What one process does reaches the sockets and caches of the
other through the bus (core/bus.py): a live-chat visitor on A, answered there, is seen by a staff client
on B; B's staff reply reaches the visitor's socket on A; a channel deleted through A is refused by B.
The two processes serve both tests (starting one takes seconds). Skipped without PARLEY_TEST_DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ADMIN_KEY, PG_URL
from tests.test_serve import running

pytestmark = pytest.mark.skipif(not PG_URL, reason="PARLEY_TEST_DATABASE_URL not set")
http = httpx.Client(timeout=60)
SECRET = "telegram-secret-token-0123"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of its own: the processes take their settings from the environment, which has no schema."""
    assert PG_URL
    name = f"parley_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Processes A and B (base URLs). One after the other: two first starts on an empty database race in
    LangGraph's PostgresSaver.setup() (not Parley's migrations, which `parley migrate` could run first)."""
    common = {
        **os.environ,
        "PARLEY_DATABASE_URL": database_url,
        "PARLEY_ADMIN_KEY": ADMIN_KEY,
        "PARLEY_SECRET_KEY": Fernet.generate_key().decode(),  # shared: B opens secrets A sealed
        "PARLEY_DEMO": "false",
        "PARLEY_TELEGRAM_API_BASE": "http://127.0.0.1:9",  # nothing is sent; never the real platform
    }
    common.pop("PARLEY_QDRANT_URL", None)
    tmp_path = tmp_path_factory.mktemp("processes")
    bases = []
    with ExitStack() as stack:
        for name in ("a", "b"):
            env = {**common, "PARLEY_DATA_DIR": str(tmp_path / name)}
            base, _ = stack.enter_context(running(env, ["-m", "uvicorn", "app:app"], start_seconds=90))
            bases.append(base)
        yield bases[0], bases[1]


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def frames_until(ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=30))
        if wanted(frame):
            return dict(frame)


def test_a_visitor_on_a_is_seen_by_staff_on_b_and_answered_from_b(servers: tuple[str, str]) -> None:
    a, b = servers
    key = http.post(f"{a}/v1/tenants", json={"name": "Acme"}, headers=auth(ADMIN_KEY)).json()["api_key"]
    widget_key = http.get(f"{a}/v1/livechat/widget", headers=auth(key)).json()["widget_key"]
    ws_a, ws_b = a.replace("http", "ws", 1), b.replace("http", "ws", 1)
    with (
        connect(f"{ws_b}/v1/inbox/ws?key={key}") as staff,
        connect(f"{ws_a}/v1/livechat/ws?widget_key={widget_key}") as visitor,
    ):
        assert json.loads(staff.recv(timeout=30))["type"] == "ready"
        frames_until(visitor, lambda f: f["type"] == "history")
        visitor.send(json.dumps({"type": "message", "text": "請問你們幾點開門？", "client_id": "c1"}))
        frames_until(visitor, lambda f: f["type"] == "ack")
        answer = frames_until(visitor, lambda f: f["type"] == "message")  # the agent, in process A
        assert answer["role"] == "agent"

        # Process B's staff client hears the visitor's message, with its text loaded there.
        heard = frames_until(staff, lambda f: f["type"] == "message")
        assert heard["role"] == "customer" and heard["text"] == "請問你們幾點開門？"
        conversation = heard["conversation_id"]

        # A person answers through B; the visitor's socket is held by A.
        reply = http.post(
            f"{b}/v1/inbox/conversations/{conversation}/reply",
            json={"text": "我們早上十點開門。" * 400},  # longer than a NOTIFY may carry: sent by id
            headers=auth(key),
        )
        assert reply.status_code == 201, reply.text
        pushed = frames_until(visitor, lambda f: f["type"] == "message")
        assert pushed["role"] == "human" and pushed["text"] == "我們早上十點開門。" * 400
        # ...and B's own staff client sees the handoff and the reply, in order.
        status = frames_until(staff, lambda f: f["type"] == "status")
        assert status["status"] == "human"
        mine = frames_until(staff, lambda f: f["type"] == "message")
        assert mine["role"] == "human" and mine["id"] == reply.json()["id"]


def test_a_channel_deleted_through_a_is_refused_by_b(servers: tuple[str, str]) -> None:
    a, b = servers
    key = http.post(f"{a}/v1/tenants", json={"name": "Bots"}, headers=auth(ADMIN_KEY)).json()["api_key"]
    channel = http.post(
        f"{a}/v1/channels",
        json={"kind": "telegram", "name": "Bot", "bot_token": "123456:" + "A" * 30, "secret_token": SECRET},
        headers=auth(key),
    ).json()["id"]
    webhook = f"{b}/webhooks/telegram/{channel}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    # B takes a delivery: it now holds the channel and its opened secrets in its cache.
    assert http.post(webhook, content=json.dumps({"update_id": 1}), headers=headers).status_code == 200
    assert http.get(f"{b}/v1/channels/{channel}", headers=auth(key)).status_code == 200

    assert http.delete(f"{a}/v1/channels/{channel}", headers=auth(key)).status_code == 204
    deadline = time.monotonic() + 5  # the bus is asynchronous: milliseconds, not a request's time
    while True:
        refused = http.post(webhook, content=json.dumps({"update_id": 2}), headers=headers)
        if refused.status_code == 404 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert refused.status_code == 404, refused.text
    assert http.get(f"{b}/v1/channels/{channel}", headers=auth(key)).status_code == 404
