"""A person's inbox reply on the conversation's own channel: WhatsApp inside its 24-hour window (a closed
window is refused with 409, nothing stored), the agent silent on inbound messages meanwhile, and
Messenger's HUMAN_AGENT tag between 24 hours and 7 days."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from channels.human_replies import HUMAN_REPLY_KIND
from tests.channels import test_messenger as messenger
from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import delivery, post, setup_channel, shop, text_message
from tests.conftest import auth, new_tenant, services, settle


def conversation_of(client: TestClient, key: str, status: str | None = None) -> str:
    params = {"status": status} if status else {}
    [conversation] = client.get("/v1/inbox/conversations", params=params, headers=auth(key)).json()["items"]
    return str(conversation["id"])


def connect_page(client: TestClient, key: str) -> str:
    page = {
        "kind": "messenger",
        "name": "Page",
        "page_id": "106540352242922",
        "access_token": "EAAG-page-token-123",
        "app_secret": messenger.APP_SECRET,
        "verify_token": "verify-token-123",
    }
    return str(client.post("/v1/channels", json=page, headers=auth(key)).json()["id"])


def a_day_old_messenger_conversation(client: TestClient) -> tuple[str, str]:
    """A tenant with a Messenger page whose customer last wrote 30 hours ago; returns (key, channel id)."""
    key = new_tenant(client)
    channel = connect_page(client, key)
    thirty_hours_ago = int((time.time() - 30 * 3600) * 1000)
    raw = messenger.body("messenger", [messenger.event("m_old", "hello", at_ms=thirty_hours_ago)])
    assert messenger.post(client, "messenger", channel, raw).status_code == 200
    settle(client)
    return key, channel


def test_whatsapp_human_reply_inside_the_window_and_silence_meanwhile(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    with TestClient(app_factory(whatsapp_api_base=fake.url)) as client:
        key = shop(client)
        channel = setup_channel(client, key)["id"]
        post(client, channel, delivery([text_message("wamid.h1", "I want to talk to a person")]))
        assert "colleague" in fake.wait_for(1)[0]["text"]["body"]
        post(client, channel, delivery([text_message("wamid.h2", "How much is the milk tea?")]))
        settle(client)
        assert len(fake.sent) == 1  # the agent did not answer: a person owns the conversation now
        conversation = conversation_of(client, key, "pending_human")
        reply = client.post(
            f"/v1/inbox/conversations/{conversation}/reply",
            json={"text": "Hi, Mandy here."},
            headers=auth(key),
        )
        assert reply.status_code == 201
        sent = fake.wait_for(2)[1]
        assert sent["to"] == "85291234567" and sent["text"]["body"] == "Hi, Mandy here."
        settle(client)
        detail = client.get(f"/v1/inbox/conversations/{conversation}", headers=auth(key)).json()
        assert [m["delivery"] for m in detail["messages"] if m["role"] == "human"] == ["sent"]


def test_whatsapp_human_reply_outside_the_window_is_refused(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    with TestClient(app_factory(whatsapp_api_base=fake.url)) as client:
        key = shop(client)
        channel = setup_channel(client, key)["id"]
        old = int(time.time()) - 25 * 3600
        post(client, channel, delivery([text_message("wamid.o1", "hello", at=old)]))
        settle(client)
        conversation = conversation_of(client, key)
        refused = client.post(
            f"/v1/inbox/conversations/{conversation}/reply",
            json={"text": "Sorry for the wait"},
            headers=auth(key),
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "window_closed"
        assert (
            "24 hours" in refused.json()["error"]["message"]
            and "template" in refused.json()["error"]["message"]
        )
        detail = client.get(f"/v1/inbox/conversations/{conversation}", headers=auth(key)).json()
        assert all(m["role"] != "human" for m in detail["messages"]) and detail["status"] == "bot"


def test_messenger_human_reply_after_a_day_uses_the_human_agent_tag(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    with TestClient(app_factory(messenger_api_base=fake.url)) as client:
        key, channel = a_day_old_messenger_conversation(client)
        assert fake.sent == []  # the AI may not answer after 24 hours
        conversation = conversation_of(client, key)
        reply = client.post(
            f"/v1/inbox/conversations/{conversation}/reply",
            json={"text": "Sorry for the delay!"},
            headers=auth(key),
        )
        assert reply.status_code == 201
        [sent] = fake.wait_for(1)
        assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
        assert sent["message"]["text"] == "Sorry for the delay!"


def test_csat_question_on_messenger_never_uses_the_human_agent_tag(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    """A CSAT question is automated: after 24 hours it is not asked, although a person could still reply."""
    with TestClient(app_factory(messenger_api_base=fake.url)) as client:
        key = new_tenant(client)
        channel = connect_page(client, key)
        thirty_hours_ago = int((time.time() - 30 * 3600) * 1000)
        events = [
            messenger.event("m_old", "my order never came", sender="1001", at_ms=thirty_hours_ago),
            messenger.event("m_new", "my order never came", sender="2002"),
        ]
        assert (
            messenger.post(client, "messenger", channel, messenger.body("messenger", events)).status_code
            == 200
        )
        settle(client)
        conversations = client.get("/v1/inbox/conversations", headers=auth(key)).json()["items"]
        assert len(conversations) == 2
        for conversation in conversations:
            ticket = client.post(
                "/v1/tickets",
                json={
                    "type": "general_support",
                    "subject": "Lost order",
                    "conversation_id": conversation["id"],
                },
                headers=auth(key),
            ).json()
            resolved = client.patch(
                f"/v1/tickets/{ticket['id']}", json={"status": "resolved"}, headers=auth(key)
            )
            assert resolved.status_code == 200

        def asked() -> list[dict[str, Any]]:
            return [m for m in fake.sent if "1 (poor)" in m.get("message", {}).get("text", "")]

        deadline = (
            time.monotonic() + 30
        )  # the question is queued from the event loop, after the PATCH returns
        while not asked() and time.monotonic() < deadline:
            time.sleep(0.05)
        settle(client)
        assert [m["recipient"]["id"] for m in asked()] == ["2002"]  # inside 24 hours only
        assert all(m.get("tag") is None for m in asked())


def test_an_automated_inbox_message_is_not_sent_with_the_human_agent_tag(
    app_factory: Callable[..., Any], fake: FakeGraph
) -> None:
    """The send job itself refuses the 7-day tag for anything a person did not write (a CSAT question that
    was queued inside the window and runs after it closed)."""
    with TestClient(app_factory(messenger_api_base=fake.url)) as client:
        key, channel = a_day_old_messenger_conversation(client)
        conversation = conversation_of(client, key)
        built = services(client)
        tenant = built.core.keys.resolve(key).tenant_id
        inbox = built.inbox_store
        question = inbox.add_message(
            tenant, conversation, "agent", "How satisfied are you?", {"delivery": "pending"}
        )
        payload = {"channel_id": channel, "conversation_id": conversation, "message_id": question.id}
        built.core.jobs.enqueue(HUMAN_REPLY_KIND, payload, tenant_id=tenant)
        built.core.jobs.notify()
        settle(client)
        assert fake.sent == []
        assert inbox.message(tenant, question.id).meta["delivery"] == "skipped"
