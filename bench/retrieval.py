"""Retrieval quality over the demo knowledge: Recall@1, Recall@5 and MRR for dense-only,
sparse-only, the hybrid fusion and what search returns (fusion + rerank), overall and for cross-lingual
questions. The demo is knowledge this project wrote: bench/answers.py measures on real text.

    .venv/bin/python bench/retrieval.py [-v]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from typing import Literal  # noqa: E402

from bench.common import environment, load_demo  # noqa: E402
from bench.retrieval_cases import CASES  # noqa: E402
from knowledge.retrieval import Mode  # noqa: E402


def first_rank(texts: list[str], fact: str) -> int | None:
    return next((i for i, t in enumerate(texts) if fact in t), None)


def main(verbose: bool = False) -> None:
    with environment() as env:
        tenant = load_demo(env)
        zh = sum(1 for q, _, _ in CASES if any("\u4e00" <= ch <= "\u9fff" for ch in q))
        cross = sum(1 for *_, tag in CASES if ">" in tag)
        print(
            f"{len(CASES)} questions ({zh} in Chinese, {cross} cross-lingual); "
            f"{env.knowledge.index.count(tenant)} chunks"
        )
        print(f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'MRR':>6} | {'cross R@5':>9} {'cross MRR':>9}")
        modes: list[Mode | Literal["shipped"]] = ["dense", "sparse", "hybrid", "shipped"]
        for mode in modes:
            ranks: list[tuple[int | None, str]] = []
            for question, fact, tag in CASES:
                if mode == "shipped":  # hybrid, then the rerank: what /v1/knowledge/search returns
                    texts = [h.text for h in env.knowledge.search(tenant, question, k=5)]
                else:
                    texts = [c.text for c in env.knowledge.retriever.search(tenant, question, k=5, mode=mode)]
                rank = first_rank(texts, fact)
                ranks.append((rank, tag))
                if verbose and mode == "shipped" and rank != 0:
                    print(f"  miss@1 [{tag}] {question!r} rank={rank} top={texts[0][:80]!r}" if texts else "")

            def stats(rows: list[tuple[int | None, str]]) -> tuple[float, float, float]:
                n = len(rows) or 1
                r1 = sum(1 for r, _ in rows if r == 0) / n
                r5 = sum(1 for r, _ in rows if r is not None) / n
                mrr = sum(1 / (r + 1) for r, _ in rows if r is not None) / n
                return r1, r5, mrr

            r1, r5, mrr = stats(ranks)
            _, cr5, cmrr = stats([row for row in ranks if ">" in row[1]])
            print(f"{mode:<8} {r1:6.3f} {r5:6.3f} {mrr:6.3f} | {cr5:9.3f} {cmrr:9.3f}")


if __name__ == "__main__":
    main(verbose="-v" in sys.argv)
