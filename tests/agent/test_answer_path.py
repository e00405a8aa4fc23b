"""The answer path through the HTTP API on knowledge written here: small talk, asking for a person, the
gate that says "I don't know", follow-ups made standalone, answers that carry the asked-for fact."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.agent.test_chat import chat
from tests.conftest import auth, load_demo, new_tenant, upload, wait_for

# The answer path reads and writes the database only as every other chat does (tests/agent/test_chat.py
# runs those on both engines): SQLite is enough here, and halves the time.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

# A plain-text FAQ as a business owner pastes it: no blank lines, questions ending in "?", a list.
SHOP_FAQ = """Plans
How much is the Basic plan?
The Basic plan costs HK$120 a month and includes 2 users.
How much is the Business plan?
The Business plan costs HK$480 a month and includes 10 users.
Each extra user on the Business plan is HK$40 a month.
Does the Basic plan have a free trial?
Yes. The Basic plan comes with a 14-day free trial.
Payment
Which payment methods do you accept?
We accept:
- Visa and Mastercard
- FPS
Refunds are paid back to the original card within 7 working days.
Which currency do you charge in?
Every plan is charged in Hong Kong dollars.
Invoices
Can you put a tax number on the invoice?
Yes. An invoice can show your Business Registration number or a European Union VAT number.
方案
基本方案每月幾錢？
基本方案每月 HK$120，包兩位用戶。
商業方案每月幾錢？
商業方案每月 HK$480，包十位用戶。商業方案每位額外用戶每月 HK$40。
"""


@pytest.fixture
def shop(client: TestClient) -> str:
    key = new_tenant(client, "Harbour Tools")
    source = upload(client, key, "faq.txt", SHOP_FAQ.encode())
    assert wait_for(client, key, source["id"])["status"] == "ready"
    return key


def test_small_talk_gets_a_short_reply_in_kind_without_knowledge(client: TestClient, shop: str) -> None:
    for message, language in (("hi", "en"), ("thanks!", "en"), ("唔該晒！", "zh"), ("好啦，拜拜", "zh")):
        body = chat(client, shop, message)
        assert body["route"] == "small_talk" and body["sources"] == [] and not body["handoff"], body
        assert len(body["reply"]) < 80
        assert bool(re.search(r"[\u4e00-\u9fff]", body["reply"])) == (language == "zh")


def test_asking_for_a_person_hands_off_and_a_product_term_does_not(client: TestClient, shop: str) -> None:
    asked = chat(client, shop, "I want to speak to a manager")
    assert asked["handoff"] and asked["intent"] == "human"
    assert asked["actions"][0]["tool"] == "handoff_to_human"
    angry = chat(client, shop, "嬲到爆！等咗成個禮拜都冇人理！")
    assert angry["handoff"] and angry["intent"] == "complaint"
    term = chat(client, shop, "唔使轉真人，我只係想問基本方案每月幾錢？")
    assert not term["handoff"] and "HK$120" in term["reply"]


def test_the_gate_says_it_does_not_know_and_counts_toward_a_handoff(client: TestClient, shop: str) -> None:
    first = chat(client, shop, "Do you accept WeChat Pay?")
    assert first["route"] == "unknown" and first["sources"] == [] and not first["handoff"]
    assert "don't have that information" in first["reply"] and "colleague" in first["reply"]
    second = chat(client, shop, "Do you sell iPhones?", first["conversation_id"])
    assert second["handoff"]  # two questions in a row the knowledge does not answer
    answered = chat(client, shop, "Do you accept Visa?")
    assert answered["route"] == "model" and "Visa" in answered["reply"]


def test_a_question_about_what_the_knowledge_never_speaks_of_is_declined(
    client: TestClient, shop: str
) -> None:
    # "instalments" and "reseller" are ordinary words, in no page in either language: not known here
    for question in ("Can I pay for the Business plan in instalments?", "Do you have a reseller programme?"):
        body = chat(client, shop, question)
        assert body["route"] == "unknown" and body["sources"] == [], body
    # the plan's words are in the knowledge: answered, whatever the customer says of themselves first
    assert "HK$480" in chat(client, shop, "How much is the Business plan each month?")["reply"]
    assert "HK$120" in chat(client, shop, "I'm at uni, how much is the Basic plan?")["reply"]


def test_what_the_customer_says_of_themselves_does_not_decline_their_question(
    client: TestClient, shop: str
) -> None:
    # Singapore and SGD are in no page, but only the question sentence says what must be known
    body = chat(client, shop, "What currency do you charge in? I'm in Singapore so I'd rather pay in SGD.")
    assert body["route"] == "model" and "Hong Kong dollars" in body["reply"], body
    asked = chat(client, shop, "I'm in Singapore. Can I pay in SGD?")
    assert asked["route"] == "unknown" and asked["sources"] == [], asked


def test_an_acronym_of_a_name_the_knowledge_writes_in_full_is_known(client: TestClient, shop: str) -> None:
    body = chat(client, shop, "Can you put our EU VAT number on the invoice?")  # the page: European Union
    assert body["route"] == "model" and "VAT" in body["reply"], body


def test_an_answer_carries_the_fact_and_never_the_next_question(client: TestClient, shop: str) -> None:
    body = chat(client, shop, "how much does the business plan cost?")
    assert "HK$480" in body["reply"] and "?" not in body["reply"]
    zh = chat(client, shop, "商業方案要幾錢一個月？")
    assert "HK$480" in zh["reply"] and zh["reply"].startswith("好的！")
    # English question, the same fact stated in both languages: the customer gets English
    assert not re.search(r"[\u4e00-\u9fff]", body["reply"])


def test_a_follow_up_is_answered_with_the_subject_of_the_question_before(
    client: TestClient, shop: str
) -> None:
    first = chat(client, shop, "How much is the Business plan?")
    assert "HK$480" in first["reply"]
    follow = chat(client, shop, "and each extra user?", first["conversation_id"])
    assert "HK$40" in follow["reply"], follow
    zh = chat(client, shop, "商業方案每月幾錢？")
    then = chat(client, shop, "咁每位額外用戶呢？", zh["conversation_id"])
    assert "HK$40" in then["reply"], then
    # a follow-up about something the knowledge never speaks of is declined, not answered from the subject
    lifetime = chat(client, shop, "and a lifetime plan?", first["conversation_id"])
    assert lifetime["route"] == "unknown" and lifetime["sources"] == [], lifetime


def test_a_brief_answer_stays_brief(client: TestClient, shop: str) -> None:
    response = client.put("/v1/agent/settings", json={"response_length": "brief"}, headers=auth(shop))
    assert response.status_code == 200, response.text
    body = chat(client, shop, "Which payment methods do you accept?")
    assert len(body["reply"].split()) <= 40 and "Visa" in body["reply"]


def test_the_demo_salon_answers_what_the_issue_found_wrong(client: TestClient) -> None:
    key = load_demo(client)
    assert chat(client, key, "Do you sell iPhones?")["route"] == "unknown"
    assert chat(client, key, "hi")["route"] == "small_talk"
    thanks = chat(client, key, "thanks!")
    assert thanks["route"] == "small_talk" and "@" not in thanks["reply"]
    question = chat(client, key, "Our average response time looks terrible, how do I book a facial?")
    assert not question["handoff"]


def test_a_device_the_knowledge_names_by_its_platform_is_not_an_unknown_name(client: TestClient) -> None:
    key = new_tenant(client, "Harbour Photos")
    faq = (
        "Apps\nIs there a mobile app?\nYes. The app is on iOS (from the App Store) and on Android.\n"
        "Payment\nWhich payment methods do you accept?\nWe accept Visa and Mastercard.\n"
    )
    source = upload(client, key, "faq.txt", faq.encode())
    assert wait_for(client, key, source["id"])["status"] == "ready"
    # "iPhone" is nowhere in the knowledge, but iOS is: the question is about something it knows
    body = chat(client, key, "Can I use the app on my iPhone?")
    assert body["route"] == "model" and "iOS" in body["reply"], body
    # a name it knows nothing of still says it does not know
    assert chat(client, key, "Do you accept WeChat Pay?")["route"] == "unknown"
