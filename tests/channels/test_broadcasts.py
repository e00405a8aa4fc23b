"""Sending broadcasts through a fake Graph API: each contact once, templates outside the 24-hour window and
free-form text inside it, opt-outs (also by answering STOP), statuses, replies within 3 days, metrics and
the CSV export, rate-limit back-off and failure reasons, pause/resume/cancel, scheduling, a crash between
sending and recording, and the agent enrolling a customer in a campaign."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from sqlalchemy import select, update

from channels.models import Channel
from core.models import Job
from crm.broadcasts.models import Recipient
from crm.models import Contact
from tests.agent.fakes import ScriptedChatModel
from tests.channels import test_telegram as telegram
from tests.channels import test_wechat as wechat
from tests.channels.fake_graph import FakeGraph
from tests.channels.test_whatsapp import delivery, post, setup_channel, text_message
from tests.conftest import auth, ingested, new_tenant, services, settle
from tests.crm.test_broadcasts import contact, static_list

TEMPLATE = {"name": "autumn_teas", "language": "zh_HK", "variables": ["{{first_name|朋友}}"]}


@pytest.fixture
def client(wa_app: Callable[..., Any]) -> Iterator[TestClient]:
    with TestClient(wa_app()) as test_client:
        yield test_client


def send(
    client: TestClient, key: str, channel: str, audience: dict[str, Any], content: dict[str, Any]
) -> str:
    created = client.post(
        "/v1/broadcasts",
        json={
            "name": f"b{time.monotonic_ns()}",
            "channel_id": channel,
            "audience": audience,
            "content": content,
        },
        headers=auth(key),
    )
    assert created.status_code == 201, created.text
    published = client.post(f"/v1/broadcasts/{created.json()['id']}/publish", headers=auth(key))
    assert published.status_code == 200, published.text
    return str(created.json()["id"])


def wait_status(
    client: TestClient, key: str, broadcast: str, wanted: str, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/broadcasts/{broadcast}", headers=auth(key)).json()
        if body["status"] == wanted:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"broadcast still {body['status']}, not {wanted}")


def metrics(client: TestClient, key: str, broadcast: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/broadcasts/{broadcast}/metrics", headers=auth(key)).json())


def broadcasts_sent(graph: FakeGraph) -> list[dict[str, Any]]:
    """What the fake Graph API received, without the agent's replies to customers."""
    return [m for m in graph.sent if m["type"] == "template" or "autumn" in str(m.get("text", ""))]


def test_each_contact_once_with_the_window_rule(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client, "Harbour Tea House")
    channel = setup_channel(client, key)["id"]
    # Ada wrote an hour ago on WhatsApp: her window is open, she gets the free-form text.
    post(
        client,
        channel,
        delivery([text_message("wamid.in1", "hello", sender="85290000001", at=int(time.time()) - 3600)]),
    )
    ingested(client)
    ada = client.get("/v1/contacts?q=85290000001", headers=auth(key)).json()["items"][0]["id"]
    kerry = contact(client, key, first_name="Kerry", phone="+852 9123 4567")
    anon = contact(client, key, phone="85291110000")
    gone = contact(client, key, first_name="Opted", phone="85291112222", opted_out=True)
    mail = contact(client, key, first_name="Mail", email="mail@example.com")
    tea = static_list(client, key, "Tea lovers", [ada, kerry, anon, gone])
    vip = static_list(client, key, "VIP", [kerry, mail])
    graph.sent.clear()

    content = {"text": "Hi {{first_name|there}}, our autumn teas are in!", "template": TEMPLATE}
    broadcast = send(client, key, channel, {"lists": [tea, vip]}, content)
    wait_status(client, key, broadcast, "sent")

    sent = broadcasts_sent(graph)
    assert sorted(m["to"] for m in sent) == ["85290000001", "85291110000", "85291234567"]  # once each
    by_to = {m["to"]: m for m in sent}
    assert by_to["85290000001"]["type"] == "text"
    assert by_to["85290000001"]["text"]["body"] == "Hi there, our autumn teas are in!"
    kerry_template = by_to["85291234567"]["template"]
    assert kerry_template["name"] == "autumn_teas" and kerry_template["language"] == {"code": "zh_HK"}
    assert kerry_template["components"][0]["parameters"] == [{"type": "text", "text": "Kerry"}]
    assert by_to["85291110000"]["template"]["components"][0]["parameters"][0]["text"] == "朋友"

    figures = metrics(client, key, broadcast)
    assert figures["recipients"] == 4 and figures["sent"] == 3 and figures["skipped"] == 1
    assert figures["reasons"] == [
        {
            "status": "skipped",
            "reason": "the contact cannot be reached on whatsapp (no whatsapp id or phone)",
            "count": 1,
        }
    ]
    rows = client.get(f"/v1/broadcasts/{broadcast}/recipients?status=sent", headers=auth(key)).json()
    assert rows["total"] == 3 and {r["route"] for r in rows["items"]} == {"text", "template"}


