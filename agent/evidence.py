"""Which sentences, list items or rows of the retrieved passages carry the answer to this question.

Retrieval scored every unit of a chunk against the question (knowledge/retrieval.py keeps the units'
cosines); this adds what a cosine misses: the kind of fact asked for (a price, a duration, a count, a
contact) present in the unit, and the question's own words. The best units are marked for the model
(agent/prompt.py shows them with »): a real model reads them as a hint, the offline responder answers
with them. Passages are also put in the customer's language first when the knowledge says the same
thing in both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.language import customer_language
from knowledge import answer_types, lexical
from knowledge.chunking import parse_chunk, split_sentences
from knowledge.coverage import coverage, holds
from knowledge.retrieval import translated_tokens
from knowledge.services import SearchHit
from knowledge.terms import Term, content_terms
from knowledge.vocabulary import Vocabulary

UNITS_BY_LENGTH = {"brief": 1, "moderate": 3, "detailed": 5}
FAQ_WHOLE = {"brief": 2, "moderate": 5, "detailed": 8}  # a FAQ answer this short is given whole
W_TYPE = 0.04
W_WORDS = 0.06
UNIT_MARGIN = 0.005
FIRST_UNIT = 0.006  # an FAQ's answer usually starts with its point
SAME_ANSWER = 0.04  # a translation scores a little lower against the question than the original
PARALLEL = 0.5
COMPLEMENT_ZIPF = 4.5  # words rarer than this say what the question is about
COMPLEMENT_COSINE = 0.05
NAMED_ZIPF = 4.0  # a follow-up's word rarer than this names a new thing to look for ("PayPal", "refund")
_YES_NO = re.compile(
    r"^(yes|no|yep|nope|sure|correct|not yet|是|否|可以|不可以|不行|有|沒有|不會|會)\b[.!,，。！]?", re.I
)
_LEAD_IN = re.compile(r"[:：]$")
# A table row as chunking renders it ("5222: messaging", "Plan: Pro; Price: US$9").
_ROW = re.compile(r"^[^:：;]{1,40}: \S")
LISTED = 8  # the items or rows a lead-in brings along
REPEAT_DEPTH = 3  # passages looked at for one that does not repeat the previous reply
REPEAT_WORDS = 0.25  # the least share of the question's words such a passage must hold
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass
class Unit:
    text: str
    item: bool
    score: float = 0.0
    marked: bool = False


def _listed(unit: Unit) -> bool:
    """A list item or a table row: one entry of what a lead-in ("We accept:", 以下連接埠…：) lists."""
    return unit.item or bool(_ROW.match(unit.text))


def _command(unit: Unit) -> bool:
    """A shell line to run ("$ /usr/local/bin/k3s-uninstall.sh")."""
    return answer_types.carries(unit.text, "steps")


def units_of(text: str) -> tuple[str, str, list[Unit]]:
    """A chunk as (heading path, FAQ question, its units in order)."""
    title, question, lines = parse_chunk(text)
    units: list[Unit] = []
    for line in lines:
        if line.startswith("- "):
            units.append(Unit(line[2:].strip(), item=True))
        else:
            units.extend(Unit(s, item=False) for s in split_sentences(line))
    return title, question, units


def _matched(hit_units: dict[int, tuple[float, str]], context: str) -> dict[str, float]:
    """The units' cosines keyed by their own text (units are embedded as "context: text")."""
    prefix = f"{context}: " if context else ""
    scores: dict[str, float] = {}
    for score, text in hit_units.values():
        piece = text[len(prefix) :] if prefix and text.startswith(prefix) else text
        scores[piece] = max(score, scores.get(piece, 0.0))
    return scores


def score_units(
    question: str, text: str, hit_units: dict[int, tuple[float, str]], message: str = ""
) -> tuple[str, str, list[Unit]]:
    """Each unit's cosine with the standalone question, plus the kind of fact and the words the customer's
    own message asks for (a follow-up's carried subject would favour every unit of its page)."""
    title, faq_question, units = units_of(text)
    context = faq_question or (title.split(" › ")[-1] if title else "")
    cosines = _matched(hit_units, context)
    floor = min(cosines.values(), default=0.8) - 0.02
    kinds = answer_types.asked(message or question) or answer_types.asked(question)
    own = message or question
    # The customer's words, and their translations for a passage in the other language, at half weight;
    # a unit is measured against the words in its own script (an English sentence cannot hold 刪除).
    asked = {token: 1.0 for token in lexical.tokens(own)}
    for token, weight in translated_tokens(own).items():
        asked.setdefault(token, weight)
    by_script = {han: {t: w for t, w in asked.items() if bool(_HAN.match(t)) == han} for han in (True, False)}
    for position, unit in enumerate(units):
        said = set(lexical.tokens(unit.text))
        scripts = [by_script[han] for han in (True, False) if any(bool(_HAN.match(t)) == han for t in said)]
        total = sum(w for script in scripts for w in script.values())
        matched = sum(w for script in scripts for t, w in script.items() if t in said)
        overlap = matched / total if total else 0.0
        # an item of a list or a row of a table is one of the options asked for ("Which cards do you
        # take?": "- Visa")
        # (Commands all look alike to this check: `mark` adds the one closest to the question instead.)
        typed = (
            1.0
            if kinds
            and kinds[0] != "steps"
            and (answer_types.carries(unit.text, kinds[0]) or kinds[0] == "options" and _listed(unit))
            else 0.0
        )
        unit.score = (
            cosines.get(unit.text, floor)
            + W_TYPE * typed
            + W_WORDS * overlap
            + (FIRST_UNIT if position == 0 else 0.0)
        )
    return title, faq_question, units


