"""The Evals page in headless Chromium, as `make run` serves it: a QA user invited to the demo salon signs in,
uploads the demo dataset, runs it with the demo gate's thresholds, watches it finish without reloading,
and reads the gate's verdict and the report inside the page; on a phone's width and in Chinese.

Needs Debian's chromium (`.ci/run` installs it); Playwright drives it (no browser download).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.served import copy_of
from tests.test_serve import ROOT, http, server, wait_ready
from tests.web.test_console_contacts_browser import fits_a_phone
from tests.web.test_widget_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

DATASETS = ROOT / "evals" / "datasets"
PASSWORD = "a long enough secret"


def test_qa_runs_the_demo_dataset_and_opens_its_report(tmp_path: Path, demo_data: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    data = copy_of(demo_data, tmp_path)
    # The demo gate's thresholds; its max_regression needs a baseline run, which this first run has not.
    thresholds = (DATASETS / "demo.gate.yaml").read_text().split("\n# Against")[0]
    assert "max_regression" not in thresholds and "fact_recall: 1.0" in thresholds
    with server(data) as (base, _), sync_playwright() as playwright:
        key = (data / "demo_tenant_key").read_text().strip()
        wait_ready(base, key)  # the demo knowledge indexed: the run's scores mean something
        invited = http.post(
            f"{base}/v1/staff/invitations",
            json={"email": "qa@lotus-glow.example", "role": "qa"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert invited.status_code == 201, invited.text

        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(invited.json()["url"])
        page.fill("#f-password", PASSWORD)
        page.fill("#f-confirm", PASSWORD)
        page.click("main button[type=submit]")
        expect(page).to_have_url(f"{base}/console/evals")
        page.click("header button:has-text('Sign out')")
        page.goto(f"{base}/console/sign-in")
        page.fill("#f-email", "qa@lotus-glow.example")
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        expect(page).to_have_url(f"{base}/console/evals")  # the QA role's home
        expect(page.locator("#no-runs")).to_be_visible()
        fits_a_phone(page)

        page.set_input_files("#f-file", str(DATASETS / "demo.yaml"))
        page.click("#upload-form button[type=submit]")
        expect(page.locator(".notice")).to_have_text("Dataset uploaded.")
        expect(page.locator("#datasets")).to_contain_text("demo")
        page.fill("#f-gate", thresholds)
        page.click("#start-form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/evals/runs/\w+$"))
        run_id = page.url.rsplit("/", 1)[1]
        # The page is not reloaded: its run part is fetched again until the run is done.
        expect(page.locator("#run-status")).to_have_text("Done", timeout=240_000)
        expect(page.locator("#run-progress")).to_have_text("16 of 16 cases")
        expect(page.locator("#gate-verdict")).to_have_text("The gate passed.")
        expect(page.locator('#thresholds tr[data-metric="fact_recall"]')).to_contain_text("met")
        expect(page.locator("#no-comparison")).to_be_visible()
        fits_a_phone(page)

        report = page.frame_locator("#report")
        expect(report.locator("h1")).to_contain_text(f"demo v1 · run {run_id}")
        expect(report.locator("body")).to_contain_text("The gate passed.")
        assert report.locator("svg.hist").count() > 3  # the plots are drawn inside the console
        frame = page.locator("#report").bounding_box()
        assert frame is not None and frame["height"] > 300

        page.click("text=Back to the evals")
        expect(page.locator(f"#run-row-{run_id}")).to_contain_text("Done")
        page.click("#lang-zh-Hant")
        expect(page.locator("h1")).to_have_text("評估")
        expect(page.locator(f"#run-row-{run_id}")).to_contain_text("已完成")
        fits_a_phone(page)
        browser.close()
