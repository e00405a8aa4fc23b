"""Broadcast sending: 10,000 recipients against a fake WhatsApp Cloud API on loopback that enforces the
number's 80 messages/s and answers 1% of sends with a rate-limit error (130429).

Prints the achieved rate as a fraction of the ceiling (target >= 0.95, never above), the busiest second
the fake saw, total time and duplicates (target 0); then the same for a second broadcast whose server is
killed (SIGKILL) halfway and restarted on the same data.

    .venv/bin/python bench/broadcast.py [recipients]
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, wait_until_up  # noqa: E402

CEILING = 80
ADMIN = "pa_bench-admin-key-0123456789abcdef"


class FakeWhatsApp:
    """POST /{phone-number-id}/messages: refuses a send when CEILING were accepted or refused in the last
    second (130429, counted as "over the ceiling"), and 1% of the others at random (130429, injected)."""

    def __init__(self) -> None:
        self.accepted: list[tuple[float, str]] = []
        self.window: deque[float] = deque()
        self.over = 0
        self.injected = 0
        self.busiest = 0
        self._lock = threading.Lock()
        self._random = random.Random(7)
        app = FastAPI()

        @app.post("/v21.0/{phone}/messages")
        async def send(phone: str, request: Request) -> JSONResponse:
            body = await request.json()
            now = time.monotonic()
            with self._lock:
                while self.window and self.window[0] <= now - 1.0:
                    self.window.popleft()
                if len(self.window) >= CEILING:
                    self.over += 1
                    return _error()
                self.window.append(now)
                self.busiest = max(self.busiest, len(self.window))
                if self._random.random() < 0.01:
                    self.injected += 1
                    return _error()
                self.accepted.append((now, body["to"]))
                n = len(self.accepted)
            return JSONResponse({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.bench{n}"}]})

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="error")
        )
        threading.Thread(target=self.server.run, daemon=True).start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.config.port}/v21.0"

    def reset(self) -> None:
        with self._lock:
            self.accepted, self.over, self.injected, self.busiest = [], 0, 0, 0


def _error() -> JSONResponse:
    error = {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}
    return JSONResponse({"error": error}, status_code=400)


class Server:
    """`uvicorn app:app` on the data dir; kill() is SIGKILL (no shutdown, no cleanup), start() again."""

    def __init__(self, data_dir: str, api: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PARLEY_DATA_DIR": data_dir,
            "PARLEY_ADMIN_KEY": ADMIN,
            "PARLEY_WHATSAPP_API_BASE": api,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"{self.base}/healthz")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def setup(base: str, recipients: int) -> tuple[str, str]:
    """A tenant with `recipients` contacts (imported as CSV) and a WhatsApp channel; returns (key, channel)."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    key = httpx.post(f"{base}/v1/tenants", json={"name": "Bench Tea"}, headers=admin).json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    rows = "first_name,phone\n" + "".join(f"Guest {i},8526{i:07d}\n" for i in range(recipients))
    files = {"file": ("contacts.csv", io.BytesIO(rows.encode()), "text/csv")}
    imported = httpx.post(f"{base}/v1/contacts/import", files=files, headers=auth, timeout=600).json()
    assert imported["created"] == recipients, imported
    channel = httpx.post(
        f"{base}/v1/channels",
        headers=auth,
        json={
            "kind": "whatsapp",
            "name": "bench",
            "phone_number_id": "106540352242922",
            "access_token": "EAAG-bench-token",
            "app_secret": "bench-app-secret-0123",
            "verify_token": "bench-verify-token",
        },
    ).json()
    return key, channel["id"]


def publish(base: str, key: str, channel: str, name: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    body = {
        "name": name,
        "channel_id": channel,
        "audience": {"conditions": [{"field": "phone", "op": "not_empty"}]},
        "content": {
            "template": {"name": "autumn_teas", "language": "en", "variables": ["{{first_name|friend}}"]}
        },
    }
    created = httpx.post(f"{base}/v1/broadcasts", json=body, headers=auth).json()
    httpx.post(f"{base}/v1/broadcasts/{created['id']}/publish", headers=auth).raise_for_status()
    return str(created["id"])


def wait_sent(server: Server, key: str, broadcast: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {key}"}
    while True:
        try:
            if httpx.get(f"{server.base}/v1/broadcasts/{broadcast}", headers=auth).json()["status"] == "sent":
                return dict(
                    httpx.get(f"{server.base}/v1/broadcasts/{broadcast}/metrics", headers=auth).json()
                )
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def report(
    title: str,
    fake: FakeWhatsApp,
    recipients: int,
    seconds: float,
    figures: dict[str, Any],
    down: float = 0.0,
) -> None:
    """`down`: seconds the sender was dead (between a kill and its first send after the restart)."""
    times = [t for t, _ in fake.accepted]
    per_person = Counter(to for _, to in fake.accepted)
    sending = (times[-1] - times[0] - down) if len(times) > 1 else 0.0
    rate = (len(times) - 1) / sending if sending else 0.0
    print(title)
    print(f"  total time {seconds:.1f} s; sending {sending:.1f} s at {rate:.1f} messages/s")
    print(f"  rate / ceiling: {rate / CEILING:.3f} (target >= 0.95, never above 1)")
    print(
        f"  busiest second at the fake: {fake.busiest} sends (ceiling {CEILING}); refused over the ceiling: "
        f"{fake.over}; refused at random (1%): {fake.injected}, all retried"
    )
    gaps = [(a - times[0], b - a) for a, b in zip(times, times[1:], strict=False) if b - a > 0.05]
    longest = ", ".join(
        f"{gap * 1000:.0f} ms at {at:.1f} s" for at, gap in sorted(gaps, key=lambda g: -g[1])[:4]
    )
    total = sum(gap for _, gap in gaps) - down
    print(
        f"  pauses over 50 ms between sends: {len(gaps)}, {total:.1f} s in all (kill excluded); longest: {longest}"
    )
    duplicates = sum(n - 1 for n in per_person.values() if n > 1)
    print(
        f"  delivered to {len(per_person)} of {recipients}; duplicates {duplicates} (target 0); "
        f"Parley: sent {figures['sent']}, failed {figures['failed']}, "
        f"uncertain {figures['by_status']['uncertain']}"
    )


def main(recipients: int) -> None:
    fake = FakeWhatsApp()
    with tempfile.TemporaryDirectory(prefix="parley-broadcast-") as tmp:
        server = Server(tmp, fake.url)
        server.start()
        try:
            key, channel = setup(server.base, recipients)
            started = time.monotonic()
            broadcast = publish(server.base, key, channel, "run 1")
            figures = wait_sent(server, key, broadcast)
            report("uninterrupted:", fake, recipients, time.monotonic() - started, figures)

            fake.reset()
            started = time.monotonic()
            broadcast = publish(server.base, key, channel, "run 2")
            while len(fake.accepted) < recipients // 2:
                time.sleep(0.05)
            server.kill()
            killed_at, sent_before = time.monotonic(), len(fake.accepted)
            last_before = fake.accepted[-1][0]
            server.start()
            figures = wait_sent(server, key, broadcast)
            resumed = fake.accepted[sent_before][0] if len(fake.accepted) > sent_before else killed_at
            title = (
                f"killed (SIGKILL) after {sent_before} sends and restarted; sending resumed "
                f"{resumed - killed_at:.0f} s after the kill (restart + the job's 30 s lease running out):"
            )
            report(title, fake, recipients, time.monotonic() - started, figures, down=resumed - last_before)
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