def test_outside_the_window_without_a_template_nothing_is_sent(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    kerry = contact(client, key, first_name="Kerry", phone="85291234567")
    broadcast = send(
        client, key, channel, {"lists": [static_list(client, key, "L", [kerry])]}, {"text": "autumn"}
    )
    wait_status(client, key, broadcast, "sent")
    assert broadcasts_sent(graph) == []
    reasons = metrics(client, key, broadcast)["reasons"]
    assert (
        reasons[0]["status"] == "skipped" and "only an approved template may be sent" in reasons[0]["reason"]
    )


def test_statuses_replies_metrics_and_csv(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    people = {
        "85291000001": contact(client, key, first_name="陳大文", phone="85291000001"),
        "85291000002": contact(client, key, first_name="Bo", phone="85291000002"),
        "85291000003": contact(client, key, first_name="Cy", phone="85291000003"),
    }
    broadcast = send(
        client,
        key,
        channel,
        {"lists": [static_list(client, key, "All", list(people.values()))]},
        {"template": TEMPLATE},
    )
    wait_status(client, key, broadcast, "sent")
    wamid = {m["to"]: f"wamid.out{i}" for i, m in enumerate(graph.sent, start=1)}
    now = int(time.time())
    statuses: list[dict[str, Any]] = [
        # 1: delivered then read, replies now (within 3 days): a reply.
        {
            "id": wamid["85291000001"],
            "status": "delivered",
            "timestamp": str(now - 60),
            "recipient_id": "85291000001",
        },
        {
            "id": wamid["85291000001"],
            "status": "read",
            "timestamp": str(now - 30),
            "recipient_id": "85291000001",
        },
        # 2: delivered four days ago, replies now: too late to count.
        {
            "id": wamid["85291000002"],
            "status": "delivered",
            "timestamp": str(now - 4 * 86400),
            "recipient_id": "85291000002",
        },
        # 3: failed on Meta's side.
        {
            "id": wamid["85291000003"],
            "status": "failed",
            "timestamp": str(now),
            "recipient_id": "85291000003",
            "errors": [{"code": 131026, "title": "Message undeliverable"}],
        },
    ]
    post(client, channel, delivery(statuses=statuses))
    ingested(client)
    post(client, channel, delivery([text_message("wamid.r1", "我想要", sender="85291000001", at=now)]))
    post(client, channel, delivery([text_message("wamid.r2", "ok", sender="85291000002", at=now)]))
    ingested(client)
    graph.wait_for(5)  # the replies open normal conversations: the agent answers both
    assert {m["to"] for m in graph.sent[3:5]} == {"85291000001", "85291000002"}

    # The replies belong to the contacts the broadcast went to (known by phone, now also by WhatsApp id).
    found = client.get("/v1/contacts?q=85291000001", headers=auth(key)).json()
    assert found["total"] == 1 and found["items"][0]["id"] == people["85291000001"]
    assert found["items"][0]["last_contacted_at"] is not None

    figures = metrics(client, key, broadcast)
    assert figures["sent"] == 2 and figures["delivered"] == 2 and figures["read"] == 1
    assert figures["replied"] == 1 and figures["failed"] == 1
    assert figures["rates"] == {"delivered": 1.0, "read": 0.5, "replied": 0.5, "failed": 0.3333}
    assert (
        figures["reasons"][0]["status"] == "failed"
        and "undeliverable" in figures["reasons"][0]["reason"].lower()
    )

    exported = client.get(f"/v1/broadcasts/{broadcast}/export.csv", headers=auth(key))
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = {r["phone"]: r for r in csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff")))}
    assert rows["85291000001"]["name"] == "陳大文" and rows["85291000001"]["status"] == "read"
    assert rows["85291000001"]["replied_at"] and not rows["85291000002"]["replied_at"]
    assert rows["85291000003"]["status"] == "failed"
    assert client.get("/v1/broadcasts/nope/export.csv", headers=auth(key)).status_code == 404


def test_stop_opts_the_customer_out_and_start_back_in(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    post(client, channel, delivery([text_message("wamid.s1", "取消訂閱", sender="85291234567")]))
    ingested(client)
    found = client.get("/v1/contacts?q=85291234567", headers=auth(key)).json()["items"][0]
    assert found["opted_out"] is True
    audit = client.get(f"/v1/audit?entity=contact&entity_id={found['id']}", headers=auth(key)).json()
    assert any(e["actor"] == "customer" and e["after"] == {"opted_out": True} for e in audit), audit
    broadcast = send(
        client, key, channel, {"conditions": [{"field": "phone", "op": "not_empty"}]}, {"template": TEMPLATE}
    )
    counts = client.get(f"/v1/broadcasts/{broadcast}/audience", headers=auth(key)).json()
    assert counts["opted_out"] == 1 and counts["recipients"] == 0
    # The audience is read when the broadcast sends: let it finish before the customer opts back in,
    # or START could land first and the template would rightly reach them.
    wait_status(client, key, broadcast, "sent")
    # The keyword got its confirmation in the customer's language, not an agent turn.
    assert graph.wait_for(1)[0]["text"]["body"].startswith("你將不會再收到我們的推廣訊息")

    post(client, channel, delivery([text_message("wamid.s2", "START", sender="85291234567")]))
    assert graph.wait_for(2)[1]["text"]["body"].startswith("You are subscribed to our broadcasts again")
    assert client.get(f"/v1/contacts/{found['id']}", headers=auth(key)).json()["opted_out"] is False


def test_rate_limits_back_off_and_failures_keep_their_reason(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    ids = [contact(client, key, phone=f"8529200000{i}") for i in range(4)]
    graph.errors = [130429, 131026]  # the first send is throttled (retried), the second is undeliverable
    broadcast = send(
        client, key, channel, {"lists": [static_list(client, key, "L", ids)]}, {"template": TEMPLATE}
    )
    wait_status(client, key, broadcast, "sent", timeout=60)
    figures = metrics(client, key, broadcast)
    assert figures["sent"] == 3 and figures["failed"] == 1
    assert "undeliverable" in figures["reasons"][0]["reason"] and "131026" in figures["reasons"][0]["reason"]
    assert len(graph.sent) == 3 and len({m["to"] for m in graph.sent}) == 3


def test_pause_resume_and_cancel(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    with TestClient(wa_app()) as client:
        key = new_tenant(client)
        channel = setup_channel(client, key, messages_per_second=8)["id"]  # slow enough to pause midway
        ids = [contact(client, key, phone=f"852930000{i:02d}") for i in range(24)]
        audience = {"lists": [static_list(client, key, "L", ids)]}
        broadcast = send(client, key, channel, audience, {"template": TEMPLATE})
        graph.wait_for(4)
        assert (
            client.post(f"/v1/broadcasts/{broadcast}/pause", headers=auth(key)).json()["status"] == "paused"
        )
        settle(client)  # the batch on the wire is recorded, and no run is left to send more
        assert len(graph.sent) < 24
        assert (
            client.post(f"/v1/broadcasts/{broadcast}/resume", headers=auth(key)).json()["status"] == "sending"
        )
        wait_status(client, key, broadcast, "sent")
        assert sorted(m["to"] for m in graph.sent) == sorted(f"852930000{i:02d}" for i in range(24))

        graph.sent.clear()
        second = send(client, key, channel, audience, {"template": TEMPLATE})
        graph.wait_for(4)
        assert (
            client.post(f"/v1/broadcasts/{second}/cancel", headers=auth(key)).json()["status"] == "cancelled"
        )
        settle(client)
        figures = metrics(client, key, second)
        assert figures["by_status"]["cancelled"] > 0 and figures["waiting"] == 0
        assert figures["sent"] == len(graph.sent) < 24


def test_scheduled_in_the_future(client: TestClient, graph: FakeGraph) -> None:
    key = new_tenant(client)
    channel = setup_channel(client, key)["id"]
    kerry = contact(client, key, phone="85291234567")
    audience = {"lists": [static_list(client, key, "L", [kerry])]}
    # Far enough ahead that a loaded CI machine still creates it before send_at passes (a time
    # truncated to the second, taken before the list was made, once left it 1.5 s and failed there).
    at = time.time() + 3
    response = client.post(
        "/v1/broadcasts",
        json={
            "name": "Later",
            "channel_id": channel,
            "audience": audience,
            "content": {"template": TEMPLATE},
            "send_at": datetime.fromtimestamp(at, UTC).isoformat(),
        },
        headers=auth(key),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (
        client.post(f"/v1/broadcasts/{created['id']}/publish", headers=auth(key)).json()["status"]
        == "scheduled"
    )
    time.sleep(1.0)
    assert graph.sent == []
    wait_status(client, key, created["id"], "sent", timeout=10)
    assert time.time() >= at - 1 and len(graph.sent) == 1


def test_a_crash_between_sending_and_recording_sends_nobody_twice(
    wa_app: Callable[..., Any], graph: FakeGraph
) -> None:
    with TestClient(wa_app(worker=False)) as client:  # the job is driven by hand
        key = new_tenant(client)
        channel = setup_channel(client, key)["id"]
        ids = [contact(client, key, phone=f"852940000{i:02d}") for i in range(30)]
        broadcast = send(
            client, key, channel, {"lists": [static_list(client, key, "L", ids)]}, {"template": TEMPLATE}
        )
        sender_settle = services(client).broadcast_sender._settle
        calls = {"n": 0}

        def dies_on_the_second_batch(*args: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("killed")  # the batch went out; its outcome was never recorded
            sender_settle(*args)

        services(client).broadcast_sender._settle = dies_on_the_second_batch
        jobs = services(client).core.jobs
        jobs.run_one()  # dies after sending the second batch
        before = len(graph.sent)
        assert 0 < before < 30
        with services(client).core.db.session() as session:  # as if its lease had run out
            session.execute(update(Job).values(locked_until=None))
        services(client).broadcast_sender._settle = sender_settle
        while jobs.run_one():
            pass
        wait_status(client, key, broadcast, "sent")
        sent_to = [m["to"] for m in graph.sent]
        assert len(sent_to) == len(set(sent_to))  # nobody twice
        figures = metrics(client, key, broadcast)
        # Uncertain: the batch whose outcome was lost (10 a batch at 80/s), and those of the next batch that
        # had already left; the rest of that batch went back to the queue and was sent after the restart.
        uncertain = figures["by_status"]["uncertain"]
        assert 10 <= uncertain <= 20 and figures["sent"] + uncertain == 30
        assert figures["sent"] <= len(sent_to) <= 30
        with services(client).core.db.session() as session:
            uncertain = session.query(Recipient).filter(Recipient.status == "uncertain").all()
        assert all("not sent again" in (r.error or "") for r in uncertain)

        # Meta's status webhooks echo each message's tag: the uncertain rows that did reach it are found.
        statuses = [
            {
                "id": f"wamid.out{n}",
                "status": "delivered",
                "timestamp": str(int(time.time())),
                "recipient_id": m["to"],
                "biz_opaque_callback_data": m["biz_opaque_callback_data"],
            }
            for n, m in enumerate(graph.sent, start=1)
        ]
        post(client, channel, delivery(statuses=statuses))
        while jobs.run_one():  # the ingest job (no worker here)
            pass
        figures = metrics(client, key, broadcast)
        assert figures["delivered"] == len(sent_to)
        assert figures["by_status"]["uncertain"] == 30 - len(sent_to)


def test_the_agent_enrols_the_customer_in_a_campaign(wa_app: Callable[..., Any], graph: FakeGraph) -> None:
    def call(args: dict[str, Any], call_id: str) -> AIMessage:
        return AIMessage(content="", tool_calls=[{"name": "schedule_follow_up", "args": args, "id": call_id}])

    model = ScriptedChatModel(
        responses=[
            call({"campaign": "Back in stock"}, "c1"),
            call({"campaign": "Restock alert"}, "c2"),
            AIMessage(content="I'll message you when it is back."),
        ]
    )
    model.seen = []
    with TestClient(wa_app(chat_model=model)) as client:
        key = new_tenant(client)
        channel = setup_channel(client, key)["id"]
        closed = {"name": "Back in stock", "channel_id": channel, "content": {"template": TEMPLATE}}
        assert client.post("/v1/broadcasts", json=closed, headers=auth(key)).status_code == 201
        campaign = {
            "name": "Restock alert",
            "channel_id": channel,
            "content": {"template": TEMPLATE},
            "agent_enrol": True,
        }
        # an earlier campaign of the same name, cancelled: the agent's enrolment must find the running one
        later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        earlier = client.post("/v1/broadcasts", json={**campaign, "send_at": later}, headers=auth(key)).json()
        assert client.post(f"/v1/broadcasts/{earlier['id']}/publish", headers=auth(key)).status_code == 200
        assert client.post(f"/v1/broadcasts/{earlier['id']}/cancel", headers=auth(key)).status_code == 200
        created = client.post("/v1/broadcasts", json=campaign, headers=auth(key)).json()
        client.post(f"/v1/broadcasts/{created['id']}/publish", headers=auth(key))
        # two running campaigns open to the agent may not share a name: it could not tell them apart
        namesake = client.post("/v1/broadcasts", json=campaign, headers=auth(key)).json()
        refused = client.post(f"/v1/broadcasts/{namesake['id']}/publish", headers=auth(key))
        assert refused.status_code == 409 and "Restock alert" in refused.json()["error"]["message"]
        assert client.get(f"/v1/broadcasts/{namesake['id']}", headers=auth(key)).json()["status"] == "draft"
        response = client.post(
            "/v1/agent/chat",
            json={"message": "Tell me when the oolong is back", "contact": {"phone": "+852 9555 0000"}},
            headers=auth(key),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        first, second = (a["result"] for a in body["actions"])
        assert (
            first.startswith("error: no active campaign named 'Back in stock'") and "Restock alert" in first
        )
        assert second.startswith("enrolled in 'Restock alert'")
        sent = graph.wait_for(1)
        assert sent[0]["to"] == "85295550000" and sent[0]["template"]["name"] == "autumn_teas"
        deadline = time.monotonic() + 10  # recorded just after the send returns
        while metrics(client, key, created["id"])["sent"] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metrics(client, key, created["id"])["sent"] == 1


def test_wechat_allows_four_broadcasts_per_follower_a_month(
    app_factory: Callable[..., Any], graph: FakeGraph
) -> None:
    with TestClient(app_factory(wechat_api_base=graph.base)) as client:
        channel = wechat.setup(client)
        with services(client).core.db.session() as session:  # the channel's tenant: a key for it
            tenant = session.get(Channel, channel).tenant_id
        key = services(client).core.keys.create(tenant, "admin", "broadcasts")[1]
        response = client.post(
            f"/webhooks/wechat/{channel}", params=wechat.signed(), content=wechat.xml("9001", "hello")
        )
        assert response.status_code == 200
        ingested(client)
        with services(client).core.db.session() as session:
            follower = session.scalar(
                select(Contact.id).where(Contact.external_id == f"wechat:{wechat.OPENID}")
            )
        audience = {"lists": [static_list(client, key, "Followers", [follower])]}
        ids = [send(client, key, channel, audience, {"text": f"autumn tea no. {n}"}) for n in range(1, 6)]
        for broadcast in ids:
            wait_status(client, key, broadcast, "sent")
        # They were sending at the same time: any four went out, the fifth was held back with the reason.
        received = [m["text"]["content"] for m in graph.sent if "autumn" in str(m.get("text"))]
        assert len(received) == len(set(received)) == 4
        reasons = [r for b in ids for r in metrics(client, key, b)["reasons"]]
        assert reasons == [
            {"status": "skipped", "reason": "wechat allows 4 broadcasts per follower per month", "count": 1}
        ]


def test_media_on_whatsapp_and_a_link_elsewhere(app_factory: Callable[..., Any], graph: FakeGraph) -> None:
    media = {"kind": "image", "link": "https://tea.example/autumn.jpg"}
    content = {"text": "Hi {{first_name|there}}, autumn teas are in", "media": media}
    with TestClient(app_factory(whatsapp_api_base=graph.url, telegram_api_base=graph.base)) as client:
        # WhatsApp, inside the window: the image with the text as its caption.
        key = new_tenant(client)
        channel = setup_channel(client, key)["id"]
        post(client, channel, delivery([text_message("wamid.m1", "hello", sender="85290000009")]))
        ingested(client)
        graph.wait_for(1)  # the agent's answer
        ada = client.get("/v1/contacts?q=85290000009", headers=auth(key)).json()["items"][0]["id"]
        graph.sent.clear()
        wait_status(
            client,
            key,
            send(client, key, channel, {"lists": [static_list(client, key, "W", [ada])]}, content),
            "sent",
        )
        assert graph.sent[0]["type"] == "image"
        assert graph.sent[0]["image"] == {"link": media["link"], "caption": "Hi there, autumn teas are in"}

        # Telegram (paced by the broadcast's own limiter): the link goes with the text.
        tg_key, tg_channel = telegram.setup(client)
        telegram.post(client, tg_channel, telegram.update(7001, "hi", chat=4242))
        ingested(client)
        graph.wait_for(2)
        with services(client).core.db.session() as session:
            follower = session.scalar(select(Contact.id).where(Contact.external_id == "telegram:4242"))
        graph.sent.clear()
        audience = {"lists": [static_list(client, tg_key, "T", [follower])]}
        wait_status(client, tg_key, send(client, tg_key, tg_channel, audience, content), "sent")
        assert graph.sent[0]["chat_id"] in (4242, "4242")
        assert graph.sent[0]["text"] == "Hi there, autumn teas are in\n\nhttps://tea.example/autumn.jpg"


def test_the_agent_reads_a_reply_with_the_broadcast_before_it(
    wa_app: Callable[..., Any], graph: FakeGraph
) -> None:
    model = ScriptedChatModel(responses=[AIMessage(content="Hello!"), AIMessage(content="Reserved for you!")])
    model.seen = []
    with TestClient(wa_app(chat_model=model)) as client:
        key = new_tenant(client)
        channel = setup_channel(client, key)["id"]
        post(client, channel, delivery([text_message("wamid.c1", "hello", sender="85290000007")]))
        graph.wait_for(1)
        kerry = client.get("/v1/contacts?q=85290000007", headers=auth(key)).json()["items"][0]["id"]
        text = "Hi {{first_name|there}}, the autumn oolong is back: reply YES to reserve one"
        audience = {"lists": [static_list(client, key, "L", [kerry])]}
        wait_status(client, key, send(client, key, channel, audience, {"text": text}), "sent")
        post(client, channel, delivery([text_message("wamid.c2", "YES", sender="85290000007")]))
        assert graph.wait_for(3)[-1]["text"]["body"].startswith("Reserved for you!")
        prompt = model.seen[-1]
        assert prompt[-1].content == "YES"
        assert (
            prompt[-2].type == "ai"
            and prompt[-2].content == "Hi there, the autumn oolong is back: reply YES to reserve one"
        )
