"""End to end: `uvicorn app:app` with the embedded defaults and the demo tenant, as `make run` starts it.

A real server process on loopback, SQLite and Qdrant Edge on disk; then a restart to show the
data survives and the demo is not created twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The first search and turn of a fresh process load the word lists and the dictionary (seconds on a busy
# machine): this test is about serving, not about latency (bench/ measures that).
http = httpx.Client(timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    env: dict[str, str], command: list[str], *, start_seconds: float = 60
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python <command> --host 127.0.0.1 --port <free port>` once its /healthz answers; stopped after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, *command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            try:
                if http.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            proc.kill()
            raise AssertionError(proc.stdout.read() if proc.stdout else "server did not start")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def server(data_dir: Path, *, parley: bool = False) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`uvicorn app:app`, or `parley serve` (as its console script runs it) with `parley`."""
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_DEMO": "true"}
    env.pop("PARLEY_DATABASE_URL", None)
    env.pop("PARLEY_QDRANT_URL", None)
    env.pop("PARLEY_ADMIN_KEY", None)
    command = (
        ["-c", "import sys; from app import main; sys.exit(main())", "serve"]
        if parley
        else ["-m", "uvicorn", "app:app"]
    )
    with running(env, command) as served:
        yield served


def wait_ready(base: str, key: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sources = http.get(f"{base}/v1/knowledge/sources", headers={"Authorization": f"Bearer {key}"}).json()[
            "sources"
        ]
        if sources and all(s["status"] in ("ready", "failed") for s in sources):
            return list(sources)
        time.sleep(0.3)
    raise AssertionError("demo knowledge was not indexed in time")


def test_uvicorn_serves_the_demo_tenant_and_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with server(data) as (base, proc):
        admin_key = (data / "admin_key").read_text().strip()
        demo_key = (data / "demo_tenant_key").read_text().strip()
        sources = wait_ready(base, demo_key)
        assert sorted(s["name"] for s in sources) == [
            "lotus-glow-faq.md",
            "lotus-glow-policies.pdf",
            "lotus-glow-price-list.xlsx",
        ]
        assert all(s["status"] == "ready" for s in sources), sources
        hits = http.post(
            f"{base}/v1/knowledge/search",
            json={"query": "取消預約要提前幾耐通知？"},
            headers={"Authorization": f"Bearer {demo_key}"},
        ).json()["hits"]
        assert any("24 hours" in h["text"] for h in hits[:3])
        created = http.post(
            f"{base}/v1/tenants", json={"name": "Second"}, headers={"Authorization": f"Bearer {admin_key}"}
        )
        assert created.status_code == 201
        assert http.get(f"{base}/docs").status_code == 200
        page = http.get(f"{base}/demo")
        assert page.status_code == 200 and 'data-widget-key="wk_' in page.text
        reply = http.post(
            f"{base}/v1/agent/chat",
            json={"message": "八號風球會唔會開門？"},
            headers={"Authorization": f"Bearer {demo_key}"},
        ).json()
        assert "Typhoon Signal No. 8" in reply["reply"] and reply["sources"]
    output = proc.stdout.read() if proc.stdout else ""
    assert admin_key in output and demo_key in output and "http://127.0.0.1:8000" in output

    with server(data, parley=True) as (base, _):  # `make run` starts `parley serve`
        sources = wait_ready(base, demo_key)
        assert len(sources) == 3  # the demo is not created twice
        ready = http.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
        metrics = http.get(f"{base}/metrics").text
        assert (
            'parley_http_requests_total{method="GET",route="/v1/knowledge/sources",status="200"}' in metrics
        )
        hits = http.post(
            f"{base}/v1/knowledge/search",
            json={"query": "How much is a gel manicure?"},
            headers={"Authorization": f"Bearer {demo_key}"},
        ).json()["hits"]
        assert "Gel Manicure" in hits[0]["text"]
