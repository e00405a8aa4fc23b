"""Metrics that need no model: ragas's string and non-LLM context metrics, and our own fact and retrieval
metrics (ragas has no Recall@k or MRR over facts). All in [0, 1], higher is better.

- exact_match, string_similarity (Levenshtein), rouge_l, chrf: the reply against the reference answer.
  ROUGE is given ASCII-spelled tokens so Chinese is compared character by character (text.py).
- fact_recall: the share of reference facts the reply states.
- recall_at_k, mrr: the share of reference facts (or reference sources) found in the first k passages
  retrieved, and 1/rank of the first passage holding one.
- context_recall, context_precision: ragas's non-LLM versions against reference contexts.
- grounded: the share of the reply's tokens that occur in the retrieved passages (needs no reference;
  a reply the model made up scores low).
"""

from __future__ import annotations

# Importing evals.offline runs evals/__init__.py first: ragas telemetry is off before ragas loads.
import re
from typing import Any

from ragas.dataset_schema import SingleTurnSample
from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
from ragas.metrics._context_recall import NonLLMContextRecall
from ragas.metrics.collections import (
    CHRFScore,
    DistanceMeasure,
    ExactMatch,
    NonLLMStringSimilarity,
    RougeScore,
)

from evals.dataset import Case
from evals.runner import CaseRun
from evals.text import ascii_tokens, contains, tokens

K = 5

_exact = ExactMatch()
_similarity = NonLLMStringSimilarity(distance_measure=DistanceMeasure.LEVENSHTEIN)
_rouge = RougeScore(rouge_type="rougeL", mode="fmeasure")
_chrf = CHRFScore()
_context_recall = NonLLMContextRecall()
_context_precision = NonLLMContextPrecisionWithReference()


def _plain(text: str) -> str:
    """For exact match: one spacing, no case, no closing punctuation."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".!?。！？").casefold()


async def text_scores(reference: str, reply: str) -> dict[str, float]:
    """The reply against the reference answer (ragas string metrics)."""
    return {
        "exact_match": (await _exact.ascore(reference=_plain(reference), response=_plain(reply))).value,
        "string_similarity": (await _similarity.ascore(reference=reference, response=reply)).value,
        "rouge_l": (
            await _rouge.ascore(reference=ascii_tokens(reference), response=ascii_tokens(reply))
        ).value,
        "chrf": (await _chrf.ascore(reference=reference, response=reply)).value,
    }


def fact_recall(facts: list[str], reply: str) -> float:
    return sum(contains(reply, fact) for fact in facts) / len(facts)


def retrieval_scores(case: Case, contexts: list[dict[str, str]], k: int = K) -> dict[str, float]:
    """Recall@k and MRR: relevant passages hold a reference fact, or come from a reference source."""
    top = contexts[:k]
    sources = {s.casefold() for s in case.reference_sources}

    def from_source(passage: dict[str, str]) -> bool:
        return passage.get("id", "").casefold() in sources or passage.get("name", "").casefold() in sources

    def relevant(passage: dict[str, str]) -> bool:
        return any(contains(passage["text"], f) for f in case.reference_facts) or from_source(passage)

    if case.reference_facts:
        found = [any(contains(p["text"], fact) for p in top) for fact in case.reference_facts]
    else:
        found = [
            any(s in (p.get("id", "").casefold(), p.get("name", "").casefold()) for p in top) for s in sources
        ]
    rank = next((i for i, p in enumerate(top, start=1) if relevant(p)), None)
    return {f"recall_at_{k}": sum(found) / len(found), "mrr": 1 / rank if rank else 0.0}


async def context_scores(reference_contexts: list[str], retrieved: list[str]) -> dict[str, float]:
    if not retrieved:
        return {"context_recall": 0.0, "context_precision": 0.0}
    sample = SingleTurnSample(retrieved_contexts=retrieved, reference_contexts=reference_contexts)
    return {
        "context_recall": float(await _context_recall.single_turn_ascore(sample)),
        "context_precision": float(await _context_precision.single_turn_ascore(sample)),
    }


def grounded(reply: str, contexts: list[dict[str, str]]) -> float | None:
    words = tokens(reply)
    if not words:
        return None
    known = set(tokens(" ".join(p["text"] for p in contexts)))
    return sum(w in known for w in words) / len(words)


async def offline_scores(case: Case, run: CaseRun) -> dict[str, Any]:
    scores: dict[str, Any] = {}
    if case.reference:
        scores.update(await text_scores(case.reference, run.reply))
    if case.reference_facts:
        scores["fact_recall"] = fact_recall(case.reference_facts, run.reply)
    if case.reference_facts or case.reference_sources:
        scores.update(retrieval_scores(case, run.contexts))
    if case.reference_contexts:
        scores.update(await context_scores(case.reference_contexts, [p["text"] for p in run.contexts]))
    if case.kind != "behaviour":
        value = grounded(run.reply, run.contexts)
        if value is not None:
            scores["grounded"] = value
    return scores
