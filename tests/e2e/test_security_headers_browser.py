"""Under the Content-Security-Policy, Chromium still draws every HTML page as designed and reports no violation."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from services.demo import seed_demo
from tests.browser import CHROMIUM_ARGS, chromium_or_skip

pytestmark = pytest.mark.integration

#: records every CSP violation the page reports, before any of its own content runs
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    e => window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""


@pytest.fixture
def served_demo(platform):
    """The demo behind a real HTTP server on a free loopback port, with an admin key."""
    product = seed_demo(platform)["products"][0]
    key = platform.keys.create("oretrail-admin", "admin")
    server = make_server("127.0.0.1", 0, platform.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", product, key
    server.shutdown()
    thread.join(10)


def style_of(page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')")


def test_every_page_renders_with_its_styles_and_no_violation(served_demo):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base, product, key = served_demo
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900},
                                          extra_http_headers={"Authorization": f"Bearer {key}"})
            context.add_init_script(WATCH_VIOLATIONS)
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)

            def visit(path: str) -> None:
                response = page.goto(base + path, wait_until="load", timeout=30_000)
                assert response is not None and response.status == 200, path
                assert "default-src 'self'" in response.headers["content-security-policy"]
                assert page.evaluate("window.__violations") == [], path

            visit(f"/p/{product}")
            assert "linear-gradient" in style_of(page, ".hero", "background-image")
            fill, track = (page.locator(f"#origin .bar:not(.untraced) {part}").first.bounding_box()["width"]
                           for part in (".fill", ".track"))
            assert 0 < fill < track  # a share, drawn to scale by a width class

            visit("/impact")
            assert style_of(page, ".legend .swatch.women", "background-color") == "rgb(184, 51, 106)"
            assert page.locator("svg.chart").count() > 0

            visit(f"/v1/labels?product_id={product}")
            assert round(page.locator(".sheet").first.bounding_box()["width"]) == 794  # 210 mm at 96 dpi

            visit(f"/v1/products/{product}/due-diligence?format=html")
            assert "Georgia" in style_of(page, "body", "font-family")
            assert console == []
        finally:
            browser.close()
