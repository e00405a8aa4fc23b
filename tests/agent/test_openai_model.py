"""PARLEY_LLM=openai against a fake OpenAI-compatible server on loopback (the real wire format)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.agent.fake_openai import FakeOpenAI, completion
from tests.conftest import auth, new_tenant


def test_answers_come_from_the_endpoint_with_prompt_and_tools(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script = [None, completion("We open at 10:00.")]  # one failure, retried
    key = new_tenant(openai_client)
    body = openai_client.post(
        "/v1/agent/chat", json={"message": "When do you open?"}, headers=auth(key)
    ).json()
    assert body["reply"] == "We open at 10:00." and body["handoff"] is False
    assert len(fake_openai.requests) == 2
    request = fake_openai.requests[-1]
    assert request["model"] == "fake-model"
    assert request["messages"][0]["role"] == "system" and "<knowledge>" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "When do you open?"}
    names = {t["function"]["name"] for t in request["tools"]}
    assert names == {
        "handoff_to_human",
        "search_knowledge",
        "create_ticket",
        "update_ticket",
        "update_contact",
        "add_tag",
        "score_lead",
        "add_to_list",
        "schedule_follow_up",
    }
    params = next(t for t in request["tools"] if t["function"]["name"] == "handoff_to_human")["function"][
        "parameters"
    ]
    # Tenant and conversation are injected, never asked of the model.
    assert set(params["properties"]) == {"reason", "team"}
    ticket = next(t for t in request["tools"] if t["function"]["name"] == "create_ticket")["function"]
    assert set(ticket["parameters"]["properties"]) == {"type", "priority", "summary"}
    assert "refund" in ticket["parameters"]["properties"]["type"]["enum"]
    assert fake_openai.headers[-1]["authorization"] == "Bearer test-llm-key-123"


def test_tool_calls_from_the_endpoint_are_executed(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "handoff_to_human", "arguments": json.dumps({"reason": "refund dispute"})},
    }
    fake_openai.script = [completion(None, [call]), completion("A colleague will contact you shortly.")]
    key = new_tenant(openai_client)
    body = openai_client.post(
        "/v1/agent/chat", json={"message": "I want my money back"}, headers=auth(key)
    ).json()
    # (outside working hours a note of when a person will answer follows: tests/inbox covers it)
    assert body["handoff"] is True and body["reply"].startswith("A colleague will contact you shortly.")
    assert body["actions"][0]["tool"] == "handoff_to_human" and body["actions"][0]["args"] == {
        "reason": "refund dispute"
    }
    assert fake_openai.requests[-1]["messages"][-1]["role"] == "tool"


def test_endpoint_down_gets_a_safe_reply_and_a_handoff(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script = []  # every call answers 500
    key = new_tenant(openai_client)
    body = openai_client.post("/v1/agent/chat", json={"message": "Hello?"}, headers=auth(key)).json()
    assert body["handoff"] is True and "colleague" in body["reply"]
    assert len(fake_openai.requests) == 2  # the call and its retry


def test_the_model_gets_the_standalone_question_the_intent_the_gate_and_marked_passages(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    from tests.agent.test_answer_path import SHOP_FAQ
    from tests.conftest import upload, wait_for

    key = new_tenant(openai_client)
    source = upload(openai_client, key, "faq.txt", SHOP_FAQ.encode())
    assert wait_for(openai_client, key, source["id"])["status"] == "ready"
    fake_openai.script = [
        completion("The Business plan is HK$480 a month."),
        completion("How much is each extra user on the Business plan?"),  # the contextualise step
        completion("Each extra user is HK$40 a month."),
    ]
    first = openai_client.post(
        "/v1/agent/chat", json={"message": "How much is the Business plan?"}, headers=auth(key)
    ).json()
    assert len(fake_openai.requests) == 1  # no history: no rewriting call
    follow = openai_client.post(
        "/v1/agent/chat",
        json={"message": "and each extra user?", "conversation_id": first["conversation_id"]},
        headers=auth(key),
    ).json()
    assert follow["reply"] == "Each extra user is HK$40 a month." and follow["intent"] == "question"
    rewrite, answer = fake_openai.requests[1], fake_openai.requests[2]
    assert "standalone question" in rewrite["messages"][0]["content"]
    assert "How much is the Business plan?" in rewrite["messages"][1]["content"]
    assert "tools" not in rewrite  # a plain completion, not an agent step
    system = answer["messages"][0]["content"]
    assert "Customer intent: question" in system
    assert "Question (standalone): How much is each extra user on the Business plan?" in system
    assert "Knowledge check: passages below match" in system
    assert "» Each extra user on the Business plan is HK$40 a month." in system


def test_small_talk_and_unanswerable_questions_reach_the_model_as_such(
    openai_client: TestClient, fake_openai: FakeOpenAI
) -> None:
    from tests.agent.test_answer_path import SHOP_FAQ
    from tests.conftest import upload, wait_for

    key = new_tenant(openai_client)
    source = upload(openai_client, key, "faq.txt", SHOP_FAQ.encode())
    assert wait_for(openai_client, key, source["id"])["status"] == "ready"
    fake_openai.script = [completion("Hi! How can I help?"), completion("Sorry, I don't know that.")]
    hello = openai_client.post("/v1/agent/chat", json={"message": "hello"}, headers=auth(key)).json()
    assert hello["route"] == "small_talk" and hello["sources"] == []
    assert "Customer intent: greeting" in fake_openai.requests[0]["messages"][0]["content"]
    wechat = openai_client.post(
        "/v1/agent/chat", json={"message": "Do you accept WeChat Pay?"}, headers=auth(key)
    ).json()
    assert wechat["route"] == "unknown" and wechat["sources"] == []
    system = fake_openai.requests[1]["messages"][0]["content"]
    assert "Knowledge check: the knowledge does not answer this." in system
    assert system.split("<knowledge>")[1].strip() == "</knowledge>"