def mark(question: str, units: list[Unit], length: str, faq: bool = False) -> None:
    """Mark the best units: as many as the response length allows, a list with its lead-in, and the
    plain "Yes."/"No." that opens an answer to a yes/no question. A FAQ's answer that fits the length
    is marked whole: it was written as the answer to that question."""
    if not units:
        return
    wanted = UNITS_BY_LENGTH.get(length, 2)
    if faq and len(units) <= FAQ_WHOLE.get(length, wanted + 1):
        for unit in units:
            unit.marked = True
        return
    ranked = sorted(range(len(units)), key=lambda i: units[i].score, reverse=True)
    for i in ranked[:wanted]:
        units[i].marked = True
        if _LEAD_IN.search(units[i].text):  # "We accept:" or "run:" says nothing without what follows
            for item in units[i + 1 : i + 1 + LISTED]:
                if not (_listed(item) or _command(item)):
                    break
                item.marked = True
    if answer_types.asked(question)[:1] == ["options"]:
        _whole_lists(units)  # "Which cards do you take?": every card, with what they are
    commands = [i for i in ranked if _command(units[i])]
    if "steps" in answer_types.asked(question) and commands and not any(units[i].marked for i in commands):
        units[commands[0]].marked = True  # "how do I uninstall it?": the command is the answer
    if _YES_NO.match(units[0].text) and len(units[0].text) < 40 and not answer_types.asked(question):
        units[0].marked = True  # "Yes." opens the answer to a yes/no question, not to "how long"


def _whole_lists(units: list[Unit]) -> None:
    """A marked item of a list brings the whole list and its lead-in: the options asked for are all of
    them, not the two closest to the question."""
    for i, unit in enumerate(units):
        if not (unit.marked and _listed(unit)):
            continue
        start = i
        while start > 0 and _listed(units[start - 1]):
            start -= 1
        end = i
        while end + 1 < len(units) and _listed(units[end + 1]) and end + 1 - start < LISTED:
            end += 1
        lead_in = start - 1 if start > 0 and _LEAD_IN.search(units[start - 1].text) else start
        for listed in units[lead_in : end + 1]:
            listed.marked = True


def complementary(question: str, hits: list[SearchHit]) -> list[bool]:
    """Which passages the answer stands on: the first, and any other close one that holds a specific word
    of the question the first lacks ("a deposit for the Gold Lifting Facial": the price row and the
    deposit rule)."""
    if not hits:
        return []
    terms = [t for t in content_terms(question) if t.zipf <= COMPLEMENT_ZIPF]
    first = Vocabulary.of([hits[0].text])
    lacking = [t for t in terms if not first.covers(t)]
    used = [True]
    for hit in hits[1:]:
        close = hits[0].dense - hit.dense <= COMPLEMENT_COSINE
        words = Vocabulary.of([hit.text])
        adds = [t for t in lacking if words.covers(t)]
        used.append(close and bool(adds))
        lacking = [t for t in lacking if t not in adds]
    return used


def best_unit(hit: SearchHit, question: str, message: str = "") -> float:
    """The passage's best unit score: how well its most relevant sentence, item or row fits."""
    return max((u.score for u in score_units(question, hit.text, hit.units, message)[2]), default=0.0)


def _names_any(text: str, terms: list[Term]) -> bool:
    words = Vocabulary.of([text])
    return any(holds(words, t) for t in terms)


