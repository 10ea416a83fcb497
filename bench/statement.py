"""A miner's statement page under load, against the public page in the same run: p99 with wrk against gunicorn.

The demo is seeded into a fresh data dir (its cooperative's payouts, its miners' payments and two
statement links); gunicorn serves ``composition.wsgi:create_app()`` with 2 workers x 4 threads on
loopback and wrk loads, one after the other, the first demo miner's statement (``/m/{token}``:
a token lookup on every request, the page rendered once per state of the read models) and the
demo ring's public page (``/p/{id}``). wrk runs on the same 2-core machine, so it takes its share of
the CPU; both pages are loaded at 4 connections (a cooperative's office, a few phones at once) and
at 16 (the public page benchmark's load). Target: statement p99 <= 50 ms. The uncached render of
each page (what a cache miss costs) is timed in process too.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import latency_summary, served
from bench.public_page import _load, _wrk

NAME = "statement"
TARGETS = {"statement_p99_ms": 50}
LOADS = (4, 16)


def run() -> dict:
    """Seed the demo, serve it with gunicorn, load the statement and the public page with wrk."""
    wrk = _wrk()
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-statement-") as folder:
        env = {"ORETRAIL_DATA_DIR": str(Path(folder) / "data"), "ORETRAIL_LOG_LEVEL": "WARNING"}
        statement_path, product, cold = _seed_and_time_cold_renders(env)
        command = ["sh", "-c", f'exec "{sys.executable}" -m gunicorn -w 2 --threads 4 -k gthread '
                               '-b "127.0.0.1:$PORT" --log-level warning "composition.wsgi:create_app()"']
        with served(env, command=command, ready_path="/healthz") as base:
            statement_url, page_url = f"{base}{statement_path}", f"{base}/p/{product}"
            for _ in range(8):  # warm both workers' caches
                assert requests.get(statement_url, timeout=10).status_code == 200
                requests.get(page_url, timeout=10)
            figures: dict = {}
            for connections in LOADS:
                figures[f"statement_c{connections}"] = _load_at(wrk, statement_url, connections)
                figures[f"public_page_c{connections}"] = _load_at(wrk, page_url, connections)
            figures["statement_bytes"] = len(requests.get(statement_url, timeout=10).content)
            figures["statement_css_bytes"] = len(requests.get(f"{base}/static/statement.css", timeout=10).content)
    figures["cold_render_in_process"] = cold
    for connections in LOADS:
        statement, public = figures[f"statement_c{connections}"], figures[f"public_page_c{connections}"]
        figures[f"p99_ratio_to_public_page_c{connections}"] = round(statement["p99_ms"] / public["p99_ms"], 2)
    figures["targets"] = TARGETS
    figures["met"] = {"statement_p99_ms": figures["statement_c4"]["p99_ms"] <= TARGETS["statement_p99_ms"]}
    figures["setup"] = ("gunicorn gthread 2 workers x 4 threads; wrk -t2 -d10s at 4 and 16 connections on the same "
                        "2-core machine; the demo's first statement link and its first ring")
    return figures


def _load_at(wrk: str, url: str, connections: int) -> dict:
    """wrk's figures for ``url`` at ``connections`` connections."""
    import bench.public_page as public_page

    saved = public_page.CONNECTIONS
    public_page.CONNECTIONS = connections
    try:
        return _load(wrk, url)
    finally:
        public_page.CONNECTIONS = saved


def _seed_and_time_cold_renders(env: dict[str, str]) -> tuple[str, str, dict]:
    """Seed the demo; time the uncached statement and public page (what a cache miss costs)."""
    from composition.bootstrap import build_platform
    from services.demo import seed_demo
    from services.settings import Settings

    platform = build_platform(Settings.from_env(env))
    try:
        summary = seed_demo(platform)
        path = summary["statement_links"][0]["url"].removeprefix(platform.settings.public_base_url)
        product = summary["products"][0]
        samples: dict[str, list[float]] = {"statement": [], "public_page": []}
        for _ in range(20):
            views = platform.views()  # fresh views: no page cached
            client = platform.create_app(views).test_client()
            for name, url in (("statement", path), ("public_page", f"/p/{product}")):
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                samples[name].append(time.perf_counter() - started)
    finally:
        platform.close()
    return path, product, {name: latency_summary(values) for name, values in samples.items()}
