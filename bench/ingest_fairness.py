"""Another tenant's search while a large upload is indexed, against idle, in one run (issue 18).

The shipped server (uvicorn app:app, embedded defaults, in-process worker) on a throwaway data dir. Tenant B
has the demo knowledge; its search latency (each question new, so each embeds its query) is measured idle,
then while tenant A's upload of a few MB of text with long unpunctuated runs is being indexed. Then A's
source is deleted, which cancels the run. Also the memory of ingestion's twin model handle.

    .venv/bin/python bench/ingest_fairness.py [--megabytes 3] [--searches 60]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import percentile, server_process  # noqa: E402
from knowledge.demo import demo_files  # noqa: E402

ADMIN = "pa_bench-admin-key-0123456789abcdef"
QUESTIONS = [
    "how much is a facial",
    "when do you open",
    "can I park",
    "do you sell gift cards",
    "refund policy",
]


def unpunctuated_text(megabytes: float) -> bytes:
    """Runs of ~20,000 words without a sentence end (a log, an export), separated by blank lines."""
    rng = random.Random(7)
    vocabulary = [f"{rng.choice('bcdfgklmnprst')}{rng.choice('aeiou')}{n}" for n in range(5000)]
    runs, size = [], 0
    while size < megabytes * 1024 * 1024:
        run = " ".join(rng.choice(vocabulary) for _ in range(20_000))
        runs.append(run)
        size += len(run) + 2
    return "\n\n".join(runs).encode()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def twin_memory_mb() -> float:
    """RSS growth of making ingestion's twin handle and embedding with it (a fresh process)."""
    code = (
        "from pathlib import Path;from knowledge.embeddings import LocalE5Embedder as E\n"
        "rss=lambda:int([l for l in Path('/proc/self/status').read_text().splitlines() "
        "if l.startswith('VmRSS:')][0].split()[1])/1024\n"
        "e=E();e.passages(['warm up']);a=rss();t=e.for_ingest();t.passages(['warm up']);print(rss()-a)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def search_latencies(client: httpx.Client, key: str, n: int, tag: str) -> list[float]:
    times = []
    for i in range(n):
        question = f"{QUESTIONS[i % len(QUESTIONS)]} {tag} {i}"  # new text: the query is embedded each time
        start = time.perf_counter()
        response = client.post("/v1/knowledge/search", json={"query": question}, headers=auth(key))
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        time.sleep(0.05)
    return times


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def tenant(client: httpx.Client, name: str) -> str:
    response = client.post("/v1/tenants", json={"name": name}, headers=auth(ADMIN))
    response.raise_for_status()
    return str(response.json()["api_key"])


def status(client: httpx.Client, key: str, source_id: str) -> str:
    return str(client.get(f"/v1/knowledge/sources/{source_id}", headers=auth(key)).json()["status"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=3.0)
    parser.add_argument("--searches", type=int, default=60)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        env = {**os.environ, "PARLEY_DATA_DIR": tmp, "PARLEY_ADMIN_KEY": ADMIN, "PARLEY_GC_FREEZE": "false"}
        with (
            server_process(["app:app"], env, root) as (base, server),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            run(client, server.pid, args.megabytes, args.searches)
    print(f"ingestion's twin model handle: +{twin_memory_mb():.0f} MB RSS")
    return 0


def run(client: httpx.Client, pid: int, megabytes: float, searches: int) -> None:
    a, b = tenant(client, "Uploader"), tenant(client, "Searcher")
    for name, data in demo_files().items():
        client.post("/v1/knowledge/sources", files={"file": (name, data)}, headers=auth(b)).raise_for_status()
    while any(
        s["status"] in ("queued", "indexing")
        for s in client.get("/v1/knowledge/sources", headers=auth(b)).json()["sources"]
    ):
        time.sleep(0.2)
    search_latencies(client, b, 5, "warm")
    idle = search_latencies(client, b, searches, "idle")
    rss_idle = rss_mb(pid)
    upload = unpunctuated_text(megabytes)
    source = client.post(
        "/v1/knowledge/sources", files={"file": ("export.txt", upload)}, headers=auth(a)
    ).json()
    while status(client, a, source["id"]) != "indexing":
        time.sleep(0.05)
    time.sleep(2)  # past reading and chunking: embedding is under way
    busy = search_latencies(client, b, searches, "busy")
    still = status(client, a, source["id"])
    rss_busy = rss_mb(pid)
    start = time.perf_counter()
    client.delete(f"/v1/knowledge/sources/{source['id']}", headers=auth(a)).raise_for_status()
    deleted_ms = (time.perf_counter() - start) * 1000
    after = search_latencies(client, b, 10, "after")
    print(
        f"upload: {len(upload) / 1024 / 1024:.1f} MB of text in runs of 20,000 words without a sentence end"
    )
    print(f"{'tenant B search':<34}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    for label, values in (("idle", idle), (f"while A's upload indexes ({still})", busy)):
        print(
            f"{label:<34}{percentile(values, 0.5):>8.1f}{percentile(values, 0.95):>8.1f}{max(values):>8.1f}"
        )
    ratio = percentile(busy, 0.95) / percentile(idle, 0.95)
    print(f"p95 while indexing / idle: {ratio:.2f}x (goal <= 3x)")
    print(
        f"delete of the indexing source answered in {deleted_ms:.0f} ms; B's search after: "
        f"p50 {percentile(after, 0.5):.1f} ms"
    )
    print(f"server RSS: {rss_idle:.0f} MB idle, {rss_busy:.0f} MB while indexing")


if __name__ == "__main__":
    raise SystemExit(main())