def answer_first(hits: list[SearchHit], question: str, message: str) -> list[SearchHit]:
    """For a follow-up: the passage whose best unit fits the customer's own words clearly best goes first.
    The carried-over subject favours the passage that answered the question before ("what about
    PayPal?" after "Which cards do you take?"); the unit that states the new thing is elsewhere. (For a
    question that stands alone the reranked order is kept: there it is the better judge.)"""
    if len(hits) < 2:
        return hits
    # Only a specific thing the message names and the first passage lacks ("PayPal") sends it elsewhere:
    # "any upper limit?" or 咁最貴嗰個呢？ asks about the subject before, not about any page's "limit".
    first = Vocabulary.of([hits[0].text])
    named = [
        t
        for t in content_terms(message)
        if (t.name or t.zipf < NAMED_ZIPF) and not t.text.isdigit() and not holds(first, t)
    ]
    if not named:
        return hits
    # Cosines across languages run lower: only passages in the first one's language compete.
    scores = [
        best_unit(h, question, message) if h.lang == hits[0].lang and _names_any(h.text, named) else 0.0
        for h in hits
    ]
    scores[0] = best_unit(hits[0], question, message)
    best = max(range(len(hits)), key=lambda i: scores[i])
    if best and scores[best] > scores[0] + UNIT_MARGIN:
        return [hits[best], *hits[:best], *hits[best + 1 :]]
    return hits


def repeats(hit: SearchHit, question: str, length: str, message: str, said: str) -> bool:
    """Whether every unit the answer would take from this passage is already in the reply before."""
    _, faq_question, units = score_units(question, hit.text, hit.units, message)
    mark(question, units, length, faq=bool(faq_question))
    marked = [u.text for u in units if u.marked]
    return bool(marked) and all(text in said for text in marked)


def not_repeated(
    hits: list[SearchHit], question: str, length: str, message: str, said: str
) -> list[SearchHit]:
    """For a follow-up ("is there a maximum?"): when the first passage would only say again what the
    previous reply said, the next passage that adds something goes first. The customer asked again
    because that reply did not say it."""
    if not said or not hits or not repeats(hits[0], question, length, message, said):
        return hits
    # Only a passage about the same subject: one holding little of the question's words would answer
    # something else ("咁最高級呢？" after a table of referral tiers is not about upgrading a plan).
    terms = content_terms(question)
    needed = max(REPEAT_WORDS, coverage(terms, hits[0].text) / 2)
    for i, hit in enumerate(hits[1:REPEAT_DEPTH], start=1):
        if coverage(terms, hit.text) >= needed and not repeats(hit, question, length, message, said):
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


def topic(question: str, answered: dict[str, Any], language: str) -> str:
    """What a follow-up will be about: the question, with the FAQ question of the passage that answered
    it when that is in the customer's language ("What do I get for inviting a friend?" + "How do I get
    extra space?": "is there a maximum?" is then about extra space, not about friends)."""
    faq_question = answered.get("question") or ""
    if not faq_question or customer_language(faq_question) != language or faq_question in question:
        return question
    return f"{question} {faq_question}"


def passage(
    hit: SearchHit, question: str, length: str, used: bool = True, message: str = ""
) -> dict[str, Any]:
    """A retrieved chunk as the model gets it: where it is from, its question, its units (the best marked
    when the answer stands on it)."""
    title, faq_question, units = score_units(question, hit.text, hit.units, message)
    if used:
        mark(question, units, length, faq=bool(faq_question))
    return {
        "id": hit.source_id,
        "name": hit.source_name,
        "text": hit.text,
        "score": hit.score,
        "dense": hit.dense,
        "lang": hit.lang,
        "title": title,
        "question": faq_question,
        "units": [{"text": u.text, "item": u.item, "marked": u.marked} for u in units],
    }


def _anchors(text: str) -> set[str]:
    """What a translation keeps unchanged: numbers, names and codes written in Latin letters, addresses."""
    _, _, lines = parse_chunk(text)
    body = "\n".join(lines)
    names = {t.text for t in content_terms(body) if t.name and not t.han}
    return names | set(re.findall(r"\d+(?:[.,]\d+)?|[\w.+-]+@[\w.-]+", body))


def parallel(a: str, b: str) -> bool:
    """Whether two passages say the same thing in two languages: the same numbers and names."""
    left, right = _anchors(a), _anchors(b)
    return bool(left and right) and len(left & right) / len(left | right) >= PARALLEL


def customer_language_first(hits: list[SearchHit], language: str) -> list[SearchHit]:
    """The same passage in the customer's language goes first: a bilingual FAQ says the same thing
    twice (with the same numbers and names), and the customer should get their own language."""
    if not hits or hits[0].lang == language:
        return hits
    for i, hit in enumerate(hits[1:5], start=1):
        if (
            hit.lang == language
            and hits[0].dense - hit.dense <= SAME_ANSWER
            and parallel(hits[0].text, hit.text)
        ):
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits
