"""The content terms of a question, each with how specific it is in general language.

A question the knowledge cannot answer usually names something the knowledge never mentions ("WeChat
Pay", "GPU", 八達通, "SOC 2"), while its generic words ("how", "pay", 可以) say nothing either way. The
specificity comes from wordfreq's general-language frequencies (Zipf scale: ~7 for "the", ~3 for
"hotline", 0 for a word it has never seen). Chinese has no spaces: runs of Han characters are cut into
the most probable words under wordfreq's Chinese word list, after colloquial Cantonese is
written as standard Chinese (knowledge/cantonese.py).
"""

from __future__ import annotations

import gzip
import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import msgpack
from wordfreq import get_frequency_dict, zipf_frequency
from wordfreq.util import data_path

from knowledge import lexical
from knowledge.cantonese import to_written

_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+&.-]*[A-Za-z0-9+]|[A-Za-z0-9]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_CONTRACTION = re.compile(r"('s|'m|'d|'ve|'ll|'re|n't|’s|’m|’d|’ve|’ll|’re|n’t)$")
_NUMBER_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")
# Question and grammar words of written Chinese: never a topic however rare wordfreq thinks they are.
_ZH_FUNCTION = frozenset(
    [
        "可不可以",
        "會不會",
        "是不是",
        "有沒有",
        "需不需要",
        "能不能",
        "要不要",
        "什麼",
        "怎樣",
        "怎麼",
        "為什麼",
        "多少",
        "多久",
        "哪裡",
        "哪個",
        "請問",
        "想問",
        "如果",
        "的話",
        "可以",
        "是否",
        "能否",
        "還是",
        "或者",
        "還有",
        "現在",
        "已經",
        "一下",
        "一個",
        "這個",
        "那個",
        "這樣",
        "那樣",
        "我們",
        "你們",
        "他們",
    ]
)
_ZH_MAX_WORD = 4
MIN_HEAD_ZIPF = 3.0  # a compound's end counts as its head word when it is at least this common
_UNKNOWN_CHARACTER = 1e-9


@dataclass(frozen=True)
class Term:
    text: str
    """As asked (Chinese in written form)."""
    forms: tuple[str, ...]
    """What to look for in the knowledge: the word, its stem, a number without its unit."""
    zipf: float
    """General-language frequency: 0 unseen ... 7 the most common words."""
    han: bool
    name: bool = False
    """Written as a name or a code ("WeChat", "GPU", "SOC", ".hk", "K3s"), not as an ordinary word."""


class _ChineseWords:
    """wordfreq's Chinese word list (Simplified keys) and its Traditional-to-Simplified table, loaded once."""

    _lock = threading.Lock()
    _loaded: tuple[dict[str, float], dict[int, str]] | None = None

    @classmethod
    def get(cls) -> tuple[dict[str, float], dict[int, str]]:
        with cls._lock:
            if cls._loaded is None:
                with gzip.open(data_path("_chinese_mapping.msgpack.gz")) as handle:
                    simplify = msgpack.load(handle, raw=False, strict_map_key=False)
                cls._loaded = (get_frequency_dict("zh", wordlist="large"), simplify)
            return cls._loaded


def zh_zipf(word: str) -> float:
    """A Chinese word's general-language frequency (Zipf scale, 0 when wordfreq does not know it)."""
    words, simplify = _ChineseWords.get()
    frequency = words.get(word.translate(simplify))
    return math.log10(frequency) + 9 if frequency else 0.0


def simplified(text: str) -> str:
    """Traditional characters as Simplified ones, so that either script matches the other."""
    return text.translate(_ChineseWords.get()[1])


def _zh_words(run: str) -> list[tuple[str, float]]:
    """The most probable cut of a run of Chinese characters into words (a unigram model over wordfreq's
    list, as jieba does; a character it does not know costs as much as the rarest word)."""
    words, simplify = _ChineseWords.get()
    simple = run.translate(simplify)
    n = len(run)
    best: list[tuple[float, int]] = [(0.0, 0)] + [(-math.inf, 0)] * n  # (log probability, start of last word)
    for end in range(1, n + 1):
        for size in range(1, min(_ZH_MAX_WORD, end) + 1):
            frequency = words.get(simple[end - size : end])
            if not frequency and size > 1:
                continue
            score = best[end - size][0] + math.log10(frequency or _UNKNOWN_CHARACTER)
            if score > best[end][0]:
                best[end] = (score, end - size)
    cut: list[tuple[str, float]] = []
    end = n
    while end > 0:
        start = best[end][1]
        frequency = words.get(simple[start:end])
        cut.append((run[start:end], math.log10(frequency) + 9 if frequency else 0.0))
        end = start
    return cut[::-1]


@lru_cache(maxsize=20_000)
def _en_zipf(word: str) -> float:
    return float(zipf_frequency(word, "en"))


def content_terms(question: str) -> list[Term]:
    """Latin words (names, codes, English) and Chinese words of two or more characters, without
    stop words and question words."""
    terms: list[Term] = []
    for match in _LATIN.finditer(question):
        raw = match.group(0)
        start = match.start()
        sentence_start = not question[:start].strip() or bool(
            re.search(r"[.!?。！？(（\"“]\s*$", question[:start])
        )
        word = _CONTRACTION.sub("", raw.lower()).strip(".-'")
        if not word or word in lexical.EN_STOP or len(word) < 2 and not word.isdigit():
            continue
        forms = {word, lexical.stem(word)}
        unit = _NUMBER_UNIT.match(word)
        if unit:  # "100gb" is written "100 GB" as often as not
            forms |= {unit.group(1), unit.group(2)}
        zipf = min((_en_zipf(p) for p in word.replace("-", " ").split()), default=0.0)
        named = (
            (raw[:1].isupper() and not sentence_start)
            or any(ch.isupper() for ch in raw[1:])
            or any(ch.isdigit() for ch in raw)
            or question[max(0, start - 1) : start] == "."
        )
        terms.append(Term(word, tuple(sorted(forms)), 7.0 if word.isdigit() else zipf, han=False, name=named))
    for run in _HAN_RUN.findall(to_written(question)):
        for word, zipf in _zh_words(run):
            if len(word) >= 2 and word not in _ZH_FUNCTION:
                terms.append(Term(word, _han_forms(word), zipf, han=True))
    return terms


def _han_forms(word: str) -> tuple[str, ...]:
    """A Chinese compound and its head word: 銀聯卡 is written 銀聯 on a page that lists the cards, 續約日
    as 續約. The longest known word of two or more characters at either end stands for the compound."""
    forms = [word]
    for size in range(len(word) - 1, 1, -1):
        ends = [word[:size], word[-size:]]
        known = [end for end in ends if zh_zipf(end) >= MIN_HEAD_ZIPF]
        if known:
            forms.extend(known)
            break
    return tuple(forms)
