"""How much of a question's own wording a text holds, in the question's words or their translations.

Rare words weigh more (knowledge/terms.py), and so do words that are rare in this tenant's knowledge
(its own name is on every page). Used by the rerank (knowledge/rerank.py), the answerability gate
(agent/gate.py) and the cross-language step of retrieval (knowledge/retrieval.py).
"""

from __future__ import annotations

from knowledge import lexical
from knowledge.bilingual import lexicon
from knowledge.terms import Term, simplified
from knowledge.vocabulary import Vocabulary

NEUTRAL_COVERAGE = 0.5


def term_weight(term: Term, knowledge: Vocabulary | None = None) -> float:
    """Rare words say what the question is about; common ones barely count, nor do words on nearly every
    page of this knowledge (the business's own name)."""
    weight = max(0.25, 6.0 - term.zipf)
    return weight * knowledge.rarity(term) if knowledge is not None else weight


def coverage(terms: list[Term], text: str, knowledge: Vocabulary | None = None) -> float:
    """Share of the question's term weight the text holds, a word counting as held when it or one of its
    translations (knowledge/bilingual.py) is there: "firewall" in a page that says 防火牆. `knowledge`:
    the tenant's vocabulary, whose common words weigh less."""
    vocabulary = Vocabulary.of([text])
    weights = [(t, term_weight(t, knowledge)) for t in terms if judgeable(vocabulary, t)]
    total = sum(w for _, w in weights)
    if not total:
        return NEUTRAL_COVERAGE  # nothing to judge: neither for nor against
    return sum(w for t, w in weights if holds(vocabulary, t)) / total


def judgeable(vocabulary: Vocabulary, term: Term) -> bool:
    """Whether the text could show the word: it is written in the word's script, or the word has a
    translation to look for. 風球 has none in an English page: its absence there says nothing."""
    if term.text.isdigit():
        return False
    if vocabulary.han if term.han else vocabulary.words:
        return True
    words = lexicon()
    if term.han:
        return bool(words.english(term.text))
    return all(words.chinese(lexical.stem(part)) for part in term.text.split("-") if part)


def holds(vocabulary: Vocabulary, term: Term) -> bool:
    if vocabulary.covers(term) or vocabulary.spells_out(term):  # "EU" where the text says European Union
        return True
    words = lexicon()
    if term.han:
        return any(english in vocabulary.words for english in words.english(term.text))
    # "auto-renewal" is held where each of its parts is (自動 ... 續約)
    parts = [lexical.stem(part) for part in term.text.split("-") if part] or [lexical.stem(term.text)]
    return all(
        any(simplified(chinese) in vocabulary.han for chinese in words.chinese(part)) for part in parts
    )
