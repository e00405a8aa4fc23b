"""The console in headless Chromium, as `make run` serves it: the demo admin signs in with the sign-in the
server printed, switches to Chinese, uploads a text file on the Knowledge page (and drops another on it),
watches the first become ready without reloading, and searches it; the page fits a phone's width.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.demo import DEMO_ADMIN_EMAIL
from tests.helpers.served import copy_of
from tests.test_serve import server
from tests.web.test_widget_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

HOURS = "Lotus Glow late opening: on Thursdays the salon stays open until 10pm for members.\n"


def test_admin_signs_in_switches_to_chinese_uploads_and_searches(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = copy_of(demo_data, tmp_path)
    upload = tmp_path / "late-opening.txt"
    upload.write_text(HOURS)
    with server(data) as (base, proc), sync_playwright() as playwright:
        password = (data / "demo_admin_password").read_text().strip()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/console/sign-in")
        page.fill("#f-email", DEMO_ADMIN_EMAIL)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/console/knowledge")

        page.click("#lang-zh-Hant")
        expect(page.locator("h1")).to_have_text("知識庫")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")

        page.set_input_files("#f-files", str(upload))
        page.click("#upload-form button[type=submit]")
        expect(page.locator(".notice")).to_have_text("已排隊等候索引。")
        row = page.locator("tr", has=page.locator("td.name", has_text="late-opening.txt"))
        # The table refreshes itself (console.js) while the demo's files and this one are indexed.
        expect(row).to_have_attribute("data-status", "ready", timeout=120_000)
        expect(row.locator(".status")).to_have_text("就緒")

        # Drag and drop: a file dropped on the upload box is sent at once.
        dropped = page.evaluate_handle(
            "() => { const d = new DataTransfer();"
            " d.items.add(new File(['Gift vouchers never expire.'], 'vouchers.txt', {type: 'text/plain'}));"
            " return d; }"
        )
        page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
        expect(page.locator("td.name", has_text="vouchers.txt")).to_be_visible()

        page.fill("#f-q", "When does the salon stay open late?")
        page.press("#f-q", "Enter")
        first = page.locator(".hit").first
        expect(first).to_contain_text("late-opening.txt")
        expect(first).to_contain_text("10pm")
        expect(first.locator(".score")).to_contain_text("分數")

        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone"
        page.screenshot(path=str(tmp_path / "console-phone.png"), full_page=True)
        assert (tmp_path / "console-phone.png").stat().st_size > 5_000
        browser.close()
    output = proc.stdout.read() if proc.stdout else ""
    assert DEMO_ADMIN_EMAIL in output and password in output  # printed beside the keys
