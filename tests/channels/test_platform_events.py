"""Platform events are events, through the signed webhook: reactions attach to their message, edits update
it, follows and unfollows change the contact's state on the channel (a follow may earn the channel's
welcome), and none is stored as a customer message or answered by the agent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels import channel_state
from channels.models import ChannelMessage
from channels.processing import JOB_KIND
from core.models import Job
from crm.models import Contact
from inbox.models import Message
from tests.channels.fake_graph import FakeGraph
from tests.channels.signing import CHANNELS, deliver, fake_platforms, line_events, whatsapp_delivery
from tests.conftest import auth, ingested, new_tenant, services, settle

NOW = int(time.time())
LINE_USER = "U4af4980629"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(**fake_platforms(fake))) as test_client:
        yield test_client


def channel_of(client: TestClient, kind: str, **extra: Any) -> str:
    key = new_tenant(client)
    body = {"kind": kind, "name": kind.title(), **CHANNELS[kind], **extra}
    response = client.post("/v1/channels", headers=auth(key), json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def delivered(client: TestClient, kind: str, channel: str, body: Any) -> dict[str, Any]:
    response = deliver(client, kind, channel, body)
    assert response.status_code == 200, response.text
    ingested(client)
    return dict(response.json()) if kind != "wechat" else {}


def messages(client: TestClient, channel: str) -> list[Message]:
    tenant = services(client).channels.get(channel).tenant_id
    with services(client).core.db.session() as session:
        query = select(Message).where(Message.tenant_id == tenant).order_by(Message.created_at)
        return list(session.scalars(query))


def agent_turns(client: TestClient) -> int:
    """Reply jobs ever queued (a job row stays after it ran): each is an agent turn."""
    with services(client).core.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Job).where(Job.kind == JOB_KIND)) or 0)


def contact_state(client: TestClient, channel: str, external_id: str) -> tuple[str | None, bool]:
    """(the contact's state on the channel, whether they are opted out of broadcasts)."""
    with services(client).core.db.session() as session:
        contact = session.scalar(select(Contact).where(Contact.external_id == external_id))
        assert contact is not None, external_id
        row = channel_state.current(session, channel, contact.id)
        return (row.state if row else None), bool(contact.opted_out)


def line_event(kind: str, event_id: str, at_ms: int, **body: Any) -> dict[str, Any]:
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": at_ms,
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": LINE_USER},
        **body,
    }
    return {"destination": "U0", "events": [event]}


def whatsapp_message(message: dict[str, Any]) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "85230001234", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "85291234567"}],
        "messages": [{"from": "85291234567", "timestamp": str(NOW), **message}],
    }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


# --- reactions and edits ------------------------------------------------------------------------------


def test_a_whatsapp_reaction_attaches_to_its_message_and_an_empty_one_removes_it(client: TestClient) -> None:
    channel = channel_of(client, "whatsapp")
    # Not a question the agent answers: the reply jobs below are all this message's own.
    delivered(client, "whatsapp", channel, whatsapp_delivery(NOW, "wamid.q1", "ok"))
    turns = agent_turns(client)
    react = {"id": "wamid.r1", "type": "reaction", "reaction": {"message_id": "wamid.q1", "emoji": "👍"}}
    ack = delivered(client, "whatsapp", channel, whatsapp_message(react))
    assert ack == {"status": "ok", "messages": 0, "stored": 1, "statuses": 0, "events": 1}
    (question,) = [m for m in messages(client, channel) if m.role == "customer"]
    assert question.text == "ok" and question.meta["reactions"]["85291234567"]["emoji"] == "👍"
    # Meta's un-reaction: the same message, no emoji.
    unreact = {"id": "wamid.r2", "type": "reaction", "reaction": {"message_id": "wamid.q1", "emoji": ""}}
    delivered(client, "whatsapp", channel, whatsapp_message(unreact))
    customer = [m for m in messages(client, channel) if m.role == "customer"]
    assert len(customer) == 1 and customer[0].meta["reactions"] == {}
    assert agent_turns(client) == turns  # no turn for either


def test_a_reaction_to_a_message_we_never_saw_is_recorded_not_answered(client: TestClient) -> None:
    channel = channel_of(client, "whatsapp")
    react = {"id": "wamid.r9", "type": "reaction", "reaction": {"message_id": "wamid.gone", "emoji": "❤️"}}
    for _ in range(2):  # a redelivery applies nothing twice
        assert deliver(client, "whatsapp", channel, whatsapp_message(react)).status_code == 200
    ingested(client)
    assert messages(client, channel) == [] and agent_turns(client) == 0
    with services(client).core.db.session() as session:
        (row,) = session.scalars(select(ChannelMessage).where(ChannelMessage.external_id == "wamid.r9"))
        assert row.status == "reaction" and "wamid.gone" in (row.error or "")


def test_a_messenger_reaction_and_edit(client: TestClient) -> None:
    channel = channel_of(client, "messenger")
    psid = "6754230144662"

    def event(at: int, **body: Any) -> dict[str, Any]:
        item = {"sender": {"id": psid}, "recipient": {"id": "1"}, "timestamp": at, **body}
        return {"object": "page", "entry": [{"id": "1", "time": at, "messaging": [item]}]}

    delivered(client, "messenger", channel, event(NOW * 1000, message={"mid": "m_1", "text": "tuesday 3pm"}))
    turns = agent_turns(client)
    edit = {"mid": "m_1", "text": "tuesday 4pm", "num_edit": 1}
    delivered(client, "messenger", channel, event(NOW * 1000 + 5000, message_edit=edit))
    reaction = {"mid": "m_1", "action": "react", "reaction": "love", "emoji": "❤"}
    delivered(client, "messenger", channel, event(NOW * 1000 + 6000, reaction=reaction))
    (message,) = [m for m in messages(client, channel) if m.role == "customer"]
    assert message.text == "tuesday 4pm" and message.meta["edits"][0]["text"] == "tuesday 3pm"
    assert message.meta["reactions"][psid]["emoji"] == "❤"
    unreact = {"mid": "m_1", "action": "unreact", "reaction": "love"}
    delivered(client, "messenger", channel, event(NOW * 1000 + 7000, reaction=unreact))
    (message,) = [m for m in messages(client, channel) if m.role == "customer"]
    assert message.meta["reactions"] == {} and agent_turns(client) == turns


def test_a_telegram_edit_updates_the_stored_message_and_is_not_answered(client: TestClient) -> None:
    channel = channel_of(client, "telegram")
    chat = {"id": 7, "first_name": "Mei", "type": "private"}
    original = {"message_id": 41, "date": NOW, "from": {"id": 7}, "chat": chat, "text": "2 seats at 7"}
    delivered(client, "telegram", channel, {"update_id": 900, "message": original})
    turns = agent_turns(client)
    edited = {**original, "text": "3 seats at 7", "edit_date": NOW + 30}
    ack = delivered(client, "telegram", channel, {"update_id": 901, "edited_message": edited})
    assert ack["messages"] == 0 and ack["events"] == 1
    (message,) = [m for m in messages(client, channel) if m.role == "customer"]
    assert message.text == "3 seats at 7"
    assert [e["text"] for e in message.meta["edits"]] == ["2 seats at 7"]
    assert agent_turns(client) == turns


# --- follow, unfollow, welcome --------------------------------------------------------------------------


def test_line_follow_unfollow_join_leave_are_state_not_messages(client: TestClient, fake: FakeGraph) -> None:
    channel = channel_of(client, "line")  # no welcome message configured: none is sent
    at = NOW * 1000
    ack = delivered(client, "line", channel, line_event("follow", "01HF1", at, replyToken="rt-f1"))
    assert ack == {"status": "ok", "messages": 0, "stored": 1, "statuses": 0, "events": 1}
    assert contact_state(client, channel, f"line:{LINE_USER}") == ("subscribed", False)
    delivered(client, "line", channel, line_event("unfollow", "01HF2", at + 1000))
    assert contact_state(client, channel, f"line:{LINE_USER}") == ("unsubscribed", True)
    # A follow delivered late (older than the unfollow) changes nothing.
    delivered(client, "line", channel, line_event("follow", "01HF0", at - 1000))
    assert contact_state(client, channel, f"line:{LINE_USER}") == ("unsubscribed", True)
    group = {"type": "group", "groupId": "Ca56f94637c"}
    delivered(
        client,
        "line",
        channel,
        {"events": [{**line_event("join", "01HJ", at)["events"][0], "source": group}]},
    )
    assert contact_state(client, channel, "line:Ca56f94637c") == ("joined", False)
    delivered(
        client,
        "line",
        channel,
        {"events": [{**line_event("leave", "01HL", at + 5)["events"][0], "source": group}]},
    )
    assert contact_state(client, channel, "line:Ca56f94637c") == ("left", True)
    assert messages(client, channel) == [] and agent_turns(client) == 0
    settle(client)
    assert fake.sent == []


def test_a_follow_gets_the_welcome_once_and_nothing_is_sent_after_an_unfollow(
    client: TestClient, fake: FakeGraph
) -> None:
    channel = channel_of(client, "line", welcome_message="Welcome to Tea House! Ask us anything.")
    at = int(time.time() * 1000)
    for _ in range(2):  # a redelivered follow is not welcomed twice
        delivered(client, "line", channel, line_event("follow", "01HW1", at, replyToken="rt-w1"))
    (sent,) = fake.wait_for(1)
    assert sent["api"] == "line-reply" and sent["replyToken"] == "rt-w1"
    assert sent["messages"][0]["text"] == "Welcome to Tea House! Ask us anything."
    (welcome,) = messages(client, channel)
    assert welcome.role == "agent" and welcome.meta["route"] == "welcome"
    assert agent_turns(client) == 0
    # A question and then an unfollow in one delivery: the answer is stored, never sent.
    question = line_events(at + 1000, "01HW2", "How much is the milk tea?")["events"][0]
    unfollow = line_event("unfollow", "01HW3", at + 2000)["events"][0]
    delivered(client, "line", channel, {"destination": "U0", "events": [question, unfollow]})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replies = [m for m in messages(client, channel) if m.meta.get("in_reply_to")]
        if replies and replies[0].meta.get("delivery") != "pending":
            break
        time.sleep(0.1)
    assert replies[0].meta["delivery"] == "skipped" and "unfollowed" in replies[0].meta["delivery_error"]
    assert len(fake.sent) == 1


def test_wechat_subscribe_click_unsubscribe(client: TestClient, fake: FakeGraph) -> None:
    channel = channel_of(client, "wechat", welcome_message="歡迎關注！")

    def event(name: str, at: int, key: str = "") -> bytes:
        extra = f"<EventKey><![CDATA[{key}]]></EventKey>" if key else ""
        return (
            "<xml><ToUserName><![CDATA[gh_9f2b2f3c8a1e]]></ToUserName>"
            "<FromUserName><![CDATA[oUpF8uMuAJO]]></FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{name}]]></Event>{extra}</xml>"
        ).encode()

    delivered(client, "wechat", channel, event("subscribe", NOW, "qrscene_123"))
    (sent,) = fake.wait_for(1)
    assert (
        sent["api"] == "wechat"
        and sent["touser"] == "oUpF8uMuAJO"
        and sent["text"]["content"] == "歡迎關注！"
    )
    delivered(client, "wechat", channel, event("CLICK", NOW + 1, "MENU_PRICES"))
    assert contact_state(client, channel, "wechat:oUpF8uMuAJO") == ("subscribed", False)
    delivered(client, "wechat", channel, event("unsubscribe", NOW + 2))
    assert contact_state(client, channel, "wechat:oUpF8uMuAJO") == ("unsubscribed", True)
    assert [m.meta.get("route") for m in messages(client, channel)] == ["welcome"]
    assert agent_turns(client) == 0
    with services(client).core.db.session() as session:
        kinds = session.scalars(
            select(ChannelMessage.status).where(
                ChannelMessage.channel_id == channel, ChannelMessage.direction == "in"
            )
        )
        assert sorted(kinds) == ["follow", "menu", "unfollow"]


def test_viber_subscribed_unsubscribed_conversation_started(client: TestClient, fake: FakeGraph) -> None:
    channel = channel_of(client, "viber")
    user = {"id": "01234567890A=", "name": "John McClane", "language": "en", "country": "UK"}
    opened = {
        "event": "conversation_started",
        "timestamp": NOW * 1000,
        "message_token": 4912661846655238145,
        "type": "open",
        "context": "from-qr",
        "user": user,
        "subscribed": False,
    }
    delivered(client, "viber", channel, opened)
    assert contact_state(client, channel, f"viber:{user['id']}") == ("started", False)
    subscribed = {
        "event": "subscribed",
        "timestamp": NOW * 1000 + 1,
        "user": user,
        "message_token": 4912661846655238146,
    }
    delivered(client, "viber", channel, subscribed)
    assert contact_state(client, channel, f"viber:{user['id']}") == ("subscribed", False)
    gone = {
        "event": "unsubscribed",
        "timestamp": NOW * 1000 + 2,
        "user_id": user["id"],
        "message_token": 4912661846655238147,
    }
    delivered(client, "viber", channel, gone)
    assert contact_state(client, channel, f"viber:{user['id']}") == ("unsubscribed", True)
    assert messages(client, channel) == [] and agent_turns(client) == 0


