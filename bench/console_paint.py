"""Time to first paint of every console page on the demo tenant (issue 16: none over 1 s; a bench, not a test).

The app starts as `make run` starts it (`parley serve`, PARLEY_DEMO=true) on a temporary data dir; once the
demo knowledge is indexed, headless Chromium (Debian's, driven by Playwright) signs in as the demo admin.
The demo tenant has no conversation, contact or ticket of its own: one of each is created through the /v1
API with the demo key (a chat turn, a contact, a ticket on both), so their pages are measured too.

Every page (each section of web/console/nav.py, then a conversation, a contact and a ticket) is loaded
`--runs` times, each in a fresh browser context holding only the session cookie (an empty cache: the CSS
and JS are fetched every time, the worst case for a staff member). Per page, median and max of:
  - FCP: first-contentful-paint (performance.getEntriesByType('paint')), from the start of navigation;
  - DCL: domContentLoadedEventEnd of the navigation entry (the deferred console.js has run by then);
  - server: responseStart - requestStart of the HTML (the server's time to produce the page, seen by the
    browser on loopback).
Pages whose FCP median or max is over 1 s are listed at the end. `--warm` reuses one context instead (the
CSS and JS cached, as for a staff member moving between pages). The browser and the server share the
machine's CPUs, so other work there lengthens every column: the load average before and after is printed.

    .venv/bin/python bench/console_paint.py              # 5 loads per page, empty cache
    .venv/bin/python bench/console_paint.py --runs 20 --warm

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import free_port, wait_until_up  # noqa: E402
from bench.webhook import knowledge_ready  # noqa: E402
from knowledge.demo import DEMO_ADMIN_EMAIL  # noqa: E402
from web.console.nav import SECTIONS  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = [  # as tests/web/test_widget_browser.py launches it
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
BUDGET_MS = 1000.0
TIMINGS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
    return {fcp: fcp.startTime, dcl: nav.domContentLoadedEventEnd, server: nav.responseStart - nav.requestStart};
}"""
HAS_PAINTED = "() => performance.getEntriesByType('paint').some(e => e.name === 'first-contentful-paint')"


@dataclass
class Figures:
    fcp: list[float] = field(default_factory=list)
    dcl: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)


@contextmanager
def parley_serve(data_dir: Path) -> Iterator[str]:
    """`parley serve` with the demo tenant, as `make run` runs it (via app.main, so this checkout's code)."""
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), "PARLEY_DEMO": "true"}
    for name in ("PARLEY_DATABASE_URL", "PARLEY_QDRANT_URL", "PARLEY_ADMIN_KEY"):
        env.pop(name, None)
    port = free_port()
    command = ["-c", "import sys; from app import main; sys.exit(main())", "serve", "--port", str(port)]
    log_path = data_dir.parent / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_until_up(f"{base}/healthz")
            except RuntimeError:
                raise RuntimeError("parley serve did not start:\n" + log_path.read_text()[-4000:]) from None
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def first(base: str, key: str, path: str) -> str | None:
    items = httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30).json()["items"]
    return str(items[0]["id"]) if items else None


def record_pages(base: str, key: str) -> dict[str, str]:
    """A conversation, a contact and a ticket of the demo tenant (created through /v1 when it has none)."""
    auth = {"Authorization": f"Bearer {key}"}
    conversation = first(base, key, "/v1/inbox/conversations")
    if conversation is None:
        chat = {"message": "How much is a gel manicure?", "contact": {"name": "Bench Customer"}}
        conversation = httpx.post(f"{base}/v1/agent/chat", json=chat, headers=auth, timeout=60).json()[
            "conversation_id"
        ]
    contact = first(base, key, "/v1/contacts")
    if contact is None:
        body = {"name": "Bench Customer", "phone": "+852 9000 0000", "email": "bench@shop.example"}
        contact = httpx.post(f"{base}/v1/contacts", json=body, headers=auth, timeout=30).json()["id"]
    ticket = first(base, key, "/v1/tickets")
    if ticket is None:
        body = {"type": "general_support", "subject": "Bench ticket", "contact_id": contact}
        body["conversation_id"] = conversation
        ticket = httpx.post(f"{base}/v1/tickets", json=body, headers=auth, timeout=30).json()["id"]
    return {
        "conversation": f"/console/inbox/{conversation}",
        "contact": f"/console/contacts/{contact}",
        "ticket": f"/console/tickets/{ticket}",
    }


def sign_in(browser: Browser, base: str, password: str) -> Any:
    """The demo admin's session (Playwright's storage state: the cookies)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/console/sign-in")
    page.fill("#f-email", DEMO_ADMIN_EMAIL)
    page.fill("#f-password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/knowledge")
    state = context.storage_state()
    context.close()
    return state


def measure(
    browser: Browser, base: str, state: Any, pages: dict[str, str], runs: int, warm: bool
) -> dict[str, Figures]:
    figures = {name: Figures() for name in pages}
    shared = browser.new_context(storage_state=state) if warm else None
    if shared is not None:  # fill the cache with the CSS and JS once
        shared.new_page().goto(f"{base}/console/knowledge")
    for name, path in pages.items():
        for _ in range(runs):
            context = shared or browser.new_context(storage_state=state)
            page = context.new_page()
            response = page.goto(f"{base}{path}", wait_until="load")
            if response is None or response.status != 200 or not page.url.endswith(path):
                raise RuntimeError(f"{path}: {response and response.status} at {page.url}")
            page.wait_for_function(HAS_PAINTED, timeout=30_000)
            timings = page.evaluate(TIMINGS)
            for metric in ("fcp", "dcl", "server"):
                getattr(figures[name], metric).append(float(timings[metric]))
            page.close()
            if shared is None:
                context.close()
    if shared is not None:
        shared.close()
    return figures


def report(figures: dict[str, Figures], runs: int, warm: bool, load: tuple[float, float]) -> None:
    cache = "warm cache (one context)" if warm else "empty cache (a fresh context per load)"
    print(f"\nconsole pages on the demo tenant, {runs} loads each, {cache}; ms, median / max")
    # Other work on the machine shows up in every column: say how busy it was.
    print(f"(load average {load[0]:.1f} before, {load[1]:.1f} after, {os.cpu_count()} CPUs)")
    print(f"{'page':<14}{'FCP':>16}{'DCL':>16}{'server (HTML)':>18}")
    over = []
    for name, f in figures.items():
        cells = [f"{statistics.median(v):7.0f} / {max(v):5.0f}" for v in (f.fcp, f.dcl, f.server)]
        print(f"{name:<14}{cells[0]:>16}{cells[1]:>16}{cells[2]:>18}")
        if max(f.fcp) > BUDGET_MS:
            over.append(f"{name} (median {statistics.median(f.fcp):.0f} ms, max {max(f.fcp):.0f} ms)")
    print(f"\nover {BUDGET_MS / 1000:.0f} s to first paint: " + (", ".join(over) if over else "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="loads per page (default 5)")
    parser.add_argument(
        "--warm", action="store_true", help="one browser context for every load (cached CSS/JS)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="parley-paint-") as tmp:
        data = Path(tmp) / "data"
        with parley_serve(data) as base, sync_playwright() as playwright:
            key = (data / "demo_tenant_key").read_text().strip()
            knowledge_ready(base, key)
            pages = {section.key: f"/console/{section.key}" for section in SECTIONS} | record_pages(base, key)
            before = os.getloadavg()[0]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            state = sign_in(browser, base, (data / "demo_admin_password").read_text().strip())
            figures = measure(browser, base, state, pages, args.runs, args.warm)
            browser.close()
    report(figures, args.runs, args.warm, (before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
