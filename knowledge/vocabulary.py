"""Which words a text contains: the answerability gate asks whether a question's specific terms appear
anywhere in a tenant's knowledge, the reranker whether they appear in a chunk.

A tenant's vocabulary is built from its indexed chunk texts (the one source of truth, embedded or server
mode) and kept until its sources change (knowledge/tenant_cache.py): a set of its words and its Chinese
text, tens of kilobytes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from knowledge import lexical
from knowledge.terms import Term, simplified

_LATIN = re.compile(r"[a-z0-9][a-z0-9'+&.-]*[a-z0-9+]|[a-z0-9]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
# A run of two to four capitalised words, whose initials a customer may write instead ("European Union":
# EU, "Customer Relationship Management": CRM).
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,3}\b")


@dataclass(frozen=True)
class Vocabulary:
    words: frozenset[str]
    """Latin words as written (lower case) and their stems."""
    han: str
    """The Chinese text, simplified, runs joined by a separator (a word is looked up as a substring)."""
    documents: int = 1
    """How many texts (chunks) it was built from."""
    frequency: Mapping[str, int] = field(default_factory=dict)
    """For each Latin word and stem, in how many of those texts it occurs."""
    initials: frozenset[str] = frozenset()
    """The initials (lower case) of the capitalised names the texts spell out ("european union": eu)."""

    @classmethod
    def of(cls, texts: Iterable[str]) -> Vocabulary:
        counts: Counter[str] = Counter()
        runs: list[str] = []
        initials: set[str] = set()
        documents = 0
        for text in texts:
            documents += 1
            initials.update(_initials(name) for name in _CAPITALISED_RUN.findall(text))
            lowered = text.lower()
            mine: set[str] = set()
            for word in _LATIN.findall(lowered):
                word = word.strip(".-'")
                mine.add(word)
                mine.add(lexical.stem(word))
                mine.update(p for p in re.split(r"[-./]", word) if p)
            counts.update(mine)
            runs.extend(_HAN_RUN.findall(text))
        return cls(
            frozenset(counts), simplified("|".join(runs)), max(1, documents), counts, frozenset(initials)
        )

    def rarity(self, term: Term) -> float:
        """1 for a word in none or few of the texts, toward 0 for one in nearly all (a brand name that is
        on every page says nothing about which page answers)."""
        if term.han or self.documents < 5:
            return 1.0
        seen = max((self.frequency.get(form, 0) for form in term.forms), default=0)
        return max(0.0, 1.0 - seen / self.documents) ** 2

    def covers(self, term: Term) -> bool:
        if term.han:
            return any(simplified(form) in self.han for form in term.forms)
        return any(form in self.words for form in term.forms)

    def spells_out(self, term: Term) -> bool:
        """An acronym the customer wrote ("EU") whose name the knowledge writes in full."""
        return term.name and term.text.isalpha() and 2 <= len(term.text) <= 5 and term.text in self.initials

    @property
    def has_chinese(self) -> bool:
        return len(self.han) > 200


def _initials(name: str) -> str:
    return "".join(word[0] for word in re.split(r"[ -]", name)).lower()
