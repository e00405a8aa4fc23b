"""One language rule for text (core/language.py): the reply language and the retriever's group agree."""

from __future__ import annotations

import pytest

from core.language import customer_language, tag_language, text_language


@pytest.mark.parametrize(
    ("text", "group", "reply"),
    [
        ("What are your opening hours?", "en", "en"),
        ("你們幾點開門？", "zh", "zh"),
        ("我想book一個appointment", "mixed", "zh"),  # mixed text is answered in Chinese
        ("Is the 週末 price different for kids and adults?", "en", "en"),
        ("123 !!", "en", "en"),  # no letters at all: English
    ],
)
def test_a_text_has_one_language_for_retrieval_and_reply(text: str, group: str, reply: str) -> None:
    assert text_language(text) == group
    assert customer_language(text) == reply


def test_a_platform_language_tag_names_chinese_or_english() -> None:
    assert tag_language("zh-HK") == tag_language("yue") == tag_language(" ZH ") == "zh"
    assert tag_language("en-US") == tag_language("fr") == "en"
    assert tag_language(None) is None and tag_language("  ") is None
