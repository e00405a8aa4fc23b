"""The answerability gate: does the retrieved knowledge answer *this* question, or should the agent say
it does not know (and count a failed answer toward the low-confidence handoff)?

e5's cosine alone cannot tell: a near-domain question the knowledge does not answer ("Do you accept
WeChat Pay?" over a payments page) scores as high as one it does. Two kinds of evidence, together:
1. names the knowledge never mentions. A name or code the customer wrote ("WeChat", "GPU", ".hk", see
   knowledge/terms.py) that appears nowhere in the tenant's knowledge means the question is about
   something else. (It can also be mere context, "I'm in Hong Kong: what currency do you bill in?"; a
   margin that would tell the two apart on one tenant's knowledge did not hold on another's.) So do
   rare English words the knowledge holds in neither language when they carry most of the question
   ("instalments", "a reseller programme"); other ordinary words are left to the margin.
2. a margin over this tenant's unanswerable questions. Generic questions no business answers
   (agent/gate_probes.py) are searched in the tenant's knowledge once per knowledge version; their
   median best cosine is how close "unanswerable" comes there, per question language and passage
   language (e5 scores across languages lower). A question must beat it by MIN_MARGIN, give or take
   what the passage holds of the question's own words (in either language), or show its own FAQ question
   was matched (a paraphrase). The reranked first passage is judged, and the second too when it holds the
   question's words (e5 may put a same-language FAQ entry closer than the other-language page that answers).
Calibrated on the faq-dev set (bench/answers.py prints abstention precision and recall).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.gate_probes import PROBES
from agent.standalone import asked_part
from knowledge.chunking import split_sentences
from knowledge.coverage import coverage, holds, term_weight
from knowledge.rerank import question_match
from knowledge.services import KnowledgeServices, SearchHit
from knowledge.tenant_cache import PerTenant
from knowledge.terms import Term, content_terms
from knowledge.vocabulary import Vocabulary

MIN_MARGIN = 0.0
W_WORDS = 0.08
WORDS_PIVOT = 0.4  # the share of the question's (rarity-weighted) words at which cosine alone decides
PARAPHRASE = 0.93  # the customer's question matched the chunk's own FAQ question this closely
FOLLOW_UP_DEPTH = 3
PROBE_DEPTH = 10  # hits per probe: deep enough to find the best passage in each language
MIN_PROBES = 5
CANDIDATES = 2  # passages judged: the reranked first, and the next when it holds the question's words
RARE_ZIPF = 4.5  # words rarer than this say what a question is about ("hotline" 3.0, "plan" 5.3)
RARE_ZIPFS = (RARE_ZIPF, 5.0)  # absent words are judged among the rarest, then among the fairly rare too
ABSENT_SHARE = 0.5  # the share of those words' weight the knowledge must lack for the question to be declined
ORDINALS = frozenset(
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
)


@dataclass(frozen=True)
class GateVerdict:
    answerable: bool
    reason: str
    margin: float = 0.0
    """The top passage's cosine above the tenant's unanswerable median (per question language)."""
    missing: tuple[str, ...] = field(default_factory=tuple)
    """Specific words of the question the knowledge never mentions."""
    best: int = 0
    """Which of the hits answers (the second when the first does not but it holds the question's words)."""


def specific(term: Term) -> bool:
    """A name or code the customer wrote ("WeChat", "GPU", ".hk"), or a word no dictionary knows.
    Ordinary words are left to the margin: an English word may well be in the knowledge in Chinese
    ("firewall" as 防火牆), and Chinese words cut from a run of characters are not reliable enough."""
    if term.han or term.text.isdigit():
        return False
    return term.name or term.zipf == 0.0


# A device that knowledge names by its platform or its app store: "on my iPhone" of a page about iOS.
PLATFORM_OF: dict[str, tuple[str, ...]] = {
    "iphone": ("ios", "app store"),
    "ipad": ("ios", "ipados", "app store"),
    "macbook": ("macos", "mac"),
    "imac": ("macos", "mac"),
    "pixel": ("android", "play store"),
    "galaxy": ("android", "play store"),
    "samsung": ("android", "play store"),
    "huawei": ("android", "harmonyos"),
}


def mentioned(term: Term, vocabulary: Vocabulary) -> bool:
    """The term, or for a device the platform it runs, is somewhere in the knowledge."""
    platforms = PLATFORM_OF.get(term.text.lower().removesuffix("s"), ())
    return vocabulary.covers(term) or any(all(w in vocabulary.words for w in p.split()) for p in platforms)


def named_anywhere(term: Term, vocabulary: Vocabulary) -> bool:
    """A name is in the knowledge as written, by what it stands for ("EU" where the page says "European
    Union"), or in the other language ("EU" where it says 歐盟)."""
    return mentioned(term, vocabulary) or holds(vocabulary, term)


def missing_terms(question: str, vocabulary: Vocabulary) -> list[str]:
    """The names of the question the knowledge never mentions. Only the sentences that ask are read when
    the message also says something: "I'm in Singapore so I'd rather pay in SGD" beside "What currency do
    you charge in?" is the customer's situation, not what the knowledge must name."""
    terms = content_terms(asked_sentences(question))
    return [t.text for t in terms if specific(t) and not named_anywhere(t, vocabulary)]


def asked_sentences(question: str) -> str:
    """The sentences ending in a question mark, or the whole message when none does (or all do)."""
    asked = [s for s in split_sentences(question) if s.endswith(("?", "？"))]
    return " ".join(asked) if asked else question


def absent_words(question: str, vocabulary: Vocabulary) -> list[str]:
    """The question's rare English words that the knowledge holds neither as written nor in translation,
    when they carry most of what the question is about ("Can I pay in instalments?", "a reseller
    programme?"). Judged on its rarest words, then again with the less rare ones in ("Can I buy a gift
    card?": gift): either way, if most of the question is missing, the knowledge is about something else.
    Chinese words are left out: cut from a run of characters, a word the knowledge lacks is as often a
    mis-cut (我怕, 多付) as a topic."""
    for rare in RARE_ZIPFS:
        asked = asked_part(asked_sentences(question))
        terms = [t for t in content_terms(asked) if t.zipf < rare and not t.text.isdigit()]
        absent = [
            t
            for t in terms
            if not t.han
            and t.text.lower() not in ORDINALS
            and not mentioned(t, vocabulary)
            and not holds(vocabulary, t)
        ]
        # Weighed against this knowledge: the business's own name, on most of its pages, says little of
        # what the question is about ("Is there a lifetime Lumen plan?" is about "lifetime").
        total = sum(term_weight(t, vocabulary) for t in terms)
        share = sum(term_weight(t, vocabulary) for t in absent) / total if total else 0.0
        if share >= ABSENT_SHARE:
            return [t.text for t in absent]
    return []


class AnswerabilityGate:
    def __init__(self, knowledge: KnowledgeServices) -> None:
        self._knowledge = knowledge
        self._levels: PerTenant[dict[tuple[str, str], float]] = PerTenant(self._probe, knowledge.fingerprint)

    def _probe(self, tenant_id: str) -> dict[tuple[str, str], float]:
        """Per (question language, passage language): the median best cosine of the probes. e5 scores a
        passage in the question's own language higher, so each pair has its own level."""
        best: dict[tuple[str, str], list[float]] = {}
        for language, probes in PROBES.items():
            for probe in probes:
                tops: dict[str, float] = {}
                # The retriever's own candidates: the best cosine per language is all a level needs.
                for hit in self._knowledge.retriever.search(tenant_id, probe, k=PROBE_DEPTH):
                    for passage_language in _languages(hit.lang):
                        tops[passage_language] = max(tops.get(passage_language, 0.0), hit.dense)
                for passage_language, top in tops.items():
                    best.setdefault((language, passage_language), []).append(top)
        return {pair: statistics.median(values) for pair, values in best.items() if len(values) >= MIN_PROBES}

    def level(self, tenant_id: str, language: str, passage_language: str) -> float:
        levels = self._levels.get(tenant_id)
        pairs = [levels[(language, p)] for p in _languages(passage_language) if (language, p) in levels]
        if pairs:
            return min(pairs)
        same = [v for (q, _), v in levels.items() if q == language]
        return min(same) if same else 1.0

    def judge(
        self,
        tenant_id: str,
        question: str,
        language: str,
        hits: list[SearchHit],
        follows: Sequence[str] = (),
        message: str = "",
    ) -> GateVerdict:
        """`follows`: for a follow-up, the chunks the previous answer stood on (the subject's passages);
        `message`: the customer's own words (the question is the standalone reading of them)."""
        if not hits:
            return GateVerdict(False, "nothing in the knowledge")
        top = hits[0]
        margin = top.dense - self.level(tenant_id, language, top.lang)
        words = self._knowledge.vocabulary(tenant_id)
        missing = missing_terms(question, words)
        # A follow-up carries the words of a subject the gate let through before: what it adds is in the
        # customer's own message ("and a lifetime plan?", "what about gift cards?").
        missing = missing or absent_words(message if follows and message else question, words)
        if missing:
            reason = "the knowledge never mentions " + ", ".join(missing)
            return GateVerdict(False, reason, margin=margin, missing=tuple(missing))
        if follows and any(hit.chunk_id in follows for hit in hits[:FOLLOW_UP_DEPTH]):
            # "咁最高級呢？" is short and vague, but the passage that answered the question before is here.
            return GateVerdict(True, "a follow-up on the passage before", margin=margin)
        terms = content_terms(question)
        reason = ""
        for i, hit in enumerate(hits[:CANDIDATES]):
            # The question's own words (or their translations) in the passage move the bar: a passage that
            # holds them may be a little further in cosine, one that holds none of them must be clearly closer.
            held = coverage(terms, hit.text, words)
            if i and held < WORDS_PIVOT:
                continue  # ranked lower and holding little of the question: no better than the first
            close = hit.dense - self.level(tenant_id, language, hit.lang)
            # A paraphrase of the chunk's FAQ question passes, if it also shares the question's words: "Do you
            # sell a lifetime plan?" reads much like "Do you have family plans?" to e5.
            paraphrase = question_match(hit.text, hit.units) >= PARAPHRASE and held >= WORDS_PIVOT
            if paraphrase or close + W_WORDS * (held - WORDS_PIVOT) >= MIN_MARGIN:
                found = "paraphrase of a FAQ question" if paraphrase else "close passage"
                return GateVerdict(True, found, margin=close, best=i)
            reason = reason or f"no passage close enough (margin {close:+.3f}, words held {held:.2f})"
        return GateVerdict(False, reason, margin=margin)


def _languages(chunk_language: str) -> tuple[str, ...]:
    """A mixed chunk reads as either language."""
    return ("en", "zh") if chunk_language == "mixed" else (chunk_language,)
