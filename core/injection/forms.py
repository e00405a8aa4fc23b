"""Readings of a text an attacker may hide an instruction (or a leaked prompt) in.

A detector that reads only the text as typed is beaten by writing the same words another way. Each
function here undoes one way: Unicode look-alikes and invisible characters (NFKC, format characters),
letters spaced or dotted apart, leetspeak digits, rot13, reversal, and base64 / hex / %-encoded runs.
The readings are cheap and blind: a harmless text read in rot13 or backwards is gibberish, which no
detector feature matches, so every reading can be checked without guessing which one was used.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from wordfreq import zipf_frequency

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_CJK_LATIN = re.compile(rf"(?<=[{_CJK}])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[{_CJK}])")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u3000": " "})
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/]{2,}={0,2}")
_HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}){10,}\b")
_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2}){4,}")
_SEPARATORS = re.compile(r"([\s\-._*·|/~+]+)")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
_GLUED = re.compile(r"[a-z]{16,}")
_LATIN_WORD = re.compile(r"[a-z]{2,}")
PLAIN_ENGLISH = 0.9
_LEET_TOKEN = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9])[a-z0-9]+\b|\b\w*[@$]\w+\b")


@dataclass(frozen=True)
class Reading:
    """One way of reading a text: how it was read ("plain", "base64", "rot13", ...) and the result."""

    form: str
    text: str


def visible(text: str) -> str:
    """NFKC (full-width letters and look-alike digits become ASCII), invisible format characters (zero-width
    spaces and joiners, soft hyphens, BOM) removed, curly quotes straightened. Case is kept (base64 needs it)."""
    folded = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def plain(text: str) -> str:
    """`visible`, lower-cased, whitespace collapsed, spaces between Chinese characters dropped and a space
    put between Chinese and Latin letters (so "俾我API key" has an English word boundary)."""
    return " ".join(_CJK_LATIN.sub(" ", _CJK_GAP.sub("", visible(text))).lower().split())


def rot13(text: str) -> str:
    return codecs.encode(text, "rot13")


def unleet(text: str) -> str:
    """Digits and symbols standing for letters, inside words that mix them ("1gn0r3" -> "ignore")."""
    return _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), text)


@lru_cache(maxsize=4096)
def _word_cost(word: str) -> float:
    zipf = zipf_frequency(word, "en")
    return 10.0 if zipf == 0 else 8.0 - zipf


def english_share(latin_words: list[str]) -> float:
    """The share of words that are common English words (Zipf >= 3)."""
    return sum(1 for w in latin_words if _word_cost(w) <= 5.0) / max(1, len(latin_words))


def segment(run: str) -> str:
    """Split a run of letters without spaces into likely English words ("ignoreyourrules")."""
    if len(run) > 200 or not run.isascii() or not run.isalpha():
        return run
    best: list[tuple[float, int]] = [(0.0, 0)] + [(float("inf"), 0)] * len(run)
    for end in range(1, len(run) + 1):
        for start in range(max(0, end - 18), end):
            cost = best[start][0] + _word_cost(run[start:end]) + (2.0 if end - start == 1 else 0.0)
            if cost < best[end][0]:
                best[end] = (cost, start)
    words: list[str] = []
    end = len(run)
    while end > 0:
        start = best[end][1]
        words.append(run[start:end])
        end = start
    return " ".join(reversed(words))


def unspace(text: str) -> str | None:
    """Letters written apart ("i g n o r e   a l l", "s-h-o-w m-e") joined into words; None when the text
    is not mostly single letters. A wider gap (or a separator run around a space) marks a word end."""
    parts = _SEPARATORS.split(text.strip())
    tokens = parts[::2]
    singles = sum(1 for t in tokens if len(t) == 1)
    if len(tokens) < 4 or singles < 0.6 * len(tokens):
        return None
    out: list[str] = []
    for i, token in enumerate(tokens):
        if i:
            gap = parts[2 * i - 1]
            wide = len(gap) > 1 or len(token) > 1 or len(tokens[i - 1]) > 1
            out.append(" " if wide else "")
        out.append(token)
    joined = "".join(out)
    if " " not in joined.strip():
        return segment(joined)
    return " ".join(segment(w) if len(w) > 12 else w for w in joined.split())


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\t")
    if len(decoded) < 6 or shown < 0.9 * len(decoded) or not any(ch.isalpha() for ch in decoded):
        return None
    return decoded


def _printable_word(word: str) -> str | None:
    try:
        decoded = base64.b64decode(word + "=" * (-len(word) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded and decoded.isprintable() else None


def decoded_runs(text: str) -> list[str]:
    """The readable text inside base64, hex and %-encoded runs of `text` (case as written)."""
    found: list[str] = []
    for match in _BASE64_RUN.finditer(text):
        run = match.group(0).rstrip("=")
        for alphabet in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = alphabet(run + "=" * (-len(run) % 4))
            except (binascii.Error, ValueError):
                continue
            readable = _printable(raw)
            if readable:
                found.append(readable)
                break
    words = text.split()
    if len(words) >= 4 and all(_BASE64_WORD.fullmatch(w) for w in words):  # each word encoded on its own
        decoded = [_printable_word(w) for w in words]
        if sum(1 for d in decoded if d) >= 0.8 * len(words):
            found.append(" ".join(d or "" for d in decoded))
    for match in _HEX_RUN.finditer(text):
        readable = _printable(bytes.fromhex(match.group(0)))
        if readable:
            found.append(readable)
    for match in _PERCENT_RUN.finditer(text):
        readable = _printable(unquote(match.group(0)).encode("utf-8", "ignore"))
        if readable:
            found.append(readable)
    return found


def readings(text: str, *, nested: bool = True) -> list[Reading]:
    """Every reading of `text` worth checking, the plain one first (each lower-cased and collapsed)."""
    shown = visible(text)
    base = plain(text)
    out = [Reading("plain", base)]

    def add(form: str, candidate: str | None) -> None:
        if candidate:
            candidate = plain(candidate)
            if candidate and all(candidate != r.text for r in out):
                out.append(Reading(form, candidate))

    add("spaced", unspace(shown))
    if _GLUED.search(base):  # words run together (invisible characters stood between them)
        add("segmented", _GLUED.sub(lambda m: segment(m.group(0)), base))
    if any(ch.isdigit() or ch in "@$" for ch in base):
        add("leetspeak", unleet(base))
    # Plain English already: its rot13 and its reversal are gibberish, not worth reading (a text at ingest
    # is read a few times less); a rot13 or reversed payload lowers the share of English words below this.
    latin = _LATIN_WORD.findall(base)
    english = len(latin) >= 5 and english_share(latin) >= PLAIN_ENGLISH
    if latin and not english:
        add("rot13", rot13(base))
    if not english:
        add("reversed", base[::-1])
    if nested:
        for decoded in decoded_runs(shown):
            for inner in readings(decoded, nested=False):
                add("encoded" if inner.form == "plain" else f"encoded+{inner.form}", inner.text)
    return out