def test_a_telegram_block_stops_sending(client: TestClient) -> None:
    channel = channel_of(client, "telegram")
    change = {
        "chat": {"id": 7, "first_name": "Mei", "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "Mei"},
        "date": NOW,
        "old_chat_member": {"user": {"id": 1, "is_bot": True}, "status": "member"},
        "new_chat_member": {"user": {"id": 1, "is_bot": True}, "status": "kicked", "until_date": 0},
    }
    started = {
        **change,
        "old_chat_member": change["new_chat_member"],
        "new_chat_member": change["old_chat_member"],
    }
    delivered(client, "telegram", channel, {"update_id": 949, "my_chat_member": started})
    assert contact_state(client, channel, "telegram:7") == ("subscribed", False)
    delivered(client, "telegram", channel, {"update_id": 950, "my_chat_member": {**change, "date": NOW + 1}})
    assert contact_state(client, channel, "telegram:7") == ("unsubscribed", True)
    # Someone never seen blocking the bot: nothing to record, nothing stored.
    stranger = {**change, "chat": {"id": 8, "type": "private"}, "from": {"id": 8, "is_bot": False}}
    delivered(client, "telegram", channel, {"update_id": 951, "my_chat_member": stranger})
    assert messages(client, channel) == [] and agent_turns(client) == 0


# --- orders and stickers keep what the customer sent ----------------------------------------------------


def test_a_whatsapp_order_keeps_its_items_and_reads_as_an_order(client: TestClient) -> None:
    channel = channel_of(client, "whatsapp")
    order = {
        "id": "wamid.order1",
        "type": "order",
        "order": {
            "catalog_id": "1623985694568234",
            "text": "Gift wrap please",
            "product_items": [
                {
                    "product_retailer_id": "TEA-OOLONG-100G",
                    "quantity": "2",
                    "item_price": 120,
                    "currency": "HKD",
                },
                {
                    "product_retailer_id": "CUP-CERAMIC",
                    "quantity": 1,
                    "item_price": "35.5",
                    "currency": "HKD",
                },
            ],
        },
    }
    delivered(client, "whatsapp", channel, whatsapp_message(order))
    stored = next(m for m in messages(client, channel) if m.role == "customer")
    assert stored.text == (
        "Order: 2 × TEA-OOLONG-100G at HKD 120.00, 1 × CUP-CERAMIC at HKD 35.50 (total HKD 275.50). "
        "Note: Gift wrap please"
    )
    assert stored.meta["order"]["catalog_id"] == "1623985694568234"
    assert stored.meta["order"]["items"][0] == {
        "product_retailer_id": "TEA-OOLONG-100G",
        "quantity": 2,
        "item_price": 120,
        "currency": "HKD",
    }
    assert stored.meta["answerable"] is True  # an order is something to answer


def test_a_line_sticker_keeps_the_text_typed_on_it(client: TestClient) -> None:
    channel = channel_of(client, "line")
    sticker = {
        "id": "468789577898262530",
        "quoteToken": "q3Plxr4AgKd...",
        "type": "sticker",
        "stickerId": "738839",
        "packageId": "12287",
        "stickerResourceType": "MESSAGE",
        "keywords": ["Anticipation", "Sparkle", "Happy"],
        "text": "Is the shop open on Sunday?",
    }
    delivered(
        client,
        "line",
        channel,
        line_event("message", "01HS1", NOW * 1000, replyToken="rt-s", message=sticker),
    )
    stored = next(m for m in messages(client, channel) if m.role == "customer")
    assert stored.text == "Is the shop open on Sunday?" and stored.meta["answerable"] is True
    assert stored.meta["sticker"]["keywords"] == ["Anticipation", "Sparkle", "Happy"]


# --- parsing -------------------------------------------------------------------------------------------


def test_parsing_tells_events_from_messages() -> None:
    from channels.line import parse_events
    from channels.whatsapp import parse as parse_whatsapp

    plain = {
        "id": "1",
        "type": "sticker",
        "packageId": "1",
        "stickerId": "1",
        "stickerResourceType": "STATIC",
    }
    parsed = parse_events(
        {
            "events": [
                line_event("message", "e1", NOW * 1000, message=plain)["events"][0],
                line_event("unfollow", "e2", NOW * 1000)["events"][0],
                line_event("leave", "e3", NOW * 1000)["events"][0],
            ]
        }
    )
    assert [(m.kind, m.text, m.answerable) for m in parsed.inbound] == [("sticker", "[sticker]", False)]
    assert [e.kind for e in parsed.events] == ["unfollow", "leave"]
    unreact = whatsapp_message({"id": "wamid.x", "type": "reaction", "reaction": {"message_id": "wamid.y"}})
    inbound, _, unparsed, events = parse_whatsapp(unreact)
    assert inbound == [] and unparsed == [] and (events[0].target, events[0].text) == ("wamid.y", "")
    # A reaction that names no message cannot be applied: kept raw for an admin, not guessed at.
    nameless = whatsapp_message({"id": "wamid.z", "type": "reaction", "reaction": {"emoji": "👍"}})
    assert parse_whatsapp(nameless).events == [] and len(parse_whatsapp(nameless).unparsed) == 1


def test_order_text_with_odd_values_keeps_every_item() -> None:
    from channels.whatsapp_order import order_data, order_text

    order = order_data(
        {
            "product_items": [
                {"product_retailer_id": "A", "quantity": "two"},
                {"quantity": 1, "item_price": 5},
                "x",
            ]
        }
    )
    assert [i["quantity"] for i in order["items"]] == ["two", 1]
    assert order_text(order) == "Order: two × A, 1 × an unnamed product at 5.00"
    assert order_text(order_data({})) == "Order: no items"
