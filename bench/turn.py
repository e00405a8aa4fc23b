"""A full agent turn vs retrieval alone, and 50 concurrent live-chat conversations over WebSockets.

Part 1 (in process, local grounded model, 10,000 chunks indexed with synthetic vectors beside the
demo knowledge): p50/p95 of a turn through inbox/turns.py (persistence and checkpointer included) and of the
same retrieval alone, in one run. Target: graph overhead beyond retrieval <= 20 ms at p50.
Part 2 (a real uvicorn server on loopback): 50 visitors chat for 60 s; every reply must arrive, in
order, and the stored history must hold every message exactly once, in order.

    .venv/bin/python bench/turn.py [seconds]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import websockets  # noqa: E402

from agent.builder import build_agent  # noqa: E402
from bench.common import environment, load_demo, percentile, served  # noqa: E402
from bench.query import synthetic_points  # noqa: E402
from inbox.store import InboxStore  # noqa: E402
from inbox.turns import Turns  # noqa: E402

QUESTIONS = [
    "How much is a gel manicure?",
    "取消預約要提前幾耐通知？",
    "Is there free parking?",
    "學生有冇折扣？",
    "What time do you open on Sundays?",
    "八號風球會唔會開門？",
]
ROOT = Path(__file__).resolve().parent.parent


def turn_latency(rounds: int = 120) -> None:
    random.seed(5)
    with environment() as env:
        tenant = load_demo(env)
        env.knowledge.index.upsert(
            tenant, synthetic_points(10_000, env.knowledge.index.dim, np.random.default_rng(5))
        )
        inbox = InboxStore(env.core.db, env.core.audit)
        agent = build_agent(env.settings, env.core, env.knowledge, inbox)
        router = Turns(inbox, agent)
        env.knowledge.search(tenant, "warm-up")  # warms the query embedder
        conversation = None
        turns, retrievals = [], []
        for i in range(rounds):
            # Two texts neither has seen, so both pay the query embedding (retrieval remembers it per text,
            # knowledge/query_embeddings.py): the same text twice would let the turn find it cached.
            question = QUESTIONS[i % len(QUESTIONS)]
            start = time.perf_counter()
            env.knowledge.search(tenant, f"{question} #{i}a", k=5)
            retrievals.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            result = router.chat(tenant, f"{question} #{i}b", conversation)
            turns.append((time.perf_counter() - start) * 1000)
            conversation = result.conversation_id if i % 10 else None  # new conversations now and then
        chunks = env.knowledge.index.count(tenant)
        agent.close()
    print(f"part 1: {rounds} turns, {chunks} chunks indexed, local grounded model")
    for name, values in (("retrieval alone", retrievals), ("full turn", turns)):
        print(f"  {name:22s} p50 {percentile(values, 0.5):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms")
    overhead = percentile(turns, 0.5) - percentile(retrievals, 0.5)
    print(f"  graph overhead beyond retrieval (p50): {overhead:.1f} ms (target <= 20 ms)")


async def visitor(url: str, seconds: float, number: int) -> tuple[int, int, str]:
    """Chat until time is up; returns (sent, replies, token); raises on a lost or reordered reply."""
    sent = replies = 0
    async with websockets.connect(url) as ws:
        token = json.loads(await ws.recv())["token"]
        await ws.recv()  # history
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            client_id = f"v{number}-{sent}"
            await ws.send(
                json.dumps(
                    {"type": "message", "text": f"{QUESTIONS[sent % 6]} #{sent}", "client_id": client_id}
                )
            )
            sent += 1
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "ack" and frame["client_id"] != client_id:
                    raise AssertionError(
                        f"visitor {number}: ack for {frame['client_id']} while waiting for {client_id}"
                    )
                if frame["type"] == "message":
                    replies += 1
                    break
    return sent, replies, token


async def soak(base: str, widget_key: str, seconds: float, visitors: int = 50) -> None:
    url = base.replace("http", "ws") + f"/v1/livechat/ws?widget_key={widget_key}"
    start = time.monotonic()
    results = await asyncio.gather(*(visitor(url, seconds, n) for n in range(visitors)))
    elapsed = time.monotonic() - start
    sent = sum(r[0] for r in results)
    replies = sum(r[1] for r in results)
    problems = 0
    for number, (count, _, token) in enumerate(results):
        async with websockets.connect(url + f"&token={token}") as ws:
            await ws.recv()
            history = json.loads(await ws.recv())["messages"]
        texts = [m["text"] for m in history if m["role"] == "customer"]
        expected = [f"{QUESTIONS[i % 6]} #{i}" for i in range(count)]
        roles = [m["role"] for m in history]
        if texts != expected or roles != ["customer", "agent"] * count:
            problems += 1
            print(f"  visitor {number}: history out of order or incomplete")
    print(
        f"part 2: {visitors} concurrent visitors for {elapsed:.0f} s: {sent} messages sent, {replies} replies, "
        f"{sent / elapsed:.1f} turns/s; lost or reordered: {sent - replies + problems} (target 0)"
    )


def live_chat_soak(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="parley-turn-") as tmp:
        env = {**os.environ, "PARLEY_DATA_DIR": tmp, "PARLEY_DEMO": "true"}
        # 50 visitors from one address, as fast as they are answered: the soak measures throughput, so the
        # widget's abuse limits (20 turns a minute per visitor, 60 per address) are lifted.
        env |= {"PARLEY_LIVECHAT_TURNS_PER_VISITOR": "100000", "PARLEY_LIVECHAT_TURNS_PER_ADDRESS": "100000"}
        with served(["app:app"], env, ROOT) as base:
            key = (Path(tmp) / "demo_tenant_key").read_text().strip()
            widget_key = httpx.get(
                f"{base}/v1/livechat/widget", headers={"Authorization": f"Bearer {key}"}
            ).json()["widget_key"]
            asyncio.run(soak(base, widget_key, seconds))


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    turn_latency()
    live_chat_soak(duration)
