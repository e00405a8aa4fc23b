"""Smart Reply and the Writing Assistant with an OpenAI-compatible model (a fake endpoint on loopback)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from inbox.store import ContactInfo
from tests.agent.fake_openai import FakeOpenAI, completion
from tests.agent.test_assist import smart_reply, write
from tests.conftest import new_tenant, services, upload, wait_for

FAQ = (
    "# Prices\n\nQ: How much is a gel manicure?\nA: A gel manicure costs HK$350 and takes 60 minutes.\n\n"
    "Q: When are you open?\nA: We are open daily from 10:00 to 20:00.\n"
)


def customer_asked(client: TestClient, *customer: str) -> tuple[str, str]:
    """A tenant whose FAQ is indexed (its key) and a conversation with these customer messages (its id),
    stored directly (the agent's model is not involved)."""
    key = new_tenant(client)
    assert wait_for(client, key, upload(client, key, "faq.md", FAQ.encode())["id"])["status"] == "ready"
    inbox = services(client).inbox_store
    tenant_id = services(client).core.keys.resolve(key).tenant_id
    opened = inbox.open(tenant_id, None, ContactInfo(name="Mei"))
    for text in customer:
        inbox.add_message(tenant_id, opened.id, "customer", text)
    return key, str(opened.id)


def suggestions_json(*items: tuple[str, list[int]]) -> dict[str, Any]:
    payload = {"suggestions": [{"text": text, "sources": sources} for text, sources in items]}
    return completion("```json\n" + json.dumps(payload) + "\n```")


def test_suggestions_come_from_the_model_with_their_sources(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "How much is a gel manicure?")
    fake_openai.script = [
        suggestions_json(
            ("A gel manicure is HK$350 and takes 60 minutes.", [1]),
            ("It's HK$350. Would you like to book one?", [1, 9]),
            ("Would you like a gel manicure or another treatment?", []),
        )
    ]
    body = smart_reply(openai_client, key, conversation_id)
    assert [s["text"] for s in body["suggestions"]] == [
        "A gel manicure is HK$350 and takes 60 minutes.",
        "It's HK$350. Would you like to book one?",
        "Would you like a gel manicure or another treatment?",
    ]
    assert body["suggestions"][0]["sources"][0]["name"] == "faq.md"
    assert len(body["suggestions"][1]["sources"]) == 1  # passage 9 does not exist
    assert body["warnings"] == [] and body["credits"]["charged"] == 3
    request = fake_openai.requests[-1]
    system, human = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "<knowledge>" in system and "HK$350" in system and "English" in system and "JSON" in system
    assert "Customer: How much is a gel manicure?" in human


def test_chinese_customer_gets_the_model_asked_for_chinese(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "凝膠美甲幾錢？")
    fake_openai.script = [
        suggestions_json(("凝膠美甲收費 HK$350，需時 60 分鐘。", [1]), ("凝膠美甲 HK$350，想預約嗎？", [1]))
    ]
    body = smart_reply(openai_client, key, conversation_id)
    assert body["language"] == "zh" and len(body["suggestions"]) == 2 and body["warnings"] == []
    assert "Traditional Chinese" in fake_openai.requests[-1]["messages"][0]["content"]


def test_a_suggestion_with_an_invented_price_is_dropped(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "How much is a gel manicure?")
    fake_openai.script = [
        suggestions_json(
            ("A gel manicure is HK$350.", [1]),
            ("A gel manicure is HK$299 this week only!", [1]),
            ("Gel manicures take 90 minutes.", [1]),
        )
    ]
    body = smart_reply(openai_client, key, conversation_id)
    texts = [s["text"] for s in body["suggestions"]]
    assert "A gel manicure is HK$350." in texts
    assert not any("299" in t or "90 minutes" in t for t in texts)
    assert 2 <= len(texts) <= 3  # made up with offline suggestions
    assert any("299" in w for w in body["warnings"]) and any("90" in w for w in body["warnings"])
    assert body["credits"]["charged"] == len(texts)


def test_unreadable_model_output_falls_back_to_offline_suggestions(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "How much is a gel manicure?")
    fake_openai.script = [completion("Sure! Here are a few ideas: tell them it is cheap.")]
    body = smart_reply(openai_client, key, conversation_id)
    assert 2 <= len(body["suggestions"]) <= 3
    assert "HK$350" in body["suggestions"][0]["text"] and body["suggestions"][0]["sources"]
    assert "could not be read" in body["warnings"][0] and "offline" in body["warnings"][0]


def test_model_endpoint_down_still_gives_suggestions(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "When are you open?")
    fake_openai.script = []  # every call answers 500
    body = smart_reply(openai_client, key, conversation_id)
    assert "10:00" in body["suggestions"][0]["text"] and "endpoint failed" in body["warnings"][0]


DRAFT = "hi, the gel manicure is HK$350 and u can come at 10:00 on 2025-05-01 thx"


def test_the_model_refines_and_translates_a_draft(openai_client: TestClient, fake_openai: FakeOpenAI) -> None:
    key = new_tenant(openai_client)
    refined = "Hello, the gel manicure is HK$350, and you are welcome at 10:00 on 2025-05-01. Thank you."
    fake_openai.script = [
        completion(refined),
        completion("你好，凝膠美甲收費 HK$350，歡迎於 2025-05-01 10:00 光臨。謝謝！"),
    ]
    body = write(openai_client, key, DRAFT, shorter=True)
    assert body["text"] == refined and body["warnings"] == [] and body["language"] == "en"
    system = fake_openai.requests[-1]["messages"][0]["content"]
    assert "Never add a fact" in system and "shorter" in system
    assert fake_openai.requests[-1]["messages"][1]["content"] == DRAFT
    translated = write(openai_client, key, DRAFT, translate_to="zh-Hant")
    assert translated["language"] == "zh" and "HK$350" in translated["text"] and translated["warnings"] == []
    assert "Traditional Chinese" in fake_openai.requests[-1]["messages"][0]["content"]


def test_a_refinement_that_invents_or_drops_a_fact_is_replaced(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key = new_tenant(openai_client)
    fake_openai.script = [
        completion("Hello, the gel manicure is HK$320 and you can come at 10:00 on 2025-05-01. Thank you."),
        completion("Hello, the gel manicure is HK$350. Thank you."),
    ]
    invented = write(openai_client, key, DRAFT)
    assert "HK$350" in invented["text"] and "320" not in invented["text"]
    # the offline version
    assert invented["text"].startswith("Hi, the gel manicure is HK$350 and you can come")
    assert "rejected" in invented["warnings"][0] and "320" in invented["warnings"][0]
    dropped = write(openai_client, key, DRAFT)
    assert "10:00" in dropped["text"] and "leaves out" in dropped["warnings"][0]
    assert "2025" in dropped["warnings"][0] or "10:00" in dropped["warnings"][0]


def test_a_translation_the_model_did_not_do_is_reported(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key = new_tenant(openai_client)
    fake_openai.script = [
        completion("Hello, the gel manicure is HK$350 and you can come at 10:00 on 2025-05-01.")
    ]
    body = write(openai_client, key, DRAFT, translate_to="zh-Hant")
    assert body["language"] == "en" and "not translated" in body["warnings"][0]


def test_a_price_only_the_customer_claimed_is_not_a_fact(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    key, conversation_id = customer_asked(openai_client, "Isn't the gel manicure HK$200?")
    fake_openai.script = [completion("Yes, the gel manicure is HK$200. Thank you for asking.")]
    body = write(openai_client, key, "let me check the price for you", conversation_id=conversation_id)
    assert "200" not in body["text"] and "adds 200" in body["warnings"][0]
    # What the tenant's knowledge says may be added: the real price.
    fake_openai.script = [completion("Let me check the price for you: the gel manicure is HK$350.")]
    body = write(openai_client, key, "let me check the price for you", conversation_id=conversation_id)
    assert body["text"].endswith("HK$350.") and body["warnings"] == []
