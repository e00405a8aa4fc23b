"""Text helpers shared by the metrics: tokens that work for Traditional Chinese and English alike.

Everything is NFKC-normalised first, so full-width forms a Chinese keyboard types ("３５０", "Ｇｅｌ",
"ＨＫ＄") compare equal to their ASCII spelling.
"""

from __future__ import annotations

import re
import unicodedata

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Han character is a token of its own (Chinese has no spaces); anything else is a run of letters/digits.
TOKEN = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
# A thousands separator: a comma between a digit and exactly three more ("1,280", not "350,5" or "1,2345").
DIGIT_GROUPS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in TOKEN.findall(nfkc(text))]


def ascii_tokens(text: str) -> str:
    """The tokens as ASCII words. rouge_score's tokenizer keeps only [a-z0-9], so a Chinese answer
    would score 0 against anything; each non-ASCII token becomes a stable ASCII spelling instead."""
    return " ".join(t if t.isascii() else "u" + "x".join(f"{ord(c):x}" for c in t) for t in tokens(text))


def normalise(text: str) -> str:
    """For matching facts: NFKC, case-folded, thousands separators and whitespace removed
    ("ＨＫ$1,280" = "hk$1280")."""
    return re.sub(r"\s+", "", DIGIT_GROUPS.sub("", nfkc(text))).casefold()


def contains(haystack: str, needle: str) -> bool:
    """Whether `haystack` states the fact `needle`. A number must match whole: "350" is not in "1350"
    nor "HK$350" in "HK$3,500" (a fact that starts or ends with a digit needs no digit beside it)."""
    fact = normalise(needle)
    if not fact:
        return False
    before = r"(?<!\d)" if fact[0].isdigit() else ""
    after = r"(?!\d)" if fact[-1].isdigit() else ""
    return re.search(before + re.escape(fact) + after, normalise(haystack)) is not None
