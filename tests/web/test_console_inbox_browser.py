"""The Inbox in headless Chromium, as `make run` serves it: a widget visitor asks for a person; the demo
admin, with the Inbox open, sees the conversation appear without reloading, opens it, takes a Smart Reply
suggestion into the reply box with one click, sends it, and the visitor receives it; the page fits a phone.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.demo import DEMO_ADMIN_EMAIL
from tests.helpers.served import copy_of
from tests.test_serve import server, wait_ready
from tests.web.test_widget_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


def test_an_agent_sees_a_handoff_live_and_answers_with_a_smart_reply(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = copy_of(demo_data, tmp_path)
    with server(data) as (base, _), sync_playwright() as playwright:
        wait_ready(base, (data / "demo_tenant_key").read_text().strip())
        password = (data / "demo_admin_password").read_text().strip()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        desk = browser.new_page()
        desk.goto(f"{base}/console/sign-in?next=/console/inbox%3Fstate%3Dwaiting")
        desk.fill("#f-email", DEMO_ADMIN_EMAIL)
        desk.fill("#f-password", password)
        desk.click("button[type=submit]")
        expect(desk).to_have_url(f"{base}/console/inbox?state=waiting")
        expect(desk.locator("#conversations tbody tr")).to_have_count(0)

        visitor = browser.new_page()
        visitor.goto(f"{base}/demo")
        visitor.click("#parley-bubble")
        visitor.fill("#parley-input", "How much is a gel manicure?")
        visitor.press("#parley-input", "Enter")
        visitor.wait_for_selector(".parley-agent", timeout=30_000)
        visitor.fill("#parley-input", "I want to talk to a person")
        visitor.press("#parley-input", "Enter")
        expect(visitor.locator(".parley-agent")).to_have_count(2, timeout=30_000)

        # The list refreshes itself (console.js polls its fragment): the conversation appears, waiting.
        row = desk.locator("#conversations tbody tr").first
        expect(row).to_have_attribute("data-status", "pending_human", timeout=20_000)
        row.locator("td.name a").click()
        expect(desk.locator("#status")).to_have_attribute("data-status", "pending_human")

        desk.click("#smart-reply")
        first = desk.locator("#suggestion-1")
        expect(first).to_be_visible()
        suggestion = first.inner_text().strip()
        assert suggestion
        first.click()  # fills the reply box in place
        expect(desk.locator("#f-text")).to_have_value(suggestion)
        desk.click("#send")
        expect(desk.locator("#status")).to_have_attribute("data-status", "human")
        expect(desk.locator(".bubble.human")).to_contain_text(suggestion[:40])

        expect(visitor.locator(".parley-human")).to_contain_text(suggestion[:40], timeout=15_000)

        desk.screenshot(path=str(tmp_path / "inbox-conversation.png"), full_page=True)
        desk.set_viewport_size({"width": 390, "height": 844})
        desk.screenshot(path=str(tmp_path / "inbox-phone.png"), full_page=True)
        wide = desk.evaluate(
            "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > "
            "window.innerWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
        )
        overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the conversation page is {overflow}px wider than a phone: {wide}"
        desk.goto(f"{base}/console/inbox")
        desk.screenshot(path=str(tmp_path / "inbox-list-phone.png"), full_page=True)
        overflow = desk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the inbox is {overflow}px wider than a phone"
        browser.close()
