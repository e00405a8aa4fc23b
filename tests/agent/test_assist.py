"""Smart Reply and the Writing Assistant through the HTTP API, with the offline model."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.assist.facts import facts
from agent.assist.local import normalised
from core.language import customer_language
from inbox.store import ContactInfo
from tests.agent.test_chat import chat
from tests.conftest import auth, load_demo, new_tenant, services


@pytest.fixture
def demo(client: TestClient) -> str:
    """A demo tenant of the test's own, for tests that change it (its settings, its credits used)."""
    return load_demo(client)


def smart_reply(client: TestClient, key: str, conversation_id: str) -> dict[str, Any]:
    response = client.post(
        "/v1/assist/smart-reply", json={"conversation_id": conversation_id}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def write(client: TestClient, key: str, draft: str, **options: Any) -> dict[str, Any]:
    response = client.post("/v1/assist/write", json={"draft": draft, **options}, headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_distinct(suggestions: list[dict[str, Any]]) -> None:
    assert 2 <= len(suggestions) <= 3
    assert len({normalised(s["text"]) for s in suggestions}) == len(suggestions)


def test_english_question_gets_distinct_grounded_suggestions(shared_demo: tuple[TestClient, str]) -> None:
    client, demo = shared_demo
    conversation = chat(client, demo, "How much is a gel manicure?")["conversation_id"]
    body = smart_reply(client, demo, conversation)
    suggestions = body["suggestions"]
    assert_distinct(suggestions)
    assert body["language"] == "en" and body["warnings"] == []
    grounded = [s for s in suggestions if s["sources"]]
    assert len(grounded) >= 2
    for suggestion in grounded:
        assert "350" in suggestion["text"]
        assert suggestion["sources"][0]["name"] == "lotus-glow-price-list.xlsx"
        assert "Gel Manicure" in suggestion["sources"][0]["text"]
    assert all(customer_language(s["text"]) == "en" for s in suggestions)
    assert body["credits"]["charged"] == len(suggestions)


def test_chinese_question_gets_chinese_suggestions(shared_demo: tuple[TestClient, str]) -> None:
    client, demo = shared_demo
    conversation = chat(client, demo, "有冇學生優惠？")["conversation_id"]
    body = smart_reply(client, demo, conversation)
    assert_distinct(body["suggestions"])
    assert body["language"] == "zh"
    assert all(customer_language(s["text"]) == "zh" for s in body["suggestions"])
    grounded = [s for s in body["suggestions"] if s["sources"]]
    assert len(grounded) >= 2
    assert all("八五折" in s["text"] and s["sources"][0]["name"] == "lotus-glow-faq.md" for s in grounded)


def test_chinese_question_about_english_knowledge(shared_demo: tuple[TestClient, str]) -> None:
    client, demo = shared_demo
    conversation = chat(client, demo, "取消預約要提前幾耐通知？")["conversation_id"]
    body = smart_reply(client, demo, conversation)
    assert_distinct(body["suggestions"])
    assert body["language"] == "zh"
    first = body["suggestions"][0]
    # The offline model cannot translate: the English policy comes framed in the customer's language.
    assert "24 hours" in first["text"] and first["text"].startswith("好的！根據我們的資料（英文）")
    assert first["sources"][0]["name"] == "lotus-glow-policies.pdf"


def test_a_short_follow_up_is_read_with_the_message_before_it(shared_demo: tuple[TestClient, str]) -> None:
    client, demo = shared_demo
    conversation = chat(client, demo, "Do you do gel manicures?")["conversation_id"]
    chat(client, demo, "how much is it?", conversation)
    suggestions = smart_reply(client, demo, conversation)["suggestions"]
    assert "350" in suggestions[0]["text"]
    assert "Gel Manicure" in suggestions[0]["sources"][0]["text"]


def test_without_knowledge_the_suggestions_offer_to_check_and_ask(client: TestClient) -> None:
    key = new_tenant(client)
    conversation = chat(client, key, "Can I bring my dog?")["conversation_id"]
    body = smart_reply(client, key, conversation)
    assert_distinct(body["suggestions"])
    assert all(s["sources"] == [] for s in body["suggestions"])
    assert "colleague" in body["suggestions"][0]["text"] and body["suggestions"][1]["text"].endswith("?")
    assert not any(facts(s["text"]) for s in body["suggestions"])  # nothing made up


def test_smart_reply_needs_a_conversation_of_the_tenant_with_a_customer_message(
    client: TestClient, demo: str
) -> None:
    missing = client.post("/v1/assist/smart-reply", json={"conversation_id": "nope"}, headers=auth(demo))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    other = new_tenant(client, "Other")
    theirs = chat(client, other, "How much is a gel manicure?")["conversation_id"]
    response = client.post("/v1/assist/smart-reply", json={"conversation_id": theirs}, headers=auth(demo))
    assert response.status_code == 404
    tenant_id = services(client).core.keys.resolve(demo).tenant_id
    empty = services(client).inbox_store.open(tenant_id, None, ContactInfo(name="Silent"))
    response = client.post("/v1/assist/smart-reply", json={"conversation_id": empty.id}, headers=auth(demo))
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_customer_message"
    assert client.get("/v1/assist/credits", headers=auth(demo)).json()["used"] == 0


def test_staff_keys_may_use_assist(shared_demo: tuple[TestClient, str]) -> None:
    client, demo = shared_demo
    staff = client.post("/v1/api-keys", json={"role": "staff"}, headers=auth(demo)).json()["api_key"]
    conversation = chat(client, demo, "What are your opening hours?")["conversation_id"]
    assert "10:00" in smart_reply(client, staff, conversation)["suggestions"][0]["text"]
    assert write(client, staff, "we open at 10:00")["text"] == "We open at 10:00."
    assert client.post("/v1/assist/write", json={"draft": "hi"}).status_code == 401


DRAFT = (
    "hi ,i checked and the gel manicure is HK$350 (members HK$320) , u can book it for 2025-05-01 at "
    "10:00.pls call +852 5123 4567 or email care@lotusglow.hk , 10% off till 31 May!!! thx"
)


def test_writing_assistant_keeps_every_fact_and_fixes_the_grammar(client: TestClient) -> None:
    key = new_tenant(client)
    body = write(client, key, DRAFT)
    text = body["text"]
    for fact in ("HK$350", "HK$320", "2025-05-01", "10:00", "+852 5123 4567", "care@lotusglow.hk", "10%"):
        assert fact in text
    assert facts(DRAFT) == facts(text)
    assert text.startswith("Hi, I checked") and "you can book" in text and "Please call" in text
    assert "!!!" not in text and " ," not in text and text.endswith("Thank you.")
    assert body["language"] == "en" and body["warnings"] == [] and body["credits"]["charged"] == 1


def test_professional_tone_and_shorter(client: TestClient) -> None:
    key = new_tenant(client)
    assert (
        client.put("/v1/agent/settings", json={"tone": "professional"}, headers=auth(key)).status_code == 200
    )
    draft = "hey, i just wanted to let you know that we can definately accomodate u tmr at 3pm. we're really happy to help!"
    text = write(client, key, draft, shorter=True)["text"]
    assert text == "Hello, we can definitely accommodate you tomorrow at 3pm. We are happy to help."
    assert len(text) < len(draft) and facts(text) == facts(draft)


def test_chinese_draft_is_tidied_and_keeps_its_facts(client: TestClient) -> None:
    key = new_tenant(client)
    draft = "你好 , 凝膠美甲 HK$350 ,會員價 HK$320!!!  逢星期一至四學生八五折 , 請致電 2890 1234"
    body = write(client, key, draft)
    assert body["language"] == "zh"
    assert body["text"] == "你好，凝膠美甲 HK$350，會員價 HK$320！逢星期一至四學生八五折，請致電 2890 1234"
    assert facts(body["text"]) == facts(draft)


def test_offline_translation_is_refused_clearly(client: TestClient) -> None:
    key = new_tenant(client)
    response = client.post(
        "/v1/assist/write", json={"draft": "We open at 10:00.", "translate_to": "zh-Hant"}, headers=auth(key)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "translation_unavailable" and "PARLEY_LLM=openai" in error["message"]
    same = write(client, key, "we open at 10:00", translate_to="en")  # already English: nothing to translate
    assert same["text"] == "We open at 10:00."
    assert client.get("/v1/assist/credits", headers=auth(key)).json()["used"] == 1


def test_bad_drafts_are_422s(client: TestClient) -> None:
    key = new_tenant(client)
    for body in (
        {"draft": ""},
        {"draft": "   "},
        {"draft": "x" * 4001},
        {"draft": "hi", "translate_to": "fr"},
    ):
        response = client.post("/v1/assist/write", json=body, headers=auth(key))
        assert response.status_code == 422, body
        assert response.json()["error"]["message"].startswith(("draft", "translate_to"))
    unknown = client.post(
        "/v1/assist/write", json={"draft": "hello", "conversation_id": "nope"}, headers=auth(key)
    )
    assert unknown.status_code == 404


def test_a_custom_answer_comes_first_word_for_word(client: TestClient, demo: str) -> None:
    fixed = "Yes! Bring your student card on Monday to Thursday for 15% off any facial."
    settings = {"custom_answers": [{"question": "Do you have student discounts?", "answer": fixed}]}
    assert client.put("/v1/agent/settings", json=settings, headers=auth(demo)).status_code == 200
    conversation = chat(client, demo, "Do you have student discounts?")["conversation_id"]
    suggestions = smart_reply(client, demo, conversation)["suggestions"]
    assert_distinct(suggestions)
    assert suggestions[0] == {"text": fixed, "sources": []}
    assert suggestions[1]["sources"]  # then the knowledge
