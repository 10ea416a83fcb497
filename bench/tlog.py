"""Issue 11's benchmark: what the transparency log costs capture, and how fast its proofs are.

- capture throughput (``POST /v1/events`` through the Flask app, batches of 500, no projector
  threads) with the leaves and subtrees appended in the events' transaction, against the same
  capture with the leaf appends bypassed; rounds alternate so both see the same machine load;
- inclusion and consistency proof latency at 1,000,000 leaves, the tree filled directly with
  synthetic event hashes (as fast as the store can take them).
"""
from __future__ import annotations

import hashlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.chains import EventFactory, bulk_stream
from bench.common import latency_summary
from composition.bootstrap import build_platform
from events.sqlite_log import SqliteEventLog
from services.settings import Settings

NAME = "tlog"
CAPTURE_EVENTS = int(os.environ.get("BENCH_TLOG_CAPTURE_EVENTS", "20000"))
ROUNDS = int(os.environ.get("BENCH_TLOG_ROUNDS", "3"))
LEAVES = int(os.environ.get("BENCH_TLOG_LEAVES", "1000000"))
BATCH = 500


def run() -> dict:
    """Both measurements; events/s, a ratio, milliseconds."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-tlog-") as scratch:
        scratch_path = Path(scratch)
        figures = {"capture": measure_capture(scratch_path)}
        figures["proofs"] = measure_proofs(scratch_path / "proofs.db")
    figures["targets"] = {"capture_slowdown": "<= 10%", "inclusion_p99_ms": "<= 10"}
    return figures


def _capture_once(folder: Path, events: list[dict], with_tree: bool) -> float:
    """Seconds to capture ``events`` into a fresh platform in ``folder``."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_LOG_LEVEL": "WARNING"}))
    try:
        if not with_tree:
            platform.log.tree = None  # the events alone, as before the tree existed
        key = platform.keys.create("bench-admin", "admin")
        client = platform.create_app().test_client()
        headers = {"Authorization": f"Bearer {key}"}
        started = time.perf_counter()
        for start in range(0, len(events), BATCH):
            response = client.post("/v1/events", json={"events": events[start:start + BATCH]}, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        return time.perf_counter() - started
    finally:
        platform.close()


def measure_capture(scratch: Path) -> dict:
    """Alternating rounds with and without the tree; medians of events/s and their ratio."""
    events = bulk_stream(EventFactory("tlog"), CAPTURE_EVENTS, "tl")
    seconds: dict[str, list[float]] = {"with_tree": [], "without_tree": []}
    for round_number in range(ROUNDS):
        order = ("with_tree", "without_tree") if round_number % 2 == 0 else ("without_tree", "with_tree")
        for name in order:
            seconds[name].append(_capture_once(scratch / f"{name}-{round_number}", events, name == "with_tree"))
    rates = {name: round(len(events) / statistics.median(values)) for name, values in seconds.items()}
    return {
        "events": len(events), "rounds": ROUNDS,
        "with_tree_events_per_s": rates["with_tree"], "without_tree_events_per_s": rates["without_tree"],
        "slowdown_percent": round(100 * (1 - rates["with_tree"] / rates["without_tree"]), 1),
    }


def measure_proofs(path: Path) -> dict:
    """Fill a log's tree with ``LEAVES`` synthetic leaves, then time proofs at random places."""
    log = SqliteEventLog(path)
    try:
        tree = log.tree
        started = time.perf_counter()
        chunk = 50_000
        for start in range(0, LEAVES, chunk):
            data = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(start, min(LEAVES, start + chunk))]
            tree.append_leaves(start, data)
        fill_s = time.perf_counter() - started
        rng = random.Random(11)
        for _ in range(50):  # warm-up: the page cache, as on a server that has been up a while
            tree.inclusion_proof(rng.randrange(LEAVES), LEAVES)
        inclusion, consistency = [], []
        for _ in range(2000):
            index, size = rng.randrange(LEAVES), LEAVES - rng.randrange(1000)
            started = time.perf_counter()
            tree.inclusion_proof(min(index, size - 1), size)
            inclusion.append(time.perf_counter() - started)
            old = rng.randrange(1, LEAVES)
            started = time.perf_counter()
            tree.consistency_proof(old, LEAVES)
            consistency.append(time.perf_counter() - started)
        root_started = time.perf_counter()
        tree.root(LEAVES)
        return {"leaves": LEAVES, "fill_s": round(fill_s, 1), "leaves_per_s_filled": round(LEAVES / fill_s),
                "inclusion": latency_summary(inclusion), "consistency": latency_summary(consistency),
                "root_ms": round((time.perf_counter() - root_started) * 1000, 2),
                "file_mb": round(path.stat().st_size / 2**20, 1)}
    finally:
        log.close()
