"""The consumer's page and its QR code under load: requests/s and p99 with wrk against gunicorn.

The demo chain is seeded into a fresh data dir (its ring's ancestry holds ~330 events and 40
miners); gunicorn serves ``composition.wsgi:create_app()`` with 2 workers x 4 threads on loopback, and
wrk (Debian's package; installed with apt-get when missing) loads it from the same 2-core machine,
so the load generator takes its share of the CPU. A bare Flask "hello" (``bench/hello_app.py``) is
served and loaded the same way in the same run: the reference of the ratios. "Quiet" is one client
asking one request at a time. Targets: page from cache >= 3,000 req/s, and p99 <= 20 ms quiet;
a cached QR PNG >= 2,000 req/s.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import latency_summary, served

NAME = "public_page"
DURATION_S = 10
CONNECTIONS = 16
TARGETS = {"page_rps": 3000, "page_quiet_p99_ms": 20, "qr_rps": 2000}


def run() -> dict:
    """Seed the demo, serve it with gunicorn, load the page and the QR with wrk; return the figures."""
    wrk = _wrk()
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-public-") as folder:
        env = {"ORETRAIL_DATA_DIR": str(Path(folder) / "data"), "ORETRAIL_LOG_LEVEL": "WARNING"}
        product, cold = _seed_and_time_cold_render(env)
        # served() chooses the port and passes it as $PORT
        with served(env, command=_gunicorn("bench.hello_app:create_app()"), ready_path="/hello") as base:
            hello = {"hello": _load(wrk, f"{base}/hello"), "hello_quiet": _load(wrk, f"{base}/hello", quiet=True)}
        with served(env, command=_gunicorn("composition.wsgi:create_app()"), ready_path="/healthz") as base:
            page_url, qr_url = f"{base}/p/{product}", f"{base}/p/{product}/qr.png"
            etag = requests.get(page_url, timeout=10).headers["ETag"]  # warm both workers' caches
            for _ in range(8):
                requests.get(page_url, timeout=10)
                requests.get(qr_url, timeout=10)
            figures = {
                "page": _load(wrk, page_url),
                "page_quiet": _load(wrk, page_url, quiet=True),
                "page_304_reload": _load(wrk, page_url, {"If-None-Match": etag}),
                "qr_png_cached": _load(wrk, qr_url),
                "page_cold_render_in_process": cold,
                "page_bytes": len(requests.get(page_url, timeout=10).content),
            }
    figures.update(hello)
    figures["ratios_to_hello"] = {
        "page_rps": round(figures["page"]["rps"] / hello["hello"]["rps"], 3),
        "page_304_rps": round(figures["page_304_reload"]["rps"] / hello["hello"]["rps"], 3),
        "page_quiet_p99": round(figures["page_quiet"]["p99_ms"] / hello["hello_quiet"]["p99_ms"], 2),
    }
    figures["targets"] = TARGETS
    figures["met"] = {
        "page_rps": figures["page"]["rps"] >= TARGETS["page_rps"],
        "page_quiet_p99_ms": figures["page_quiet"]["p99_ms"] <= TARGETS["page_quiet_p99_ms"],
        "qr_rps": figures["qr_png_cached"]["rps"] >= TARGETS["qr_rps"],
    }
    figures["setup"] = (f"gunicorn gthread 2 workers x 4 threads; wrk -t2 -c{CONNECTIONS} -d{DURATION_S}s (quiet: "
                        f"-t1 -c1) on the same 2-core machine; demo ring (~330 events in its record)")
    return figures


def _seed_and_time_cold_render(env: dict[str, str]) -> tuple[str, dict]:
    """Seed the demo; time the uncached story + render of its first ring (what a cache miss costs)."""
    from composition.bootstrap import build_platform
    from services.demo import seed_demo
    from services.settings import Settings

    platform = build_platform(Settings.from_env(env))
    try:
        product = seed_demo(platform)["products"][0]
        views = platform.views()
        client = platform.create_app(views).test_client()
        pages = views.pages
        samples = []
        for _ in range(20):
            pages._pages.clear()  # a cache miss each time
            started = time.perf_counter()
            assert client.get(f"/p/{product}").status_code == 200
            samples.append(time.perf_counter() - started)
    finally:
        platform.close()
    return product, latency_summary(samples)


def _wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"], check=True,
                       stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return path


def _gunicorn(app: str) -> list[str]:
    """gunicorn serving ``app`` as the benchmark serves every app (served() passes the port as $PORT)."""
    return ["sh", "-c", f'exec "{sys.executable}" -m gunicorn -w 2 --threads 4 -k gthread '
                        f'-b "127.0.0.1:$PORT" --log-level warning "{app}"']


def _load(wrk: str, url: str, headers: dict[str, str] | None = None, quiet: bool = False) -> dict:
    """wrk's requests/s and latency percentiles for ``url`` (``quiet``: one connection)."""
    load = ["-t1", "-c1"] if quiet else ["-t2", f"-c{CONNECTIONS}"]
    command = [wrk, *load, f"-d{DURATION_S}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True, timeout=DURATION_S + 60).stdout
    percentiles = {match[0]: _ms(match[1]) for match in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": percentiles.get("50"),
        "p90_ms": percentiles.get("90"),
        "p99_ms": percentiles.get("99"),
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 3)
