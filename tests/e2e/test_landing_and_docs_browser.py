"""A newcomer in headless Chromium: the landing page leads to a demo piece and to the API docs, which
render every operation from /openapi.yaml with no request leaving this machine."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from composition.bootstrap import build_platform
from services.demo import seed_demo
from services.settings import Settings
from tests.browser import CHROMIUM_ARGS, OUTPUT, chromium_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture
def served_demo(tmp_path):
    """The demo (embedded: SQLite) behind a real HTTP server on a free loopback port."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "data")}))
    seed_demo(platform)
    server = make_server("127.0.0.1", 0, platform.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    platform.close()


def test_a_newcomer_finds_a_piece_and_reads_the_api_docs_offline(served_demo):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base = served_demo
    outside: list[str] = []
    errors: list[str] = []
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
            page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            assert page.goto(f"{base}/", wait_until="load").status == 200
            page.click("#piece")
            page.wait_for_url("**/p/*", timeout=15_000)
            assert page.locator("#claim h2").inner_text() == "What the record shows"

            page.goto(f"{base}/", wait_until="load")
            page.click("#docs")
            page.wait_for_url("**/docs", timeout=15_000)
            capture = page.locator(".opblock-post .opblock-summary-path", has_text="/v1/events")
            capture.first.wait_for(state="visible", timeout=30_000)
            provenance = page.locator(".opblock-get .opblock-summary-path",
                                      has_text="/v1/products/{product_id}/provenance")
            assert provenance.count() == 1
            assert page.locator(".opblock").count() >= 20  # every operation of the document
            capture.first.click()  # opens: its request body and answers are drawn from the schemas
            page.locator(".opblock-post.is-open .responses-wrapper").wait_for(state="visible", timeout=15_000)
            assert "Request body" in page.locator(".opblock-post.is-open").inner_text()
            page.screenshot(path=str(OUTPUT / "api-docs.png"))
        finally:
            browser.close()
    assert outside == [], "the docs must work offline: the browser fetched " + ", ".join(outside)
    # the piece's page names no icon, so Chromium asks for /favicon.ico: not an error of these pages
    assert [error for error in errors if not error.endswith("/favicon.ico")] == []
    assert (OUTPUT / "api-docs.png").stat().st_size > 20_000
