"""Broadcasts in headless Chromium, as `make run` serves them, at a phone's width: the demo admin composes a
broadcast to the contacts tagged vip, watches the count and the preview follow the form as it is filled in
(console.js, before anything is saved), picks another contact to preview, schedules it for tomorrow in the
business's time zone, and sees its page and the list; then the page in Chinese.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download). Nothing is sent:
the broadcast is scheduled, and the channel's platform is never called.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from knowledge.demo import DEMO_ADMIN_EMAIL
from tests.helpers.served import copy_of
from tests.test_serve import http, server
from tests.web.test_console_contacts_browser import fits_a_phone
from tests.web.test_widget_browser import ARGS, CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


def seed(base: str, key: str) -> None:
    """A WhatsApp number and three customers, two of them tagged vip (one without a first name)."""
    headers = {"Authorization": f"Bearer {key}"}
    channel = {
        "kind": "whatsapp",
        "name": "Salon WhatsApp",
        "phone_number_id": "106540352242922",
        "access_token": "EAAG-not-a-real-token",
        "app_secret": "an-app-secret-for-the-test",
        "verify_token": "a-verify-token-for-the-test",
    }
    assert http.post(f"{base}/v1/channels", json=channel, headers=headers).status_code == 201
    for person in (
        {"first_name": "Winnie", "phone": "+852 9777 0001", "tags": ["vip"]},
        {"phone": "+852 9777 0002", "tags": ["vip"]},
        {"first_name": "Walk-in", "phone": "+852 9777 0003"},
    ):
        made = http.post(f"{base}/v1/contacts", json=person, headers=headers)
        assert made.status_code == 201, made.text


def sign_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.fill("#f-email", DEMO_ADMIN_EMAIL)
    page.fill("#f-password", password)
    page.click("button[type=submit]")


def test_admin_composes_to_a_tagged_audience_sees_the_count_and_preview_and_schedules(
    tmp_path: Path, demo_data: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = copy_of(demo_data, tmp_path)
    with server(data) as (base, _), sync_playwright() as playwright:
        seed(base, (data / "demo_tenant_key").read_text().strip())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmation before scheduling
        sign_in(page, base, (data / "demo_admin_password").read_text().strip())
        expect(page).to_have_url(f"{base}/console/knowledge")

        page.click("nav.sections >> text=Broadcasts")
        expect(page.locator("#no-broadcasts")).to_be_visible()
        fits_a_phone(page)
        page.click("#new-broadcast")
        expect(page.locator("#f-timezone")).to_have_value("Asia/Hong_Kong")  # the demo salon's zone
        page.fill("#f-name", "Autumn facial offer")
        page.fill("#f-content-text", "Hi {{first_name|there}}, autumn facials are 20% off this week!")
        expect(page.locator("#live-empty")).to_be_visible()  # no audience chosen yet
        page.select_option("#f-audience-conditions-0-field", "tags")
        page.select_option("#f-audience-conditions-0-op", "has")
        page.fill("#f-audience-conditions-0-value", "vip")
        # The panel follows the form without saving it: two of the three customers are tagged vip.
        expect(page.locator("#live-recipients")).to_have_text("2")
        expect(page.locator("#count-matching")).to_have_text("2")
        expect(page.locator("#preview-text")).to_have_text("Hi Winnie, autumn facials are 20% off this week!")
        page.focus("#f-preview")  # as a keyboard user reaches it
        page.select_option("#f-preview", index=1)  # the vip customer without a first name
        expect(page.locator("#preview-text")).to_have_text("Hi there, autumn facials are 20% off this week!")
        expect(page.locator("#f-preview")).to_be_focused()  # the refreshed panel keeps the keyboard's place
        fits_a_phone(page)

        tomorrow = datetime.now(UTC).astimezone(ZoneInfo("Asia/Hong_Kong")) + timedelta(days=1)
        page.fill("#f-send_at", tomorrow.strftime("%Y-%m-%dT10:00"))
        page.click("#save-broadcast")
        expect(page.locator(".notice")).to_have_text("Draft saved.")
        expect(page.locator("#broadcast-status")).to_have_text("Draft")
        expect(page.locator("#live-recipients")).to_have_text("2")  # the saved audience, counted on the page
        page.click("#do-publish")
        expect(page.locator(".notice")).to_have_text("Published.")
        expect(page.locator("#broadcast-status")).to_have_text("Scheduled")
        expect(page.locator("#broadcast-when")).to_have_text(f"sends at {tomorrow:%Y-%m-%d} 10:00 HKT")
        expect(page.locator("#no-metrics")).to_be_visible()  # nothing sent yet
        fits_a_phone(page)

        page.click("text=Back to the broadcasts")
        row = page.locator("#broadcasts tr", has_text="Autumn facial offer")
        expect(row).to_contain_text("Scheduled")
        expect(row).to_contain_text(f"{tomorrow:%Y-%m-%d} 10:00 HKT")
        page.click("#lang-zh-Hant")
        expect(page.locator("h1")).to_have_text("群發訊息")
        expect(page.locator("#broadcasts")).to_contain_text("已排程")
        fits_a_phone(page)
        browser.close()
