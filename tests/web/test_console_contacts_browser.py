"""Contacts and tickets in headless Chromium, as `make run` serves them: the demo admin imports a CSV
(mapping, dry run with a row's error, run), finds the contact, tags it, opens a ticket for it and moves it;
each page fits a phone's width.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from knowledge.demo import DEMO_ADMIN_EMAIL
from tests.helpers.served import copy_of
from tests.test_serve import server
from tests.web.test_widget_browser import ARGS, CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

PEOPLE = (
    "Customer,Mobile,E-mail\nWinnie Lau,+852 9777 0001,winnie@shop.example\nNo Mail,+852 9777 0002,nope\n"
)


def fits_a_phone(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than a phone"


def test_admin_imports_finds_tags_and_opens_a_ticket_on_a_phone(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = copy_of(demo_data, tmp_path)
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE)
    with server(data) as (base, _), sync_playwright() as playwright:
        password = (data / "demo_admin_password").read_text().strip()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/console/sign-in")
        page.fill("#f-email", DEMO_ADMIN_EMAIL)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/console/knowledge")

        page.goto(f"{base}/console/contacts")
        fits_a_phone(page)
        page.click("text=Import")
        page.set_input_files("#f-file", str(people))
        page.click("#import-form button[type=submit]")
        page.select_option("#map-0", "name")
        page.select_option("#map-1", "phone")
        page.select_option("#map-2", "email")
        page.click("button[value=preview]")
        expect(page.locator("#counts")).to_contain_text("2 row(s): 1 new")
        expect(page.locator("#row-errors")).to_contain_text("not an email address")
        fits_a_phone(page)
        page.click("#run-import")
        expect(page.locator("#report h2")).to_have_text("Imported")

        page.goto(f"{base}/console/contacts")
        page.fill("#f-q", "winnie")
        page.press("#f-q", "Enter")
        page.locator("#contacts a", has_text="Winnie Lau").click()
        expect(page.locator("#contact-name")).to_have_text("Winnie Lau")
        fits_a_phone(page)
        page.fill("#f-tags", "vip")
        page.click("#contact-form button[type=submit]")
        expect(page.locator(".notice")).to_have_text("Contact saved.")
        expect(page.locator("#f-tags")).to_have_value("vip")

        page.click("#new-ticket")
        page.fill("#f-subject", "Wants a refund")
        page.select_option("#f-priority", "urgent")
        page.click("#new-ticket-form button[type=submit]")
        expect(page.locator(".notice")).to_have_text("Ticket created.")
        expect(page.locator("#sla")).to_contain_text("First response")
        fits_a_phone(page)
        page.click("button[value=in_progress]")
        expect(page.locator("#ticket-status")).to_have_text("In progress")

        page.goto(f"{base}/console/tickets")
        expect(page.locator("#tickets")).to_contain_text("Wants a refund")
        fits_a_phone(page)
        page.click("#lang-zh-Hant")
        expect(page.locator("h1")).to_have_text("工單")
        expect(page.locator("#tickets")).to_contain_text("處理中")
        fits_a_phone(page)
        browser.close()
