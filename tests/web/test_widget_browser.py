"""The live-chat widget in headless Chromium: the demo page, a question, the reply, history after reload.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.served import copy_of
from tests.test_serve import server, wait_ready

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def test_widget_chats_and_keeps_history_across_a_reload(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import sync_playwright

    data = copy_of(demo_data, tmp_path)
    with server(data) as (base, _), sync_playwright() as playwright:
        wait_ready(base, (data / "demo_tenant_key").read_text().strip())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/demo")
        page.click("#parley-bubble")
        page.fill("#parley-input", "How much is a gel manicure?")
        page.press("#parley-input", "Enter")
        reply = page.wait_for_selector(".parley-agent", timeout=30_000)
        assert reply is not None and "Gel Manicure" in reply.inner_text()
        assert page.inner_text(".parley-customer") == "How much is a gel manicure?"
        page.wait_for_function("document.querySelectorAll('.parley-pending').length === 0", timeout=10_000)
        page.screenshot(path=str(tmp_path / "widget.png"))
        assert (tmp_path / "widget.png").stat().st_size > 5_000

        page.reload()  # the visitor token in localStorage brings the conversation back
        page.click("#parley-bubble")
        page.wait_for_selector(".parley-agent", timeout=15_000)
        texts = page.eval_on_selector_all(".parley-msg", "nodes => nodes.map(n => n.textContent)")
        assert texts[0] == "How much is a gel manicure?" and "Gel Manicure" in texts[1] and len(texts) == 2
        browser.close()
