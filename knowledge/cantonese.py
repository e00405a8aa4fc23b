"""Colloquial Cantonese written as standard written Chinese, for matching against business documents.

Hong Kong customers type the spoken language (有冇、幾錢、點樣、俾錢、佢、嘅) while help pages and FAQs are
written in standard Chinese (有沒有、多少錢、怎樣、付款、他、的). Lexical search and term coverage compare
characters, so a question is matched in both forms. The table holds grammar words and everyday verbs
of the spoken language only (no business vocabulary); longer forms are replaced first.
"""

from __future__ import annotations

import re

WRITTEN: dict[str, str] = {
    "可唔可以": "可不可以",
    "會唔會": "會不會",
    "使唔使": "需不需要",
    "係唔係": "是不是",
    "有冇得": "可不可以",
    "有冇": "有沒有",
    "係咪": "是不是",
    "點樣": "怎樣",
    "點解": "為什麼",
    "點搞": "怎麼辦",
    "乜嘢": "什麼",
    "咩嘢": "什麼",
    "邊度": "哪裡",
    "邊個": "哪個",
    "邊間": "哪間",
    "幾耐": "多久",
    "幾多": "多少",
    "幾錢": "多少錢",
    "幾時": "什麼時候",
    "而家": "現在",
    "依家": "現在",
    "屋企人": "家人",
    "屋企": "家",
    "俾錢": "付款",
    "畀錢": "付款",
    "張單": "帳單",
    "平啲": "便宜",
    "嘅話": "的話",
    "咗": "了",
    "嘅": "的",
    "喺": "在",
    "冇": "沒有",
    "唔": "不",
    "佢哋": "他們",
    "你哋": "你們",
    "我哋": "我們",
    "佢": "他",
    "啲": "些",
    "嘢": "東西",
    "咩": "什麼",
    "俾": "給",
    "畀": "給",
    "睇": "看",
    "搵": "找",
    "攞": "拿",
    "嚟": "來",
    "揀": "選",
    "瞓": "睡",
    "咁": "這樣",
    "呢個": "這個",
    "嗰個": "那個",
    "嗰": "那",
    "仲": "還",
    "係": "是",
    "返": "回",
}
_PATTERN = re.compile("|".join(sorted(map(re.escape, WRITTEN), key=len, reverse=True)))
# Sentence particles with no written counterpart.
_PARTICLES = re.compile(r"[㗎啦喎嘛囉咩呀喇吖噃嘞]")


def to_written(text: str) -> str:
    """The text with spoken Cantonese forms replaced by written ones (other text unchanged)."""
    return _PARTICLES.sub("", _PATTERN.sub(lambda m: WRITTEN[m.group(0)], text))


def is_cantonese(text: str) -> bool:
    return bool(_PATTERN.search(text) or _PARTICLES.search(text))
