"""The demo knowledge, as `make run` loads it: cross-lingual questions find the right facts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from knowledge.demo import demo_files
from tests.conftest import new_tenant, search, upload, wait_for


@pytest.fixture
def demo_key(client: TestClient) -> str:
    key = new_tenant(client, "Lotus Glow Beauty")
    ids = [upload(client, key, name, data)["id"] for name, data in demo_files().items()]
    assert all(wait_for(client, key, i)["status"] == "ready" for i in ids)
    return key


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("取消預約要提前幾耐通知？", "24 hours"),  # Chinese question, English policy PDF
        ("八號風球會唔會開門？", "Typhoon Signal No. 8"),
        ("Do you have a student discount?", "學生"),  # English question, Chinese FAQ
        ("What brands of skincare products do you use?", "Valmont"),
        ("黃金提升面部護理幾錢？", "1280"),
        ("How much is a gel manicure?", "Gel Manicure"),
    ],
)
def test_cross_lingual_questions(client: TestClient, demo_key: str, question: str, fact: str) -> None:
    texts = [h["text"] for h in search(client, demo_key, question, k=5)]
    assert any(fact in t for t in texts), texts
