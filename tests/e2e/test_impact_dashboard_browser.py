"""The impact dashboard in a real browser: the demo served by ``oretrail serve``, opened in headless
Chromium; the charts must be drawn with data, offline, and a screenshot is kept in test-output/."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.common import served
from tests.browser import LAUNCH_ARGS, OUTPUT, chromium_or_skip

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("dashboard")
    env = {"ORETRAIL_DATA_DIR": str(data_dir)}
    seeded = subprocess.run([sys.executable, "-m", "composition.cli", "demo"], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    with served(env) as base:
        yield base


def test_the_dashboard_draws_its_charts_in_chromium(demo_server):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(demo_server) else None)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            response = page.goto(f"{demo_server}/impact?cooperative_id=coop-ituri-or", wait_until="load")
            assert response.status == 200
            charts = page.locator("svg.chart")
            assert charts.count() == 8
            for index in range(charts.count()):
                box = charts.nth(index).bounding_box()
                assert box and box["width"] > 300 and box["height"] > 100, index
            # trends over time, women and men: a price per gram for most of the 24 months, for each
            price = page.locator("#chart-price svg.chart")
            for series in ("Women", "Men"):
                values = [float(v) for v in price.locator(f'circle.point[data-series="{series}"]').evaluate_all(
                    "els => els.map(e => e.dataset.value)")]
                assert len(values) >= 12 and all(40 < value < 120 for value in values), (series, values)
            savings = page.locator("#chart-savings circle.point").evaluate_all("els => els.map(e => +e.dataset.value)")
            assert len(savings) >= 20 and 3 < sum(savings) / len(savings) < 6  # about USD 4.30 a member a month
            bars = page.locator("#chart-groups rect.bar")
            assert bars.count() == 4
            # painted, not just present: the women's bars take the women's colour and have a height
            women_bar = page.locator('#chart-groups rect.bar[data-series="Women"]').first
            assert women_bar.evaluate("e => getComputedStyle(e).fill") == "rgb(184, 51, 106)"
            assert women_bar.bounding_box()["height"] > 20
            OUTPUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT / "impact-dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert outside == [], "the page must work offline: it fetched " + ", ".join(outside)
    assert errors == []
    assert (OUTPUT / "impact-dashboard.png").stat().st_size > 20_000
