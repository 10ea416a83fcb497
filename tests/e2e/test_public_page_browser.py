"""The public page in headless Chromium on a phone-sized screen, served by a real HTTP server."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from services.demo import seed_demo
from tests.browser import CHROMIUM_ARGS, OUTPUT, chromium_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture
def served_demo(platform):
    """The demo platform behind a real HTTP server on a free loopback port."""
    products = seed_demo(platform)["products"]
    server = make_server("127.0.0.1", 0, platform.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", products[0]
    server.shutdown()
    thread.join(10)


def test_a_phone_reads_the_page_and_switches_to_french(served_demo):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base, product = served_demo
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                    locale="en-GB", is_mobile=True, has_touch=True)
            response = page.goto(f"{base}/p/{product}", wait_until="load", timeout=30_000)
            assert response is not None and response.status == 200
            assert page.locator("#claim h2").inner_text() == "What the record shows"
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
            page.screenshot(path=str(OUTPUT / "public-page-390x844-en.png"))
            page.screenshot(path=str(OUTPUT / "public-page-390x844-en-full.png"), full_page=True)

            page.click("#lang-fr")
            page.wait_for_url("**/p/*?lang=fr", timeout=15_000)
            assert page.locator("html").get_attribute("lang") == "fr"
            assert page.locator("#claim h2").inner_text() == "Ce que montre le registre"
            assert "Ce que l’on ne sait pas" in page.locator("#unknown").inner_text()
            assert page.locator("#lang-fr").get_attribute("aria-current") == "true"
            page.screenshot(path=str(OUTPUT / "public-page-390x844-fr.png"))

            page.goto(f"{base}/p/{product}", wait_until="load")  # the choice is remembered
            assert page.locator("#claim h2").inner_text() == "Ce que montre le registre"
        finally:
            browser.close()
    assert (OUTPUT / "public-page-390x844-fr.png").stat().st_size > 10_000
