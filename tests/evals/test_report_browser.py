"""The HTML report in headless Chromium: self-contained, with its tables and SVG plots drawn."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from evals.agreement import agreement
from evals.dataset import Case, Expect
from evals.gate import Gate, evaluate
from evals.metrics import score_case, summary
from evals.report import BINS, render_html
from evals.runner import CaseRun
from tests.web.test_widget_browser import ARGS, CHROMIUM

PASSAGE = {"id": "s1", "name": "prices.xlsx", "text": "Gel Manicure <b>HK$350</b>; 深層保濕面部護理 HK$880"}
CASES = [
    Case(
        id="gel",
        kind="golden",
        question="Gel manicure?",
        reference="HK$350",
        reference_facts=["350"],
        rating="up",
    ),
    Case(
        id="facial",
        kind="golden",
        question="面部護理幾錢？",
        reference="HK$880",
        reference_facts=["880"],
        rating="down",
    ),
    Case(id="person", kind="behaviour", question="a person please", expect=Expect(handoff=True)),
]


def make_run(run_id: str, replies: list[str], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    runs = [
        CaseRun(case_id=c.id, reply=r, contexts=[PASSAGE], handoff=c.kind == "behaviour" and "colleague" in r)
        for c, r in zip(CASES, replies, strict=True)
    ]
    results = [asyncio.run(score_case(c, r)) for c, r in zip(CASES, runs, strict=True)]
    run = {
        "id": run_id,
        "dataset": {"name": "tiny", "version": "1", "cases": 3},
        "started_at": "2026-11-25T17:00:00+00:00",
        "model": "LocalGroundedModel",
        "judge": None,
        "summary": summary(results),
        "agreement": agreement(results),
        "results": results,
    }
    run["gate"] = evaluate(Gate(thresholds={"fact_recall": 1.0}, max_regression=0.0), run, previous)
    return run


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_opens_in_chromium_with_its_plots(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    before = make_run("run1", ["HK$350", "HK$880 深層保濕面部護理", "a colleague will reply"])
    after = make_run("run2", ["HK$350", "I don't know", "I can't help"], previous=before)
    assert not after["gate"]["passed"]
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(after, before), encoding="utf-8")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file:") else None)
        page.goto(page_file.as_uri())
        metrics = len(after["summary"]["metrics"])
        assert page.locator("svg.hist").count() == metrics
        assert page.locator("svg.hist rect.bar").count() == metrics * BINS
        # every case scored in both runs has a bar in the diff plot; the two that got worse are red
        assert page.locator("svg.diffplot rect.diff").count() == 3
        assert page.locator('svg.diffplot rect.diff[fill="#b3261e"]').count() == 2
        # bars are drawn: they have a size on the page, and the counts add up to the cases
        box = page.locator(
            'svg.hist[data-metric="fact_recall"] rect.bar[data-count="1"]'
        ).first.bounding_box()
        assert box is not None and box["height"] > 10 and box["width"] > 5
        counts = page.eval_on_selector_all(
            'svg.hist[data-metric="fact_recall"] rect.bar', "bars => bars.map(b => +b.dataset.count)"
        )
        assert sum(counts) == 2
        # worst cases first, with their passages (escaped, not rendered as HTML)
        order = page.eval_on_selector_all("tr.case", "rows => rows.map(r => r.dataset.case)")
        assert order[0] in ("facial", "person") and order[-1] == "gel"
        assert "<b>HK$350</b>" in (page.text_content("tr.case[data-case='gel'] details pre") or "")
        assert "The gate failed" in page.inner_text("body") and "fell by" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
        assert outside == []  # self-contained: nothing is fetched
        browser.close()
