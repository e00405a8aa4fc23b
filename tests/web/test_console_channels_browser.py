"""The Channels page in headless Chromium, as `make run` serves it: the demo admin signs in, connects a
Telegram bot with the form (the secret token filled in for them), gets the webhook URL and the setWebhook
address to paste, and the bot token is never shown back, there or on the channel's page (only "set");
the pages fit a phone's width.

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

BOT_TOKEN = "7312345678:AAFq-Zx3kT9pLmN0vB2cD4eF6gH8iJ0kLmN"


def test_admin_connects_telegram_and_the_token_is_not_shown_back(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    def fits_a_phone(page: Page, name: str) -> None:
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow}px wider than a phone"
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    data = copy_of(demo_data, tmp_path)
    with server(data) as (base, _proc), sync_playwright() as playwright:
        password = (data / "demo_admin_password").read_text().strip()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/console/channels")
        expect(page).to_have_url(f"{base}/console/sign-in?next=/console/channels")
        page.fill("#f-email", DEMO_ADMIN_EMAIL)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/console/channels")
        expect(page.locator("h1")).to_have_text("Channels")
        expect(page.locator("#snippet")).to_contain_text('data-widget-key="wk_')

        page.click("#connect-telegram")
        expect(page.locator("h1")).to_have_text("Connect Telegram")
        expect(page.locator("#h-bot_token")).to_contain_text("@BotFather")
        secret = page.input_value("#f-secret_token")
        assert len(secret) >= 32, "a random secret token is filled in"
        fits_a_phone(page, "channel-form-phone")
        page.fill("#f-name", "Lotus Glow bot")
        page.fill("#f-bot_token", BOT_TOKEN)
        expect(page.locator("#f-bot_token")).to_have_attribute("type", "password")
        page.click("#connect-form button[type=submit]")

        expect(page.locator("h1")).to_have_text("Lotus Glow bot is connected")
        url = page.input_value("#webhook-url")
        assert url.startswith(f"{base}/webhooks/telegram/"), url
        expect(page.locator("#setwebhook")).to_contain_text(f"secret_token={secret}")
        expect(page.locator("#chosen-secret_token")).to_have_value(secret)
        assert BOT_TOKEN not in page.content(), "the bot token is shown back"
        fits_a_phone(page, "channel-connected-phone")

        page.click("#open-channel")
        expect(page.locator("#sealed-bot_token")).to_have_text("set")
        expect(page.locator("#sealed-secret_token")).to_have_text("set")
        expect(page.locator("#channel-state")).to_have_text("Waiting for the first delivery")
        expect(page.locator("#webhook-url")).to_have_value(url)
        content = page.content()
        assert BOT_TOKEN not in content and secret not in content, "a sealed value is on the channel's page"
        fits_a_phone(page, "channel-phone")

        page.click("text=All channels")
        row = page.locator("tr", has=page.locator("td.name", has_text="Lotus Glow bot"))
        expect(row).to_have_attribute("data-state", "waiting")
        fits_a_phone(page, "channels-phone")
        assert BOT_TOKEN not in page.content()
        browser.close()
