"""Which language a customer writes or speaks: Traditional Chinese ("zh") or English ("en").

One rule for text: the share of Chinese characters among letters (`han_ratio`), where four Latin letters
weigh as much as one Chinese character (a Chinese character carries about a word). Below 0.3 a text is
English. `text_language` also tells a mixed text apart (0.3 to 0.7, for the retriever's per-language
calibration); `customer_language` answers with one of the two languages a reply can be written in, so a
mixed text gets a Chinese reply. For a platform's language tag (a BCP 47 tag such as "zh-HK") see `tag_language`.
"""

from __future__ import annotations

import re
from typing import Literal

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
ENGLISH_BELOW = 0.3
CHINESE_ABOVE = 0.7


def han_ratio(text: str) -> float:
    """Share of Chinese characters among letters: which language a text is mostly in."""
    han = len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    return han / (han + latin / 4) if (han or latin) else 0.0


def text_language(text: str) -> Literal["zh", "en", "mixed"]:
    """ "zh", "en" or "mixed"."""
    ratio = han_ratio(text)
    return "zh" if ratio > CHINESE_ABOVE else "en" if ratio < ENGLISH_BELOW else "mixed"


def customer_language(text: str) -> Literal["zh", "en"]:
    """The language to answer `text` in: Chinese unless it is mostly English (a mixed text gets Chinese)."""
    return "en" if han_ratio(text) < ENGLISH_BELOW else "zh"


def tag_language(tag: str | None) -> Literal["zh", "en"] | None:
    """The language of a platform's language tag ("zh-HK", "yue", "en-US"); None when there is none.
    Any other language is answered in English."""
    if not tag or not tag.strip():
        return None
    return "zh" if tag.strip().lower().startswith(("zh", "yue")) else "en"
