"""PARLEY_LLM=openai against a fake OpenAI-compatible server on loopback (the real wire format)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, new_tenant


class FakeOpenAI:
    """Answers /v1/chat/completions from a script; a script entry of None answers HTTP 500."""

    def __init__(self) -> None:
        self.script: list[dict[str, Any] | None] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append({"authorization": self.headers.get("Authorization", "")})
                step = fake.script.pop(0) if fake.script else None
                payload = json.dumps(step if step is not None else {"error": {"message": "boom"}}).encode()
                self.send_response(200 if step is not None else 500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1764000000,
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def openai_client(app_factory: Callable[..., Any], fake_openai: FakeOpenAI) -> Iterator[TestClient]:
    app = app_factory(
        llm="openai",
        llm_base_url=fake_openai.url,
        llm_api_key="test-llm-key-123",
        llm_model="fake-model",
        llm_timeout=5.0,
        llm_max_retries=1,
    )
    with TestClient(app) as client:
        yield client


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
