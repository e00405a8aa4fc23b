"""The Settings page in headless Chromium, as `make run` serves it: the demo admin creates an API key, sees
it once (it works against /v1), never again after leaving the page; revokes it after confirming, and the
key is refused from then on; the revocation is in the audit log, by the admin's name; the pages fit a
phone's width.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from knowledge.demo import DEMO_ADMIN_EMAIL
from tests.helpers.served import copy_of
from tests.test_serve import server
from tests.web.test_widget_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


def test_admin_creates_a_key_sees_it_once_and_revokes_it(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import Dialog, Page, expect, sync_playwright

    def fits_a_phone(page: Page, name: str) -> None:
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    data = copy_of(demo_data, tmp_path)
    with server(data) as (base, _proc), sync_playwright() as playwright:

        def works(key: str) -> int:
            response = httpx.get(f"{base}/v1/knowledge/sources", headers={"Authorization": f"Bearer {key}"})
            return response.status_code

        password = (data / "demo_admin_password").read_text().strip()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/console/sign-in")
        page.fill("#f-email", DEMO_ADMIN_EMAIL)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        page.click("nav.sections >> text=Settings")
        expect(page).to_have_url(f"{base}/console/settings")
        expect(page.locator("h1")).to_have_text("Settings")
        expect(page.locator("#plan-name")).to_have_text("free")
        expect(page.locator("#new-key")).to_have_count(0)

        page.fill("#f-name", "Shop sync")
        page.select_option("#f-role", "staff")
        page.click("#create-key")
        expect(page.locator("#key-created")).to_contain_text("The key Shop sync is created.")
        secret = page.input_value("#new-key")
        assert secret.startswith("pk_") and len(secret) > 40
        assert works(secret) == 200
        fits_a_phone(page, "settings-key-created-phone")

        page.click("#tab-audit")
        expect(page.locator("#audit tbody tr").first).to_have_attribute("data-action", "api_key.create")
        page.click("#tab-general")
        expect(page.locator("#new-key")).to_have_count(0)
        assert secret not in page.content(), "the key is shown again"

        row = page.locator("#keys tr", has=page.locator("td.name", has_text="Shop sync"))
        expect(row).to_have_attribute("data-state", "active")
        questions: list[str] = []

        def answer(dialog: Dialog) -> None:
            questions.append(dialog.message)
            if len(questions) == 1:
                dialog.dismiss()
            else:
                dialog.accept()

        page.on("dialog", answer)
        row.locator("button.danger").click()  # dismissed: nothing happens
        expect(row).to_have_attribute("data-state", "active")
        assert works(secret) == 200
        row.locator("button.danger").click()
        expect(page.locator("p.notice")).to_have_text("Key revoked: it no longer works.")
        expect(row).to_have_attribute("data-state", "revoked")
        expect(row.locator("button")).to_have_count(0)
        assert "Revoke the key Shop sync?" in questions[0] and len(questions) == 2
        assert works(secret) == 401
        fits_a_phone(page, "settings-phone")

        page.click("#tab-audit")
        first = page.locator("#audit tbody tr").first
        expect(first).to_have_attribute("data-action", "api_key.revoke")
        first.locator("td").nth(1).locator("a").click()  # filter by who did it: the demo admin
        expect(page.locator("#f-actor option:checked")).not_to_have_text("")
        rows = page.locator("#audit tbody tr")
        actions = rows.evaluate_all("rows => rows.map(r => r.dataset.action)")
        assert actions[:2] == ["api_key.revoke", "api_key.create"]
        assert len(set(rows.evaluate_all("rows => rows.map(r => r.dataset.actor)"))) == 1
        fits_a_phone(page, "audit-phone")
        assert secret not in page.content()
        browser.close()
