"""What the published site's browser checks share (site_check.py, phone_layout.py): Debian's
Chromium started by Playwright in a throwaway profile with no network, every request recorded,
any that is not file: or data: aborted and reported as having left the page, and console
errors collected.
"""

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def open_page(playwright, profile, chromium, report, **context):
    """A page of a new persistent browser context; `report` gets "requests", "left_the_page" and
    "console_errors". `context` adds options (viewport, is_mobile, ...). Returns (browser, page)."""
    report.setdefault("requests", [])
    report.setdefault("left_the_page", [])
    report.setdefault("console_errors", [])
    browser = playwright.chromium.launch_persistent_context(
        profile, executable_path=chromium, headless=True, args=FLAGS,
        # No proxy can be reached: anything that tried the network would fail, and is also aborted below.
        proxy={"server": "http://127.0.0.1:9"}, **context,
    )

    def on_route(route):
        url = route.request.url
        report["requests"].append(url)
        if url.startswith("file:") or url.startswith("data:"):
            route.continue_()
        else:
            report["left_the_page"].append(url)
            route.abort()

    browser.route("**/*", on_route)
    page = browser.new_page()
    page.on("console", lambda m: m.type == "error" and report["console_errors"].append(m.text))
    page.on("pageerror", lambda e: report["console_errors"].append(str(e)))
    return browser, page
