"""Open pages of a published Nightjar site in headless Chromium (Debian's package, driven by
Playwright) at a phone's viewport, 390 x 844 CSS pixels, and report for each whether the page
scrolls sideways, as JSON, for tests/risk_site.rs.

Usage: python3 phone_layout.py SITE_DIR SCREENSHOT_DIR CHROMIUM PAGE...

For every PAGE (a file name inside SITE_DIR) it prints the page's scroll width, the viewport's
inner width, how many tables sit in a sideways-scrolling box, and saves a full-page screenshot.
Requests that are not file: or data: are aborted and reported (site_browser.py).
"""

import json
import pathlib
import sys
import tempfile

from playwright.sync_api import sync_playwright

from site_browser import open_page

PHONE = {"width": 390, "height": 844}

MEASURE = """() => {
  const tables = Array.from(document.querySelectorAll("table"));
  return {
    scroll_width: document.scrollingElement.scrollWidth,
    inner_width: window.innerWidth,
    tables: tables.length,
    tables_in_scroll_box: tables.filter(t => t.parentElement && getComputedStyle(t.parentElement).overflowX === "auto").length,
    map_drawn: document.querySelectorAll("svg.map path[data-country]").length,
  };
}"""


def main():
    site = pathlib.Path(sys.argv[1]).resolve()
    shots = pathlib.Path(sys.argv[2]).resolve()
    chromium = sys.argv[3]
    pages = sys.argv[4:]
    shots.mkdir(parents=True, exist_ok=True)
    report = {"pages": {}}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser, page = open_page(
            p, profile, chromium, report, viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True,
        )
        for name in pages:
            page.goto((site / name).as_uri())
            page.wait_for_load_state("load")
            report["pages"][name] = page.evaluate(MEASURE)
            page.screenshot(path=str(shots / ("phone-" + name.replace(".html", ".png"))), full_page=True)
        browser.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
