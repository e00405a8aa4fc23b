"""WhatsApp end to end: setup, handshake, signatures, replies through a fake Graph API, statuses,
duplicates, the 24-hour window, Meta's error codes, and a restart between receiving and replying."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.http_pool import HttpPool
from channels.models import Channel, ChannelMessage
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth, ingested, new_tenant, services, settle, upload, wait_for

APP_SECRET = "app-secret-123456"
VERIFY = "verify-token-123"
ACCESS = "EAAG-access-token-xyz"


@pytest.fixture
def client(wa_app: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(wa_app()) as test_client:
        yield test_client


def setup_channel(client: TestClient, key: str, **extra: Any) -> dict[str, Any]:
    body = {
        "kind": "whatsapp",
        "name": "Main number",
        "phone_number_id": "106540352242922",
        "access_token": ACCESS,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY,
        **extra,
    }
    response = client.post("/v1/channels", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return dict(response.json())


def text_message(wamid: str, text: str, sender: str = "85291234567", at: int | None = None) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(at or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def delivery(
    messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "85230001234", "phone_number_id": "106540352242922"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Kerry"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def post(
    client: TestClient, channel_id: str, body: bytes, secret: str = APP_SECRET, signature: str | None = None
) -> Any:
    sig = (
        signature
        if signature is not None
        else "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    )
    headers = {"Content-Type": "application/json", **({"X-Hub-Signature-256": sig} if sig else {})}
    return client.post(f"/webhooks/whatsapp/{channel_id}", content=body, headers=headers)


def shop(client: TestClient) -> str:
    key = new_tenant(client, "Harbour Tea House")
    md = b"# Menu\n\nQ: How much is the milk tea?\nA: Our signature milk tea costs HK$28.\n\n# Hours\n\nWe open 7am to 6pm daily."
    wait_for(client, key, upload(client, key, "menu.md", md)["id"])
    return key


def records(client: TestClient, direction: str) -> list[ChannelMessage]:
    with services(client).core.db.session() as session:
        return list(
            session.scalars(
                select(ChannelMessage)
                .where(ChannelMessage.direction == direction)
                .order_by(ChannelMessage.created_at)
            )
        )


def test_setup_keeps_secrets_sealed(client: TestClient) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)
    assert channel["webhook_path"] == f"/webhooks/whatsapp/{channel['id']}"
    listed = client.get("/v1/channels", headers=auth(key)).text
    assert ACCESS not in listed and APP_SECRET not in listed and VERIFY not in listed
    with services(client).core.db.session() as session:
        row = session.get(Channel, channel["id"])
        assert row is not None and ACCESS not in row.secrets and APP_SECRET not in row.secrets
    bad = client.post(
        "/v1/channels",
        json={
            "kind": "whatsapp",
            "name": "x",
            "phone_number_id": "abc",
            "access_token": ACCESS,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY,
        },
        headers=auth(key),
    )
    assert bad.status_code == 422 and "phone_number_id" in bad.json()["error"]["message"]
    other = new_tenant(client, "Other")
    assert client.get(f"/v1/channels/{channel['id']}", headers=auth(other)).status_code == 404


def test_webhook_is_documented_once_with_its_path_parameters(client: TestClient) -> None:
    operations = client.get("/openapi.json").json()["paths"]["/webhooks/{kind}/{channel_id}"]
    assert set(operations) == {"get", "post"}
    assert {p["name"] for p in operations["post"]["parameters"] if p["in"] == "path"} == {
        "kind",
        "channel_id",
    }


def test_handshake(client: TestClient) -> None:
    channel = setup_channel(client, new_tenant(client))
    url = f"/webhooks/whatsapp/{channel['id']}"
    ok = client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403
    assert client.get("/webhooks/whatsapp/unknown", params={"hub.mode": "subscribe"}).status_code == 404


def test_forged_truncated_oversized_bodies_store_nothing(client: TestClient) -> None:
    channel = setup_channel(client, new_tenant(client))
    body = delivery([text_message("wamid.1", "hi")])
    assert post(client, channel["id"], body, signature="").status_code == 401
    assert post(client, channel["id"], body, secret="forged-secret-000").status_code == 401
    tampered = body.replace(b"hi", b"ho")
    sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert post(client, channel["id"], tampered, signature=sig).status_code == 401
    assert post(client, channel["id"], body[:-7]).status_code == 422  # truncated: signed, but not JSON
    assert post(client, channel["id"], b"x" * (1024 * 1024 + 1)).status_code == 413
    assert post(client, channel["id"], b'{"object": "page"}').status_code == 422
    assert records(client, "in") == []


def test_a_message_is_answered_through_the_graph_api(client: TestClient, graph: FakeGraph) -> None:
    channel = setup_channel(client, shop(client))
    started = time.perf_counter()
    response = post(client, channel["id"], delivery([text_message("wamid.q1", "How much is the milk tea?")]))
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert time.perf_counter() - started < 1.0  # acknowledged without waiting for the agent
    sent = graph.wait_for(1)
    assert len(sent) == 1 and sent[0]["to"] == "85291234567" and sent[0]["type"] == "text"
    assert "HK$28" in sent[0]["text"]["body"] and sent[0]["phone_number_id"] == "106540352242922"
    assert graph.tokens[0] == f"Bearer {ACCESS}"
    deadline = time.monotonic() + 10
    while not records(client, "out") and time.monotonic() < deadline:  # recorded right after the send returns
        time.sleep(0.02)
    out = records(client, "out")
    assert [(r.external_id, r.status) for r in out] == [("wamid.out1", "sent")]

    # Statuses out of order: read before delivered; delivered must not move it back; a late failure neither.
    for status in ("read", "delivered", "failed"):
        post(
            client,
            channel["id"],
            delivery(
                statuses=[
                    {"id": "wamid.out1", "status": status, "timestamp": "1", "recipient_id": "85291234567"}
                ]
            ),
        )
    ingested(client)
    assert records(client, "out")[0].status == "read"


def test_duplicates_are_processed_once(client: TestClient, graph: FakeGraph) -> None:
    channel = setup_channel(client, shop(client))
    message = text_message("wamid.dup", "How much is the milk tea?")
    storm = delivery([message] * 5)
    assert post(client, channel["id"], storm).json()["stored"] == 1
    for _ in range(3):  # Meta's retries, or a replay of a captured delivery
        assert post(client, channel["id"], storm).json()["stored"] == 0
    graph.wait_for(1)
    settle(client)
    assert len(graph.sent) == 1 and len(records(client, "in")) == 1


def test_messages_of_a_conversation_are_answered_in_order(client: TestClient, graph: FakeGraph) -> None:
    channel = setup_channel(client, shop(client))
    questions = ["How much is the milk tea?", "When do you open?", "How much is the milk tea again?"]
    post(client, channel["id"], delivery([text_message(f"wamid.o{i}", q) for i, q in enumerate(questions)]))
    sent = graph.wait_for(3)
    assert len(sent) == 3
    assert "HK$28" in sent[0]["text"]["body"] and "7am" in sent[1]["text"]["body"]


def test_replies_reuse_one_connection_to_the_graph_api(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    """No new TCP connection and TLS handshake per reply: the worker's sends share a pooled client, which
    carries no cookie from one send to the next."""
    with TestClient(wa_app(worker_concurrency=1)) as client:  # one worker thread: one pool
        channel = setup_channel(client, shop(client))
        for n, sender in enumerate(["85291110001", "85291110002", "85291110003"]):
            post(client, channel["id"], delivery([text_message(f"wamid.c{n}", "When do you open?", sender)]))
            graph.wait_for(n + 1)
        assert len(graph.peers) == 3 and len(set(graph.peers)) == 1
        assert graph.cookies == [None, None, None]  # one client for every tenant: it keeps no cookies


def test_replies_leave_no_socket_behind(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    """Each reply used to run in its own asyncio.run() loop with its own HTTP client, and neither was ever
    freed (the client's connection references its loop): one socket per reply, until the server ran out of
    file descriptors (bench/webhook.py stalled at 19,967 answers with `ulimit -n` 20,000)."""

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    with TestClient(wa_app(worker_concurrency=1)) as client:
        channel = setup_channel(client, shop(client))
        post(client, channel["id"], delivery([text_message("wamid.f0", "When do you open?", "85292220000")]))
        graph.wait_for(1)  # the pool's connection is open now
        before = open_files()
        for n in range(1, 21):
            message = text_message(f"wamid.f{n}", "When do you open?", f"8529222{n:04d}")
            post(client, channel["id"], delivery([message]))
            graph.wait_for(n + 1)
        assert open_files() - before < 5


def test_no_free_form_send_outside_the_window(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    with TestClient(wa_app()) as client:
        key = shop(client)
        plain = setup_channel(client, key)
        old = int(time.time()) - 25 * 3600
        post(client, plain["id"], delivery([text_message("wamid.old", "How much is the milk tea?", at=old)]))
        ingested(client)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            replies = [
                m
                for m in services(client).inbox_store.messages(
                    services(client).core.keys.resolve(key).tenant_id,
                    records(client, "in")[0].conversation_id or "",
                )
                if m.role == "agent"
            ]
            if replies and replies[0].meta.get("delivery") != "pending":
                break
            time.sleep(0.05)
        assert (
            replies[0].meta["delivery"] == "skipped" and "window closed" in replies[0].meta["delivery_error"]
        )
        assert graph.sent == []
        templated = setup_channel(client, key, fallback_template={"name": "reopen_chat", "language": "zh_HK"})
        post(
            client,
            templated["id"],
            delivery([text_message("wamid.old2", "Hello?", sender="85290000000", at=old)]),
        )
        sent = graph.wait_for(1)
        assert sent[0]["type"] == "template" and sent[0]["template"]["name"] == "reopen_chat"
        assert sent[0]["template"]["language"] == {"code": "zh_HK"}


def test_meta_error_codes(client: TestClient, graph: FakeGraph) -> None:
    channel = setup_channel(client, shop(client))
    graph.errors = [130429]  # throughput limit: backed off and retried, sent once
    post(client, channel["id"], delivery([text_message("wamid.e1", "How much is the milk tea?")]))
    assert len(graph.wait_for(1, timeout=30)) == 1
    graph.errors = [131026]  # undeliverable: not retried, the reason is recorded
    post(
        client, channel["id"], delivery([text_message("wamid.e2", "When do you open?", sender="85290000001")])
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(r.status == "failed" for r in records(client, "out")):
        time.sleep(0.05)
    failed = next(r for r in records(client, "out") if r.status == "failed")
    assert failed.error_code == 131026 and "undeliverable" in (failed.error or "")
    assert len(graph.sent) == 1


def test_restart_between_receiving_and_replying(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    with TestClient(wa_app(worker=False)) as client:  # receives and acknowledges, then "dies" before replying
        channel = setup_channel(client, new_tenant(client))
        body = delivery([text_message("wamid.r1", "Are you open today?")])
        assert post(client, channel["id"], body).json()["stored"] == 1
    assert graph.sent == []
    with TestClient(wa_app()) as restarted:  # restarted: the unfinished work resumes
        sent = graph.wait_for(1)
        settle(restarted)
    assert len(sent) == 1 and sent[0]["to"] == "85291234567"
    # And a second restart sends nothing again: what a start resumes, it queues before it serves.
    with TestClient(wa_app()) as again:
        settle(again)
    assert len(graph.sent) == 1


def test_media_is_downloaded_through_the_graph_api(graph: FakeGraph) -> None:
    import asyncio

    from channels.whatsapp import WhatsAppClient

    client = WhatsAppClient(graph.url, "106540352242922", ACCESS, http=HttpPool())
    data, mime = asyncio.run(client.download_media("2754859441498128"))
    assert data == b"\xff\xd8\xff" and mime == "image/jpeg"


def test_one_worker_per_conversation_many_in_parallel(client: TestClient, graph: FakeGraph) -> None:
    from core.jobs import RetryLater

    channel = setup_channel(client, shop(client))
    inbox = services(client).inbox_store
    senders = [f"8529000000{i}" for i in range(4)]
    post(
        client,
        channel["id"],
        delivery(
            [
                text_message(f"wamid.p{i}", "How much is the milk tea?", sender=s)
                for i, s in enumerate(senders)
            ]
        ),
    )
    assert len(graph.wait_for(4)) == 4 and {m["to"] for m in graph.sent} == set(senders)
    conversation = records(client, "in")[0].conversation_id or ""
    deadline = time.monotonic() + 10  # the reply job records its send, then lets go of the conversation
    while (holder := inbox.lease(conversation, 60)) is None:
        assert time.monotonic() < deadline, "the reply job never released the conversation"
        time.sleep(0.02)
    try:  # while one worker holds a conversation, another backs off instead of answering out of order
        with pytest.raises(RetryLater):
            services(client).channel_processor.run_reply(
                {"channel_id": channel["id"], "conversation_id": conversation}
            )
    finally:
        inbox.release(conversation, holder)


def test_outbound_message_shapes(graph: FakeGraph) -> None:
    import asyncio

    from channels.whatsapp import WhatsAppClient

    client = WhatsAppClient(graph.url, "106540352242922", ACCESS, http=HttpPool())

    async def send_all() -> None:
        await client.send_buttons("85291234567", "Book a facial?", [("yes", "Yes please"), ("no", "Not now")])
        await client.send_list(
            "85291234567",
            "Pick a treatment",
            "Treatments",
            [("F01", "Express Glow"), ("F02", "Deep Hydrating")],
        )
        await client.send_media(
            "85291234567", "image", "https://cdn.example/price-list.jpg", caption="Our prices"
        )
        await client.send_template("85291234567", "booking_reminder", "zh_HK", ["Kerry", "3pm"])

    asyncio.run(send_all())
    buttons, listing, media, template = graph.sent
    assert buttons["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in buttons["interactive"]["action"]["buttons"]] == ["yes", "no"]
    assert listing["interactive"]["action"]["sections"][0]["rows"][1] == {
        "id": "F02",
        "title": "Deep Hydrating",
    }
    assert media["image"] == {"link": "https://cdn.example/price-list.jpg", "caption": "Our prices"}
    assert template["template"]["name"] == "booking_reminder" and template["template"]["language"] == {
        "code": "zh_HK"
    }
    assert [p["text"] for p in template["template"]["components"][0]["parameters"]] == ["Kerry", "3pm"]


def test_send_rate_never_exceeds_the_ceiling(graph: FakeGraph) -> None:
    import asyncio

    from channels.whatsapp import WhatsAppClient

    client = WhatsAppClient(graph.url, "106540352242922", ACCESS, http=HttpPool(), per_second=20)

    async def burst() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(client.send_text("85291234567", f"m{i}") for i in range(30)))
        return time.perf_counter() - start

    elapsed = asyncio.run(burst())
    assert len(graph.sent) == 30 and elapsed >= 29 / 20 - 0.05  # 30 sends at 20/s need at least 1.45 s
