"""Lexical sparse vectors for Qdrant: English words and Chinese character n-grams, hashed to indices.

Chinese has no spaces, so a word tokenizer would see one giant token per sentence. Character
unigrams plus bigrams match Chinese words of any length without a dictionary (the usual trick of
CJK search engines). Document values are BM25's saturated term frequency with length
normalisation; Qdrant's IDF modifier supplies the inverse document frequency at query time,
so the product is BM25.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter

K1 = 1.2
B = 0.75
AVG_DOC_TOKENS = 80.0

Sparse = tuple[list[int], list[float]]
_TOKEN = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

EN_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
# Function characters that carry no topic on their own (they still count inside bigrams).
ZH_STOP = frozenset("的了是嗎吗呢我你您們们在有和及與与或也都就個个這这那之於于请請嘅咗唔係")


def stem(word: str) -> str:
    """A light English stemmer: enough to match price/prices, open/opening, close/closed."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("sses", "xes", "ches", "shes", "zes"):
        if word.endswith(suffix):
            return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _undouble(word: str) -> str:
    """cancelled -> cancel, stopped -> stop, planning -> plan (but not "fall" or "pass")."""
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz" + "aeiou":
        return word[:-1]
    if len(word) > 5 and word.endswith("ell"):
        return word[:-1]  # "cancell", "travell": British doubling before a suffix
    return word


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        piece = match.group(0)
        if _HAN.match(piece):
            out.extend(ch for ch in piece if ch not in ZH_STOP)
            out.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        elif piece not in EN_STOP:
            out.append(stem(piece.rstrip(".")))
    return out


def _index(token: str) -> int:
    return zlib.crc32(token.encode()) & 0x7FFFFFFF


def _to_sparse(weights: dict[int, float]) -> tuple[list[int], list[float]]:
    indices = sorted(weights)
    return indices, [weights[i] for i in indices]


def document_vector(text: str) -> tuple[list[int], list[float]]:
    counts = Counter(tokens(text))
    length = sum(counts.values()) or 1
    norm = K1 * (1 - B + B * length / AVG_DOC_TOKENS)
    weights: dict[int, float] = {}
    for token, tf in counts.items():
        idx = _index(token)
        weights[idx] = weights.get(idx, 0.0) + tf * (K1 + 1) / (tf + norm)
    return _to_sparse(weights)


def query_vector(text: str) -> tuple[list[int], list[float]]:
    weights: dict[int, float] = {}
    for token in set(tokens(text)):
        weights[_index(token)] = 1.0
    return _to_sparse(weights)


def weighted_query_vector(weights: dict[str, float]) -> tuple[list[int], list[float]]:
    """A query of tokens with their own weights (translations count for less than the customer's words)."""
    indexed: dict[int, float] = {}
    for token, weight in weights.items():
        index = _index(token)
        indexed[index] = max(indexed.get(index, 0.0), weight)
    return _to_sparse(indexed)
