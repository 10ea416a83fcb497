"""Shared helpers of the benchmarks: free ports, a served platform, percentiles, result files."""
from __future__ import annotations

import json
import os
import platform as host_platform
import socket
import statistics
import subprocess
import sys
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
    """The peak resident memory of a running process (``VmHWM``), in MB; None if it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@contextmanager
def served(env: dict[str, str], command: list[str] | None = None, ready_path: str = "/healthz",
           timeout: float = 60, memory: dict[str, Any] | None = None) -> Iterator[str]:
    """Run ``oretrail serve`` (or ``command``) on a free port; yield its base URL; stop it after.

    ``memory``: where to put the process's peak resident memory (``peak_rss_mb``) just before it stops.
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
        yield base
    finally:
        if memory is not None:
            memory["peak_rss_mb"] = peak_rss_mb(process.pid)
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


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
