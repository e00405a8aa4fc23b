"""Shared set-up for the benchmarks: the shipped services on a throwaway data dir."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from config import Settings
from core.bootstrap import build_core
from core.services import CoreServices
from knowledge.demo import demo_files
from knowledge.embeddings import Embedder, LocalE5Embedder
from knowledge.services import KnowledgeServices, build_knowledge


@dataclass
class Env:
    settings: Settings
    core: CoreServices
    knowledge: KnowledgeServices


@contextmanager
def environment(embedder: Embedder | None = None, data_dir: Path | None = None) -> Iterator[Env]:
    """Embedded defaults (SQLite + Qdrant Edge) under a temporary data dir, or under `data_dir` kept
    between runs (a bench that reuses what an earlier run ingested)."""
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        folder = data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        settings = Settings(data_dir=folder, admin_key="pa_bench-admin-key-0123456789abcdef")
        core, _, _ = build_core(settings)
        embedder = embedder or LocalE5Embedder()
        knowledge = build_knowledge(settings, core, embedder=embedder)
        try:
            yield Env(settings, core, knowledge)
        finally:
            knowledge.close()
            core.db.dispose()


def load_demo(env: Env) -> str:
    """A tenant with the demo knowledge, indexed synchronously; returns the tenant id."""
    tenant, _ = env.core.tenants.create("Lotus Glow Beauty")
    for name, data in demo_files().items():
        env.knowledge.sources.add_file(tenant.id, name, data)
    env.core.jobs.drain()
    for source in env.knowledge.sources.list(tenant.id):
        assert source.status == "ready", (source.name, source.error)
    return tenant.id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str) -> None:
    """Poll a starting server's URL until it answers (up to a minute)."""
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


@contextmanager
def served(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[str]:
    """`uvicorn ARGS` on a free loopback port until the block ends; yields its base URL."""
    with server_process(args, env, cwd) as (base, _):
        yield base


@contextmanager
def server_process(
    args: list[str], env: dict[str, str], cwd: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As `served`, yielding the process too (for a benchmark that reads its memory)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--log-level", "warning"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/docs")
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
