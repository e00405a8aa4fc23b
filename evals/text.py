"""Text helpers shared by the metrics: tokens that work for Traditional Chinese and English alike."""

from __future__ import annotations

import re

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Han character is a token of its own (Chinese has no spaces); anything else is a run of letters/digits.
TOKEN = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
DIGIT_GROUPS = re.compile(r"(?<=\d)[,，](?=\d{3})")


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in TOKEN.findall(text)]


def ascii_tokens(text: str) -> str:
    """The tokens as ASCII words. rouge_score's tokenizer keeps only [a-z0-9], so a Chinese answer
    would score 0 against anything; each non-ASCII token becomes a stable ASCII spelling instead."""
    return " ".join(t if t.isascii() else "u" + "x".join(f"{ord(c):x}" for c in t) for t in tokens(text))


def normalise(text: str) -> str:
    """For matching facts: case-folded, thousands separators and whitespace removed ("HK$1,280" = "hk$1280")."""
    return re.sub(r"\s+", "", DIGIT_GROUPS.sub("", text)).casefold()


def contains(haystack: str, needle: str) -> bool:
    return normalise(needle) in normalise(haystack)
