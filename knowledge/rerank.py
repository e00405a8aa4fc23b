"""A second look at the top candidates of hybrid retrieval, with evidence the fused scores do not see.

- the chunk's own FAQ question: a question that paraphrases it is answered by it (e5 scores a
  question against a question far more sharply than against an answer);
- coverage: how much of the question's specific wording (rare words weigh more, knowledge/terms.py)
  the chunk contains, in the question's words or their translations (knowledge/bilingual.py);
- answer type: the question asks for a price, a duration, a count, a contact, and the chunk carries one.
- a list asked for: "Which cards do you take?" and the chunk lists them after a lead-in that names them.
The fused score stays the base; each piece of evidence moves a candidate by a bounded amount.
Measured on the faq-dev set (bench/answers.py): see the README.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge import answer_types
from knowledge.chunking import parse_chunk
from knowledge.coverage import coverage
from knowledge.retrieval import Candidate
from knowledge.terms import Term, content_terms
from knowledge.vocabulary import Vocabulary

RERANK_TOP = 15
QUESTION_FLOOR = 0.86  # below this cosine a chunk's question says nothing about the customer's
W_QUESTION = 6.0
W_COVERAGE = 2.0  # the question's own words settle what e5 leaves close (across languages most of all)
W_TYPE = 0.8
W_LISTED = 2.0  # as much as the question's words: a list introduced as what is asked about is the answer
LISTED_ZIPF = 5.5  # a word rarer than this can name what a list is of ("cards", 作業系統)


@dataclass
class Evidence:
    question_match: float
    """Cosine of the customer's question and the chunk's FAQ question (0 when it has none or it missed)."""
    coverage: float
    """Share of the question's term weight found in the chunk, over the terms in the chunk's script."""
    answer_type: float
    """+1 carries the kind of fact asked for, -1 carries none, 0 no kind asked."""


def question_match(text: str, units: dict[int, tuple[float, str]]) -> float:
    """How closely the customer's question matched the chunk's own FAQ question (0 if it has none)."""
    _, question, _ = parse_chunk(text)
    if not question:
        return 0.0
    return max((score for score, unit in units.values() if unit == question), default=0.0)


def lists_asked(terms: list[Term], text: str) -> bool:
    """The chunk lists what the question asks to choose from: a lead-in that names it ("We accept these
    credit and debit cards:") followed by items. ("Which cards do you take?" Lists are on every page; one
    introduced as the thing asked about is the answer.)"""
    _, _, lines = parse_chunk(text)
    for line, following in zip(lines, lines[1:], strict=False):
        if line.endswith((":", "：")) and following.startswith("- "):
            named = Vocabulary.of([line])
            if any(named.covers(t) for t in terms if t.zipf < LISTED_ZIPF):
                return True
    return False


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
        listed = kinds[:1] == ["options"] and lists_asked(terms, candidate.text)
        candidate.score += (
            W_QUESTION * max(0.0, found.question_match - QUESTION_FLOOR)
            + W_COVERAGE * found.coverage
            + W_TYPE * found.answer_type
            + W_LISTED * listed
        )
    return sorted(head, key=lambda c: c.score, reverse=True) + tail
