"""Issue 11's benchmark: what the transparency log costs capture, and how fast its proofs are.

- capture throughput (``POST /v1/events`` through the Flask app, batches of 500, no projector
  threads) with the leaves and subtrees appended in the events' transaction, against the same
  capture with the leaf appends bypassed; rounds alternate so both see the same machine load;
- inclusion and consistency proof latency at 1,000,000 leaves, the tree filled directly with
  synthetic event hashes (as fast as the store can take them);
- on Kafka (the test broker, or one started with ``scripts/kafka-local``): capture through the app
  with the sequencer, the tree replay and the checkpointer running as threads of the same process,
  against capture without them, alternating rounds; and how long after the last accepted batch the
  node's tree holds every event.
"""
from __future__ import annotations

import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.chains import EventFactory, bulk_stream
from bench.common import latency_summary
from bench.distributed import broker
from composition.bootstrap import build_platform
from events.sqlite_log import SqliteEventLog
from services.settings import Settings

NAME = "tlog"
CAPTURE_EVENTS = int(os.environ.get("BENCH_TLOG_CAPTURE_EVENTS", "20000"))
ROUNDS = int(os.environ.get("BENCH_TLOG_ROUNDS", "3"))
LEAVES = int(os.environ.get("BENCH_TLOG_LEAVES", "1000000"))
KAFKA_EVENTS = int(os.environ.get("BENCH_TLOG_KAFKA_EVENTS", "5000"))
BATCH = 500


def run() -> dict:
    """Both measurements; events/s, a ratio, milliseconds."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-tlog-") as scratch:
        scratch_path = Path(scratch)
        figures = {"capture": measure_capture(scratch_path)}
        figures["proofs"] = measure_proofs(scratch_path / "proofs.db")
        figures["kafka"] = measure_kafka_capture(scratch_path)
    figures["targets"] = {"capture_slowdown": "<= 10%", "inclusion_p99_ms": "<= 10",
                          "kafka_capture_slowdown": "<= 10%"}
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


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kafka_capture_once(address: str, folder: Path, events: list[dict], sequencer: str | None) -> dict:
    """Capture ``events`` on a fresh topic (read models on SQLite in ``folder``) with the sequencer (and
    tree replay, checkpointer) as ``thread``s of the capturing process, as an ``oretrail sequence``
    ``process`` beside it, or not at all (None): the seconds it took and the CPU seconds of this
    process; with a sequencer, the seconds after the last batch until the tree held every event, and
    for the process, the CPU seconds it used meanwhile (a figure the machine's load does not change)."""
    token = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    env = {"ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_EVENT_LOG": f"kafka://{address}", "ORETRAIL_LOG_LEVEL": "WARNING",
           "ORETRAIL_KAFKA_TOPIC": f"bench.{token}", "ORETRAIL_KAFKA_PREFIX": f"bench-{token}"}
    platform = build_platform(Settings.from_env(env))
    process = None
    try:
        key = platform.keys.create("bench-admin", "admin")
        client = platform.create_app().test_client()
        headers = {"Authorization": f"Bearer {key}"}
        platform.log_itself.ensure_topic()
        if sequencer == "thread":
            platform.start_sequencer()
            platform.start_checkpointer()
        elif sequencer == "process":
            process = subprocess.Popen([sys.executable, "-m", "composition.cli", "sequence"], env={**os.environ, **env},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # one batch first, and (with a sequencer) its events in the tree: every part started, connected and warm
        response = client.post("/v1/events", json={"events": events[:BATCH]}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        while sequencer is not None and platform.transparency.tree.size() < BATCH:
            time.sleep(0.05)
        sequencer_cpu = _cpu_seconds(process.pid) if process is not None else 0.0
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(BATCH, len(events), BATCH):
            response = client.post("/v1/events", json={"events": events[start:start + BATCH]}, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        captured = time.perf_counter()
        figures = {"seconds": captured - started, "cpu_s": time.process_time() - cpu}
        if sequencer is None:
            return figures
        while platform.transparency.tree.size() < len(events):
            if time.perf_counter() - captured > 120:
                raise RuntimeError("the sequencer did not catch up within 120 s")
            time.sleep(0.05)
        figures["behind_s"] = time.perf_counter() - captured
        if process is not None:
            figures["sequencer_cpu_s"] = _cpu_seconds(process.pid) - sequencer_cpu
        return figures
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        platform.close()


def measure_kafka_capture(scratch: Path) -> dict:
    """Rounds on Kafka without the sequencer, with it as threads of the capturing process, and with it as
    a process of its own (the deployment's way), in rotating order; medians of events/s, the slowdowns,
    and how long after the last batch the tree was complete."""
    events = bulk_stream(EventFactory("tlogk"), KAFKA_EVENTS, "tk")
    modes = {"without_sequencer": None, "sequencer_thread": "thread", "sequencer_process": "process"}
    runs: dict[str, list[dict]] = {name: [] for name in modes}
    with broker(scratch) as address:
        for round_number in range(ROUNDS):
            names = list(modes)
            for name in names[round_number % 3:] + names[:round_number % 3]:
                runs[name].append(_kafka_capture_once(address, scratch / f"kafka-{name}-{round_number}", events, modes[name]))

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    measured = len(events) - BATCH
    rates = {name: round(measured / median(name, "seconds")) for name in modes}
    base = rates["without_sequencer"]
    per_thousand = 1000 / measured
    return {
        "events": len(events), "rounds": ROUNDS, "read_models": "sqlite",
        **{f"{name}_events_per_s": rate for name, rate in rates.items()},
        "slowdown_percent_sequencer_thread": round(100 * (1 - rates["sequencer_thread"] / base), 1),
        "slowdown_percent_sequencer_process": round(100 * (1 - rates["sequencer_process"] / base), 1),
        "tree_complete_after_last_batch_ms": {name: round(1000 * median(name, "behind_s"))
                                              for name in ("sequencer_thread", "sequencer_process")},
        # CPU per 1,000 events: capture's (this process, no sequencer) against the sequencer process's
        "capture_cpu_ms_per_1000": round(1000 * median("without_sequencer", "cpu_s") * per_thousand, 1),
        "sequencer_cpu_ms_per_1000": round(1000 * median("sequencer_process", "sequencer_cpu_s") * per_thousand, 1),
    }
