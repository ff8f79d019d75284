"""Open a published Nightjar site in headless Chromium (Debian's package,
driven by Playwright) and report what a reader would see, as JSON, for
tests/risk_site.rs.

Usage: python3 site_check.py SITE_DIR SCREENSHOT_DIR [CHROMIUM]

Every request the pages make is recorded; any that is not file: or data: is
aborted and reported ("left the page", see site_browser.py). Screenshots of the index (count and
score views) and of a country page are written to SCREENSHOT_DIR.
"""

import json
import pathlib
import sys
import tempfile

from playwright.sync_api import sync_playwright

from site_browser import open_page

NO_DATA = "#e3e3e3"


def main():
    site = pathlib.Path(sys.argv[1]).resolve()
    shots = pathlib.Path(sys.argv[2]).resolve()
    chromium = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/chromium"
    shots.mkdir(parents=True, exist_ok=True)
    report = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser, page = open_page(p, profile, chromium, report, viewport={"width": 1280, "height": 900})
        page.goto((site / "index.html").as_uri())
        page.wait_for_load_state("load")
        fills = page.eval_on_selector_all("path[data-country]", "ps => ps.map(p => p.getAttribute('fill'))")
        report["map_paths"] = len(fills)
        report["coloured_countries"] = sum(1 for f in fills if f and f.lower() != NO_DATA)
        report["distinct_fills"] = sorted(set(fills))
        report["map_box"] = page.eval_on_selector("svg.map", "s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; }")
        counts = page.eval_on_selector_all("table.ranking tbody tr", "rs => rs.map(r => Number(r.dataset.count))")
        report["table_counts"] = counts
        report["table_ranks"] = page.eval_on_selector_all("table.ranking tbody tr td:first-child", "ts => ts.map(t => Number(t.textContent))")
        page.screenshot(path=str(shots / "index-count.png"))

        page.check("input[name=metric][value=score]")
        report["score_legend_visible"] = page.is_visible("[data-legend=score]")
        report["count_legend_visible"] = page.is_visible("[data-legend=count]")
        page.check("input[name=metric][value=rate]")
        rates = page.eval_on_selector_all("table.ranking tbody tr", "rs => rs.map(r => r.dataset.rate === '' ? null : Number(r.dataset.rate))")
        report["table_rates_after_switch"] = rates
        report["fills_after_rate_switch"] = page.eval_on_selector_all("path[data-country]", "ps => ps.filter(p => p.getAttribute('fill') !== p.dataset.fillCount).length")
        page.screenshot(path=str(shots / "index-rate.png"))

        first_link = page.eval_on_selector("table.ranking tbody tr a", "a => a.getAttribute('href')")
        report["first_country_link"] = first_link
        page.click("table.ranking tbody tr a")
        page.wait_for_load_state("load")
        report["country_url"] = page.url
        report["country_title"] = page.inner_text("h1")
        report["country_charts"] = page.locator("svg.chart").count()
        page.screenshot(path=str(shots / "country.png"), full_page=True)

        page.goto((site / "risk-ssh.html").as_uri())
        report["risk_page_title"] = page.inner_text("h1")
        report["risk_page_asn_rows"] = page.locator("table:not(.ranking) tbody tr").count()
        report["suppressed_note"] = page.inner_text("[data-suppressed]")
        page.screenshot(path=str(shots / "risk-ssh.png"), full_page=True)
        browser.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
