"""The consumer's page and its QR code under load: requests/s and p99 with wrk against gunicorn.

The demo chain is seeded into a fresh data dir (its ring's ancestry holds ~330 events and 40
miners); gunicorn serves ``composition.wsgi:create_app()`` with 2 workers x 4 threads on loopback, and
wrk (Debian's package; installed with apt-get when missing) loads it from the same 2-core machine,
so the load generator takes its share of the CPU. A bare Flask "hello" (``bench/hello_app.py``) is
served and loaded the same way in the same run, in alternation with the page: the reference of the
ratios. "Quiet" is one client asking one request at a time. Targets: page from cache >= 3,000
req/s, and p99 <= 20 ms quiet; a cached QR PNG >= 2,000 req/s; the API's peak resident memory
(its largest gunicorn process) <= 300 MB.
"""
from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import cpu_seconds, latency_summary, process_tree, served

NAME = "public_page"
DURATION_S = 6
CONNECTIONS = 16
ROUNDS = 3
TARGETS = {"page_rps": 3000, "page_quiet_p99_ms": 20, "qr_rps": 2000, "api_peak_rss_mb": 300}


def run() -> dict:
    """Seed the demo, serve it and the hello with gunicorn, load each in turn with wrk; return the figures."""
    wrk = _wrk()
    api_memory: dict = {}
    hello_memory: dict = {}
    hello_process: dict = {}
    api_process: dict = {}
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-public-") as folder:
        env = {"ORETRAIL_DATA_DIR": str(Path(folder) / "data"), "ORETRAIL_LOG_LEVEL": "WARNING"}
        product, cold = _seed_and_time_cold_render(env)
        # both served side by side (an idle server costs nothing) and loaded in alternation, so the
        # reference and the page share the machine's moods alike; served() passes the port as $PORT
        with served(env, command=_gunicorn("bench.hello_app:create_app()"), ready_path="/hello",
                    memory=hello_memory, started=hello_process) as hello_base, \
                served(env, command=_gunicorn("composition.wsgi:create_app()"), ready_path="/healthz",
                       memory=api_memory, started=api_process) as base:
            hello_url, page_url, qr_url = f"{hello_base}/hello", f"{base}/p/{product}", f"{base}/p/{product}/qr.png"
            etag = requests.get(page_url, timeout=10).headers["ETag"]  # warm both workers' caches
            for _ in range(8):
                requests.get(page_url, timeout=10)
                requests.get(qr_url, timeout=10)
            hello_pids, api_pids = process_tree(hello_process["pid"]), process_tree(api_process["pid"])
            rounds = [{"hello": _load(wrk, hello_url, pids=hello_pids), "page": _load(wrk, page_url, pids=api_pids),
                       "hello_quiet": _load(wrk, hello_url, quiet=True, pids=hello_pids),
                       "page_quiet": _load(wrk, page_url, quiet=True, pids=api_pids)}
                      for _ in range(ROUNDS)]
            figures = {name: _combined(round_[name] for round_ in rounds)
                       for name in ("hello", "page", "hello_quiet", "page_quiet")}
            figures |= {
                "page_304_reload": _load(wrk, page_url, {"If-None-Match": etag}, pids=api_pids),
                "qr_png_cached": _load(wrk, qr_url, pids=api_pids),
                "rounds": rounds,
                "page_cold_render_in_process": cold,
                "page_bytes": len(requests.get(page_url, timeout=10).content),
            }
    hello, hello_quiet = figures["hello"], figures["hello_quiet"]
    figures["ratios_to_hello"] = {
        "page_rps": round(figures["page"]["rps"] / hello["rps"], 3),
        "page_rps_by_round": [round(r["page"]["rps"] / r["hello"]["rps"], 3) for r in rounds],
        "page_304_rps": round(figures["page_304_reload"]["rps"] / hello["rps"], 3),
        "page_quiet_p99": round(figures["page_quiet"]["p99_ms"] / hello_quiet["p99_ms"], 2),
        # what the server spends on a request, whatever else the machine runs: hello's / the page's
        "page_cpu_capacity": round(hello["server_cpu_us_per_request"] / figures["page"]["server_cpu_us_per_request"], 3),
    }
    figures["memory"] = {"api_peak_rss_mb": api_memory.get("peak_rss_mb"),
                         "hello_peak_rss_mb": hello_memory.get("peak_rss_mb"),
                         "target_api_peak_rss_mb": TARGETS["api_peak_rss_mb"]}
    figures["targets"] = TARGETS
    figures["met"] = {
        "page_rps": figures["page"]["rps"] >= TARGETS["page_rps"],
        "page_quiet_p99_ms": figures["page_quiet"]["p99_ms"] <= TARGETS["page_quiet_p99_ms"],
        "qr_rps": figures["qr_png_cached"]["rps"] >= TARGETS["qr_rps"],
        "api_peak_rss_mb": (api_memory.get("peak_rss_mb") or float("inf")) <= TARGETS["api_peak_rss_mb"],
    }
    figures["setup"] = (f"gunicorn gthread 2 workers x 4 threads, the page and the hello alike; wrk -t2 "
                        f"-c{CONNECTIONS} -d{DURATION_S}s (quiet: -t1 -c1) on the same 2-core machine, hello "
                        f"and page in alternation ({ROUNDS} rounds of each; rps averaged, percentiles the rounds' median); demo "
                        f"ring (~330 events in its record); peak RSS: the largest gunicorn process (VmHWM)")
    return figures


def _combined(loads) -> dict:
    """One figure of several wrk runs of the same URL: rps averaged, each latency percentile the
    median of the runs' (one run hit by another process's burst on the shared machine does not
    decide it), and the worst p99 beside it."""
    loads = list(loads)
    middle = {key: statistics.median(load[key] or 0 for load in loads) for key in ("p50_ms", "p90_ms", "p99_ms")}
    return {"rps": round(sum(load["rps"] for load in loads) / len(loads), 1),
            "requests": sum(load["requests"] for load in loads), **middle,
            "p99_ms_worst_run": max(load["p99_ms"] or 0 for load in loads),
            "server_cpu_us_per_request": round(statistics.fmean(load["server_cpu_us_per_request"] for load in loads), 1),
            "non_2xx_3xx": sum(load["non_2xx_3xx"] for load in loads),
            "socket_errors": next((load["socket_errors"] for load in loads if load["socket_errors"]), None)}


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


def _load(wrk: str, url: str, headers: dict[str, str] | None = None, quiet: bool = False,
          pids: list[int] | None = None) -> dict:
    """wrk's requests/s and latency percentiles for ``url`` (``quiet``: one connection), and the CPU
    the server's processes ``pids`` spent per request meanwhile."""
    load = ["-t1", "-c1"] if quiet else ["-t2", f"-c{CONNECTIONS}"]
    command = [wrk, *load, f"-d{DURATION_S}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(pids or [])
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True, timeout=DURATION_S + 60).stdout
    cpu_used = cpu_seconds(pids or []) - cpu_before
    percentiles = {match[0]: _ms(match[1]) for match in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    requests_done = int(re.search(r"(\d+) requests in", output).group(1))
    return {
        "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "requests": requests_done,
        "server_cpu_us_per_request": round(cpu_used / max(requests_done, 1) * 1e6, 1) if pids else None,
        "p50_ms": percentiles.get("50"),
        "p90_ms": percentiles.get("90"),
        "p99_ms": percentiles.get("99"),
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 3)
