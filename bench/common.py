"""Shared helpers of the benchmarks: free ports, a served platform, percentiles, result files."""
from __future__ import annotations

import json
import os
import platform as host_platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import requests

from composition.bootstrap import build_platform
from services.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def admin_key(data_dir: Path) -> str:
    """A fresh admin API key for the embedded platform in ``data_dir``."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir)}))
    try:
        return platform.keys.create("bench-admin", "admin")
    finally:
        platform.close()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def latency_summary(samples_s: list[float]) -> dict[str, float]:
    """p50, p90, p99 and mean in milliseconds."""
    return {
        "n": len(samples_s),
        "p50_ms": round(percentile(samples_s, 0.50) * 1000, 2),
        "p90_ms": round(percentile(samples_s, 0.90) * 1000, 2),
        "p99_ms": round(percentile(samples_s, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples_s) * 1000, 2),
    }


def peak_rss_mb(pid: int) -> float | None:
    """The largest peak resident memory (``VmHWM``, MB) of a running process and its descendants (a
    gunicorn master's worker holds the app); None if none can be read."""
    peaks = []
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        peaks += [round(int(line.split()[1]) / 1024, 1) for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks) if peaks else None


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it (a gunicorn master and its workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children.get(current, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user + system) the processes ``pids`` have used so far; gone ones count nothing.

    Unlike requests/s, it hardly moves with what else runs on a shared machine: the cost of a request
    in CPU per request is the steadier figure to compare two servers by.
    """
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(env: dict[str, str], command: list[str] | None = None, ready_path: str = "/healthz",
           timeout: float = 60, memory: dict[str, Any] | None = None,
           started: dict[str, Any] | None = None) -> Iterator[str]:
    """Run ``oretrail serve`` (or ``command``) on a free port; yield its base URL; stop it after.

    ``memory``: where to put the process's peak resident memory (``peak_rss_mb``) just before it stops.
    ``started``: where to put the process's id (``pid``) once it answers.
    """
    port = free_port()
    full_env = {**os.environ, **env, "PORT": str(port), "ORETRAIL_LOG_LEVEL": "WARNING"}
    command = command or [sys.executable, "-m", "composition.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=full_env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(base + ready_path, timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or too busy starting to answer in time
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start (exit {process.poll()})")
            time.sleep(0.1)
        if started is not None:
            started["pid"] = process.pid
        yield base
    finally:
        if memory is not None:
            memory["peak_rss_mb"] = peak_rss_mb(process.pid)
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def post_events(session: requests.Session, base: str, headers: dict, events: list[dict], batch: int = 500) -> None:
    """POST ``events`` to ``base`` in batches of ``batch``; any answer but a 2xx raises."""
    for start in range(0, len(events), batch):
        session.post(f"{base}/v1/events", json={"events": events[start:start + batch]}, headers=headers).raise_for_status()


def wait_caught_up(session: requests.Session, base: str, timeout: float = 900) -> None:
    """Wait until every projector of the server at ``base`` has applied the whole log (``/readyz`` lag 0)."""
    deadline = time.monotonic() + timeout
    while any(state["lag"] > 0 for state in session.get(f"{base}/readyz").json()["projectors"].values()):
        if time.monotonic() > deadline:
            raise RuntimeError("projectors did not catch up")
        time.sleep(0.2)


def profile_get(data_dir: Path, key: str, path: str, rounds: int = 20) -> list[str]:
    """The top functions, by cumulative time, of ``rounds`` GETs of ``path`` answered in process by the
    embedded platform in ``data_dir`` (after one warm-up GET)."""
    import cProfile
    import io
    import pstats

    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir)}))
    try:
        client = platform.create_app().test_client()
        headers = {"Authorization": f"Bearer {key}"}
        client.get(path, headers=headers)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            client.get(path, headers=headers)
        profiler.disable()
    finally:
        platform.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return [line.strip() for line in out.getvalue().splitlines() if line.strip()][:40]


def alternating_latencies(session: requests.Session, urls: dict[str, str], headers: dict, samples: int,
                          warm_up: int = 20) -> dict[str, dict[str, float]]:
    """GET each of ``urls`` (name -> URL) in turn, ``warm_up + samples`` rounds, so all see the same
    machine; each one's latency summary (after the warm-up) and ``response_bytes``."""
    taken: dict[str, list[float]] = {name: [] for name in urls}
    sizes: dict[str, int] = {}
    for round_ in range(warm_up + samples):
        for name, url in urls.items():
            started = time.perf_counter()
            response = session.get(url, headers=headers)
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            sizes[name] = len(response.content)
            if round_ >= warm_up:
                taken[name].append(elapsed)
    return {name: {**latency_summary(values), "response_bytes": sizes[name]} for name, values in taken.items()}


def ring_benchmark(name: str, path: str, target_p99_ms: float, record, measure) -> dict:
    """One deep ring's answer at ``path`` (``{product}`` in it) measured on a fresh embedded server:
    ``record(session, base, headers)`` posts the events and gives the ring's id, ``measure(session, base,
    headers, product)`` the figures; the answer is profiled in process when its p99 misses the target."""
    with tempfile.TemporaryDirectory(prefix=f"oretrail-bench-{name}-") as scratch:
        data_dir = Path(scratch)
        key = admin_key(data_dir)
        headers = {"Authorization": f"Bearer {key}"}
        with served({"ORETRAIL_DATA_DIR": str(data_dir)}) as base, requests.Session() as session:
            product = record(session, base, headers)
            figures = measure(session, base, headers, product)
        if figures[name]["p99_ms"] > target_p99_ms:
            figures["profile"] = profile_get(data_dir, key, path.format(product=product))
    figures["targets"] = {f"{name}_p99_ms": f"<= {target_p99_ms:g}"}
    return figures


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the machine it ran on."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": name,
        "ran_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": host_platform.platform()},
        "figures": figures,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
