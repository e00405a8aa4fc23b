"""WeChat Official Account: query-string signatures, echostr, XML messages, async replies, the 48-hour window."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.wechat import parse_xml
from core.errors import InvalidInput
from tests.channels.fake_graph import FakeGraph
from tests.conftest import auth, new_tenant, services, settle, upload, wait_for

TOKEN = "parleytoken"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture
def client(app_factory: Callable[..., Any], fake: FakeGraph) -> Iterator[TestClient]:
    with TestClient(app_factory(wechat_api_base=fake.base)) as test_client:
        yield test_client


def signed(token: str = TOKEN, **extra: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "1514711492"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def xml(msg_id: str, text: str, created: int | None = None) -> bytes:
    return f"""<xml><ToUserName><![CDATA[gh_9f2b2f3c8a1e]]></ToUserName>
<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{created or int(time.time())}</CreateTime>
<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>""".encode()


def setup(client: TestClient) -> str:
    key = new_tenant(client, "Harbour Tea House")
    wait_for(
        client,
        key,
        upload(client, key, "menu.md", "# 餐牌\n\n問：奶茶幾錢？\n答：招牌奶茶港幣28元。".encode())["id"],
    )
    response = client.post(
        "/v1/channels",
        headers=auth(key),
        json={
            "kind": "wechat",
            "name": "WeChat",
            "app_id": "wx1234567890abcdef",
            "app_secret": "wechat-app-secret-0123",
            "token": TOKEN,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_xml_kinds() -> None:
    image = b"""<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1764000000</CreateTime>
<MsgType>image</MsgType><PicUrl>http://x</PicUrl><MediaId>media123</MediaId><MsgId>2</MsgId></xml>"""
    follow = b"""<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1764000000</CreateTime>
<MsgType>event</MsgType><Event>subscribe</Event></xml>"""
    assert parse_xml(image).inbound[0].data["media_id"] == "media123"
    (followed,) = parse_xml(follow).events  # an event, never a message to answer
    assert followed.kind == "follow" and followed.data["event"] == "subscribe"
    assert parse_xml(follow).inbound == []
    with pytest.raises(InvalidInput):
        parse_xml(b"<xml><broken>")


def test_handshake_and_signatures(client: TestClient) -> None:
    channel = setup(client)
    ok = client.get(f"/webhooks/wechat/{channel}", params=signed(echostr="5837397749813"))
    assert ok.status_code == 200 and ok.text == "5837397749813"
    assert (
        client.get(f"/webhooks/wechat/{channel}", params=signed(token="wrong", echostr="1")).status_code
        == 403
    )
    forged = client.post(f"/webhooks/wechat/{channel}", params=signed(token="wrong"), content=xml("1", "hi"))
    assert forged.status_code == 401


def test_async_reply_once_with_token_refresh(client: TestClient, fake: FakeGraph) -> None:
    channel = setup(client)
    fake.errors = [40001]  # the cached access token expired: fetch a new one and resend
    for _ in range(3):  # WeChat retries a delivery three times when we are slow
        response = client.post(
            f"/webhooks/wechat/{channel}", params=signed(), content=xml("6054768590064713728", "奶茶幾錢？")
        )
        assert response.status_code == 200 and response.text == "success"
    sent = fake.wait_for(1)
    settle(client)
    assert len(sent) == 1 and sent[0]["touser"] == OPENID and "28" in sent[0]["text"]["content"]
    assert sent[0]["access_token"] == "wx-token-2"


def test_no_reply_after_48_hours(client: TestClient, fake: FakeGraph) -> None:
    channel = setup(client)
    old = int(time.time()) - 49 * 3600
    client.post(
        f"/webhooks/wechat/{channel}", params=signed(), content=xml("6054768590064713729", "奶茶幾錢？", old)
    )
    deadline = time.monotonic() + 20
    delivery = None
    while time.monotonic() < deadline:
        inbox = services(client).inbox_store
        tenant = services(client).channels.get(channel).tenant_id
        conversation = inbox.latest(tenant, f"wechat:{OPENID}", "wechat")
        replies = (
            [m for m in inbox.messages(tenant, conversation.id) if m.role == "agent"] if conversation else []
        )
        if replies and replies[0].meta.get("delivery") != "pending":
            delivery = replies[0].meta
            break
        time.sleep(0.05)
    assert (
        delivery is not None
        and delivery["delivery"] == "skipped"
        and "48 hours" in delivery["delivery_error"]
    )
    assert fake.sent == []
