"""Which words a text contains: the answerability gate asks whether a question's specific terms appear
anywhere in a tenant's knowledge, the reranker whether they appear in a chunk.

A tenant's vocabulary is built from its indexed chunk texts (the one source of truth, embedded or server
mode) and kept until its sources change (knowledge/tenant_cache.py): a set of its words and its Chinese
text, tens of kilobytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge import lexical
from knowledge.terms import Term, simplified

_LATIN = re.compile(r"[a-z0-9][a-z0-9'+&.-]*[a-z0-9+]|[a-z0-9]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Vocabulary:
    words: frozenset[str]
    """Latin words as written (lower case) and their stems."""
    han: str
    """The Chinese text, simplified, runs joined by a separator (a word is looked up as a substring)."""

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        words: set[str] = set()
        runs: list[str] = []
        for text in texts:
            lowered = text.lower()
            for word in _LATIN.findall(lowered):
                word = word.strip(".-'")
                words.add(word)
                words.add(lexical.stem(word))
                words.update(p for p in re.split(r"[-./]", word) if p)
            runs.extend(_HAN_RUN.findall(text))
        return cls(frozenset(words), simplified("|".join(runs)))

    def covers(self, term: Term) -> bool:
        if term.han:
            return simplified(term.text) in self.han
        return any(form in self.words for form in term.forms)

    @property
    def has_chinese(self) -> bool:
        return len(self.han) > 200
