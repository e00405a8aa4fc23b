"""Time to reply under load: from a WhatsApp webhook's acknowledgement to the reply reaching the Graph API.

Signed WhatsApp messages arrive at a steady rate, each the first message of a new customer with a question
worded for that customer alone (no cached query embedding helps), so every one needs an agent turn with
the offline model. They go to a real `uvicorn app:app` process (HTTP only: PARLEY_WORKER=false) on a
PostgreSQL database of its own, created here and dropped after; `parley worker --kinds channels.ingest,
channels.reply` processes answer them and send the replies to a fake Graph API in this process
(bench/reply_clock.py). Per message: the time from the 200 acknowledgement to the reply's arrival.

For each worker count (1, then 2) and each rate, lowest first: the load for `--seconds`, then up to
`--drain` seconds for the backlog. It prints p50/p95/max over every acknowledged message (one not answered
by the end of the drain counts as slower than any answered one) and how many were answered during the
load and by the end of the drain; a count's sweep stops at the first rate with p95 > 5 s, and what is still
queued then is discarded before the next count starts. The highest rate with p95 <= 5 s is printed per count.

The demo tenant's knowledge is indexed once by a seeding server, whose Qdrant Edge folder is then copied
to each worker's own data dir: an embedded index is one process's (a Qdrant server, which would let the
workers share one, cannot be installed here). The index is only read during the load.

    .venv/bin/python bench/reply_load.py                      # 1 and 2 workers, rates 5,10,20,40,60, 60 s each
    .venv/bin/python bench/reply_load.py --quick              # the same at 15 s per rate and 20 s drains
    .venv/bin/python bench/reply_load.py --workers 2 --rates 50,60,70 --seconds 60 --drain 60

PARLEY_BENCH_DATABASE_URL names the PostgreSQL server (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the bench's database is created next to that one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import percentile, server_process  # noqa: E402
from bench.http_load import Load, request_bytes  # noqa: E402
from bench.reply_clock import ReplyClock  # noqa: E402
from bench.webhook import KEEP_ALIVE, QUESTIONS, SECRET, knowledge_ready, signed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "pa_bench-admin-key-0123456789abcdef"
REPLY_KINDS = "channels.ingest,channels.reply"  # what a WhatsApp message needs: parse it, then answer it
TARGET_P95 = 5.0
PHONE_NUMBER_ID = "106540352242922"
# Openings that make each customer's wording their own while keeping the demo's question (and its answer).
OPENINGS = ["Hi, {name} here.", "Hello, this is {name}.", "Good morning! I'm {name}.", "你好，我係{name}。"]


@dataclass
class Run:
    rate: int
    sent: int
    acknowledged: int  # a delivery refused or failed is counted here by its absence, never timed
    answered_during: int
    answered: int
    latencies: list[float]  # seconds, inf for a message not answered by the end of the drain

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 0.95) if self.latencies else float("inf")


def question(n: int) -> str:
    name = f"Customer {n}"
    return f"{OPENINGS[n % len(OPENINGS)].format(name=name)} {QUESTIONS[n % len(QUESTIONS)]}"


def sender(n: int) -> str:
    return f"852{n:08d}"


@contextmanager
def database() -> Iterator[str]:
    """A PostgreSQL database of the bench's own, dropped at the end (with whatever connections remain)."""
    server = os.environ.get("PARLEY_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"parley_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(env: dict[str, str], data_dir: Path) -> str:
    """Index the demo knowledge and add the WhatsApp channel through a server of its own; its id.

    The server stops before the load so its Qdrant Edge folder is flushed and free to copy."""
    seeding = {**env, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_DEMO": "true", "PARLEY_WORKER": "true"}
    with server_process(["app:app"], seeding, ROOT) as (base, _):
        key_file = data_dir / "demo_tenant_key"
        for _ in range(300):
            if key_file.exists():
                break
            time.sleep(0.1)
        key = key_file.read_text().strip()
        knowledge_ready(base, key)
        channel = httpx.post(
            f"{base}/v1/channels",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "kind": "whatsapp",
                "name": "reply-load",
                "phone_number_id": PHONE_NUMBER_ID,
                "access_token": "EAAG-bench-token",
                "app_secret": SECRET,
                "verify_token": "bench-verify-token",
                "messages_per_second": 1000,  # the send budget is not what is measured
            },
        )
        channel.raise_for_status()
        return str(channel.json()["id"])


@contextmanager
def worker(env: dict[str, str], data_dir: Path, index_from: Path, log: Path) -> Iterator[int]:
    """`parley worker --kinds channels.ingest,channels.reply` on a copy of the seeded index, until the block ends."""
    shutil.copytree(index_from / "qdrant-edge", data_dir / "qdrant-edge")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys, app; sys.exit(app.main())", "worker", "--kinds", REPLY_KINDS],
            cwd=ROOT,
            env={**env, "PARLEY_DATA_DIR": str(data_dir)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "worker running" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()  # SIGTERM: running jobs finish first
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def offer(base: str, path: str, rate: int, seconds: float, first: int) -> dict[int, float]:
    """Send `rate * seconds` messages at a steady rate; message number -> perf_counter() at its 200."""
    host, port = base.removeprefix("http://").split(":")

    def make(n: int) -> bytes:
        body, signature = signed(n, question(n), sender(n))
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        return request_bytes(f"{host}:{port}", path, body, headers)

    async with Load(host, int(port)) as generator:
        step = await generator.offer(rate, seconds, make, first=first)
    return step.acknowledged_at


def measure(
    base: str, path: str, clock: ReplyClock, rate: int, seconds: float, drain: float, first: int
) -> Run:
    acked = asyncio.run(offer(base, path, rate, seconds, first))
    during = sum(1 for n in acked if sender(n) in clock.arrived)
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline and any(sender(n) not in clock.arrived for n in acked):
        time.sleep(0.5)
    latencies = [clock.arrived.get(sender(n), float("inf")) - at for n, at in acked.items()]
    answered = sum(1 for value in latencies if value != float("inf"))
    return Run(rate, int(rate * seconds), len(acked), during, answered, latencies)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def settle(pids: list[int], timeout: float = 300) -> float:
    """Wait until the processes' start-up work is done: each process warms its answer path on a thread
    after it starts (agent/builder.py's warm_up: the intent examples' embeddings, the dictionary), which
    on a busy machine takes a minute, and a turn waits for it. Done when they use < 10% of a core."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(2)
        if sum(cpu_seconds(pid) for pid in pids) - before < 0.2:
            break
    return time.monotonic() - started


def discard_backlog(database_url: str) -> int:
    """Drop the reply jobs an overloaded step left queued, so they do not load the next worker count
    (the running ones finish as the workers stop)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            kinds = REPLY_KINDS.split(",")
            deleted = conn.execute(
                text("DELETE FROM jobs WHERE kind = ANY(:kinds) AND status = 'queued'"),
                {"kinds": kinds},
            )
            return int(deleted.rowcount or 0)
    finally:
        engine.dispose()


def median(run: Run) -> float:
    return percentile(run.latencies, 0.5) if run.latencies else float("inf")


def seconds_text(value: float) -> str:
    return "unanswered" if value == float("inf") else f"{value:.2f} s"


def report(run: Run) -> None:
    lat = run.latencies
    refused = "" if run.acknowledged == run.sent else f" of {run.sent} sent"
    flag = "" if run.p95 <= TARGET_P95 else f"  (p95 > {TARGET_P95:.0f} s)"
    print(
        f"  {run.rate:3d}/s  p50 {seconds_text(median(run))}  p95 {seconds_text(run.p95)}  "
        f"max {seconds_text(max(lat, default=float('inf')))}  acknowledged {run.acknowledged}{refused}, "
        f"answered {run.answered_during} "
        f"during the load, {run.answered} by the end of the drain{flag}",
        flush=True,
    )


def main() -> None:
    args = arguments()
    seconds = 15.0 if args.quick and args.seconds is None else (args.seconds or 60.0)
    drain = 20.0 if args.quick and args.drain is None else (args.drain or 60.0)
    rates = [int(r) for r in args.rates.split(",")]
    counts = [int(c) for c in args.workers.split(",")]
    print(
        f"{seconds:.0f} s per rate, drains up to {drain:.0f} s, rates {rates}, worker processes {counts}, "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    clock = ReplyClock()
    with tempfile.TemporaryDirectory(prefix="parley-reply-load-") as tmp, database() as database_url:
        root = Path(tmp)
        env = {
            **os.environ,
            "PARLEY_DATABASE_URL": database_url,
            # Every process must hold the same keys (core/process_keys.py): configured, not generated.
            "PARLEY_SECRET_KEY": Fernet.generate_key().decode(),
            "PARLEY_ADMIN_KEY": ADMIN_KEY,
            "PARLEY_WHATSAPP_API_BASE": clock.url,
            "PARLEY_WHATSAPP_MESSAGES_PER_SECOND": "1000",
            "PARLEY_READY_REQUIRES_WORKER": "false",
        }
        started = time.monotonic()
        channel_id = seed(env, root / "seed")
        print(f"seeded the demo tenant and its channel in {time.monotonic() - started:.0f} s", flush=True)
        http_only = {**env, "PARLEY_DATA_DIR": str(root / "seed"), "PARLEY_WORKER": "false"}
        best: dict[int, int] = {}
        path = f"/webhooks/whatsapp/{channel_id}"
        first = 0
        with server_process(["app:app", *KEEP_ALIVE], http_only, ROOT) as (base, server):
            for count in counts:
                print(f"{count} worker process{'es' if count > 1 else ''} ({REPLY_KINDS}):", flush=True)
                best[count] = 0
                with ExitStack() as stack:
                    pids = [server.pid]
                    for i in range(count):
                        folder, log = root / f"w{count}-{i}", root / f"w{count}-{i}.log"
                        pids.append(stack.enter_context(worker(env, folder, root / "seed", log)))
                    waited = settle(pids)
                    # Each worker's first turns still load what a turn loads once per process (the
                    # gate's probes for this knowledge): a few messages at a low rate, not reported.
                    warm = measure(base, path, clock, 2, 5 * count, 120, first)
                    first += warm.sent
                    print(
                        f"  warm-up: start-up work done after {waited:.0f} s; {warm.answered} of "
                        f"{warm.acknowledged} messages at 2/s answered, p50 {seconds_text(median(warm))}",
                        flush=True,
                    )
                    for rate in rates:
                        run = measure(
                            base, f"/webhooks/whatsapp/{channel_id}", clock, rate, seconds, drain, first
                        )
                        first += int(rate * seconds)
                        report(run)
                        if run.p95 > TARGET_P95:
                            break  # higher rates only pile more on the backlog
                        best[count] = rate
                    dropped = discard_backlog(database_url)
                if dropped:
                    print(f"  (discarded {dropped} reply jobs still queued)", flush=True)
                found = f"{best[count]}/s" if best[count] else f"none (not even {rates[0]}/s)"
                print(f"  highest rate with p95 <= {TARGET_P95:.0f} s: {found}", flush=True)
    clock.stop()
    sent, customers = clock.sends, len(clock.arrived)
    print(f"replies sent {sent} to {customers} customers (answered twice: {sent - customers})")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="load per rate (default 60; 15 with --quick)")
    parser.add_argument(
        "--drain", type=float, help="wait for the backlog after each load (default 60; 20 with --quick)"
    )
    parser.add_argument(
        "--rates", default="5,10,20,40,60", help="messages per second, ascending (default 5,10,20,40,60)"
    )
    parser.add_argument("--workers", default="1,2", help="worker process counts to run (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="shorter loads and drains, for a first look")
    return parser.parse_args()


if __name__ == "__main__":
    main()
