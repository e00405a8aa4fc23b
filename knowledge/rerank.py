"""A second look at the top candidates of hybrid retrieval, with evidence the fused scores do not see.

- the chunk's own FAQ question: a question that paraphrases it is answered by it (e5 scores a
  question against a question far more sharply than against an answer);
- coverage: how much of the question's specific wording (rare words weigh more, knowledge/terms.py)
  the chunk contains, in the question's words or their translations (knowledge/bilingual.py);
- answer type: the question asks for a price, a duration, a count, a contact, and the chunk carries one.
The fused score stays the base; each piece of evidence moves a candidate by a bounded amount.
Measured on the faq-dev set (bench/answers.py): see the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge import answer_types, lexical
from knowledge.bilingual import lexicon
from knowledge.chunking import parse_chunk
from knowledge.retrieval import Candidate
from knowledge.terms import Term, content_terms, simplified
from knowledge.vocabulary import Vocabulary

RERANK_TOP = 15
QUESTION_FLOOR = 0.86  # below this cosine a chunk's question says nothing about the customer's
W_QUESTION = 6.0
W_COVERAGE = 2.0  # the question's own words settle what e5 leaves close (across languages most of all)
W_TYPE = 0.8
NEUTRAL_COVERAGE = 0.5
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass
class Evidence:
    question_match: float
    """Cosine of the customer's question and the chunk's FAQ question (0 when it has none or it missed)."""
    coverage: float
    """Share of the question's term weight found in the chunk, over the terms in the chunk's script."""
    answer_type: float
    """+1 carries the kind of fact asked for, -1 carries none, 0 no kind asked."""


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
    if vocabulary.covers(term):
        return True
    words = lexicon()
    if term.han:
        return any(english in vocabulary.words for english in words.english(term.text))
    # "auto-renewal" is held where each of its parts is (自動 ... 續約)
    parts = [lexical.stem(part) for part in term.text.split("-") if part] or [lexical.stem(term.text)]
    return all(
        any(simplified(chinese) in vocabulary.han for chinese in words.chinese(part)) for part in parts
    )


def question_match(text: str, units: dict[int, tuple[float, str]]) -> float:
    """How closely the customer's question matched the chunk's own FAQ question (0 if it has none)."""
    _, question, _ = parse_chunk(text)
    if not question:
        return 0.0
    return max((score for score, unit in units.values() if unit == question), default=0.0)


def rerank(query: str, candidates: list[Candidate], knowledge: Vocabulary | None = None) -> list[Candidate]:
    """The top RERANK_TOP candidates reordered by their fused score plus evidence; the rest follow.
    `knowledge`: the tenant's vocabulary (its common words weigh less in coverage)."""
    head, tail = candidates[:RERANK_TOP], candidates[RERANK_TOP:]
    terms = content_terms(query)
    kinds = answer_types.asked(query)
    for candidate in head:
        found = Evidence(
            question_match=question_match(candidate.text, candidate.units),
            coverage=coverage(terms, candidate.text, knowledge),
            answer_type=answer_types.evidence(kinds, candidate.text),
        )
        candidate.score += (
            W_QUESTION * max(0.0, found.question_match - QUESTION_FLOOR)
            + W_COVERAGE * found.coverage
            + W_TYPE * found.answer_type
        )
    return sorted(head, key=lambda c: c.score, reverse=True) + tail
