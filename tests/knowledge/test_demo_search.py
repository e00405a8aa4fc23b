"""The demo knowledge, as `make run` loads it: cross-lingual questions find the right facts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import search


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
def test_cross_lingual_questions(shared_demo: tuple[TestClient, str], question: str, fact: str) -> None:
    client, demo_key = shared_demo
    texts = [h["text"] for h in search(client, demo_key, question, k=5)]
    assert any(fact in t for t in texts), texts
