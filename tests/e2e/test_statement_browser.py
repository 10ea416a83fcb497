"""A miner's statement in headless Chromium on a cheap phone's screen (360x640), with scripts off, and
the card the cooperative prints: its QR code, read back from a screenshot, opens that statement."""
from __future__ import annotations

import io
import threading

import pytest
import zxingcpp
from PIL import Image
from werkzeug.serving import make_server

from composition.cli import save_card
from services.demo import seed_demo
from tests.browser import CHROMIUM_ARGS, OUTPUT, chromium_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture
def served_statement(platform, tmp_path):
    """The demo behind a real HTTP server; the first demo miner's statement URL and card."""
    links = seed_demo(platform)["statement_links"]
    server = make_server("127.0.0.1", 0, platform.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    url = base + links[0]["url"].removeprefix(platform.settings.public_base_url)
    card = tmp_path / "card.svg"
    save_card(platform, platform.views(), links[0]["miner_id"], url, card)
    yield url, card
    server.shutdown()
    thread.join(10)


def test_a_cheap_phone_reads_the_statement_without_scripts_and_the_card_opens_it(served_statement):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    url, card = served_statement
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 640}, device_scale_factor=1, locale="sw",
                                    is_mobile=True, has_touch=True, java_script_enabled=False)
            sizes: list[int] = []
            page.on("response", lambda response: sizes.append(len(response.body())))
            response = page.goto(url, wait_until="load", timeout=30_000)
            assert response is not None and response.status == 200
            assert page.locator("html").get_attribute("lang") == "sw"  # from the phone's language
            assert page.locator("h1").inner_text() == "Dhahabu yako na pesa zako"
            assert "Umelipwa" in page.locator("#money").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
            body_px = float(page.locator("body").evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
            assert body_px >= 18  # large text
            assert sum(sizes) < 20_000, sizes  # the page and its stylesheet: a small download
            page.screenshot(path=str(OUTPUT / "statement-360x640-sw.png"))
            page.goto(url + "?lang=ln", wait_until="load")
            assert page.locator("h1").inner_text() == "Wolo na yo mpe mbongo na yo"
            page.screenshot(path=str(OUTPUT / "statement-360x640-ln-full.png"), full_page=True)

            printed = browser.new_page(viewport={"width": 420, "height": 300}, device_scale_factor=2)
            printed.goto(card.as_uri(), wait_until="load")
            shot = printed.screenshot(path=str(OUTPUT / "statement-card.png"))
            decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
            assert [code.text for code in decoded] == [url]
        finally:
            browser.close()
    assert (OUTPUT / "statement-360x640-sw.png").stat().st_size > 10_000
