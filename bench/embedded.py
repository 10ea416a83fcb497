"""Issue 2's benchmark, on the embedded default (one process, SQLite log and read models).

- capture throughput through HTTP in batches of 500, against the same events inserted with bare
  sqlite3 in 500-row transactions (same durability: WAL, synchronous=FULL), the two taking turns
  (``BENCH_CAPTURE_ROUNDS``, the median of the rounds' ratios), with the projectors in
  the same process letting capture go first (the default) and without (``ORETRAIL_CAPTURE_FIRST=0``),
  each with the time until the projectors had every event, and a burst three times as long;
- ``GET /v1/products/{id}/provenance`` latency for a product with more than 1,000 ancestor nodes;
- replay of 100,000 events into the provenance read model.
"""
from __future__ import annotations

import os
import sqlite3
from statistics import median
import tempfile
import time
from pathlib import Path

import requests

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import admin_key, latency_summary, served
from events.envelope import prepare
from composition.bootstrap import build_platform
from services.settings import Settings

NAME = "embedded"
CAPTURE_EVENTS = int(os.environ.get("BENCH_CAPTURE_EVENTS", "50000"))
REPLAY_EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "100000"))
SUSTAINED_EVENTS = 3 * CAPTURE_EVENTS
CAPTURE_ROUNDS = int(os.environ.get("BENCH_CAPTURE_ROUNDS", "3"))
BATCH = 500


def run() -> dict:
    """All the measurements; figures in events/s, milliseconds and seconds."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-") as scratch:
        scratch_path = Path(scratch)
        events = bulk_stream(EventFactory("capture"), CAPTURE_EVENTS, "cap")
        # capture and its reference take turns, BENCH_CAPTURE_ROUNDS times, each into fresh files: the
        # machine's speed drifts, and the two do not drift alike (Python's work, sqlite3's C); the first
        # round also measures the provenance answers, the memory and when the projectors caught up
        figures = {"capture": measure_capture(scratch_path / "served", events)}
        rounds = [{name: figures["capture"].pop(name) for name in ("seconds", "events_per_s")}]
        bare = [measure_bare_sqlite(scratch_path / "bare-0.db", events)]
        for round_ in range(1, CAPTURE_ROUNDS):
            rounds.append(measure_capture_only(scratch_path / f"served-{round_}", events, {}, follow=False))
            bare.append(measure_bare_sqlite(scratch_path / f"bare-{round_}.db", events))
        rates = [figure["events_per_s"] for figure in rounds]
        ratios = [rate / reference["events_per_s"] for rate, reference in zip(rates, bare)]
        figures["capture"].update(seconds_by_round=[figure["seconds"] for figure in rounds],
                                  events_per_s=median(rates), events_per_s_by_round=rates,
                                  ratio_to_bare_sqlite3=round(median(ratios), 3),
                                  ratio_to_bare_sqlite3_by_round=[round(ratio, 3) for ratio in ratios])
        figures["bare_sqlite3"] = {"events": len(events), "events_per_s": median(r["events_per_s"] for r in bare),
                                   "events_per_s_by_round": [r["events_per_s"] for r in bare]}
        # the same without capture first (the projectors take batches while capture runs), for comparison
        figures["capture_first_off"] = measure_capture_only(scratch_path / "served-off", events,
                                                            {"ORETRAIL_CAPTURE_FIRST": "0"})
        figures["replay"] = measure_replay(scratch_path / "replay")
        # a burst three times as long: the projectors then take a batch each every ORETRAIL_CAPTURE_FIRST
        # seconds (last: its hundreds of megabytes of files are still being written back for a while after)
        figures["capture_sustained"] = measure_capture_only(
            scratch_path / "served-long", bulk_stream(EventFactory("long"), SUSTAINED_EVENTS, "long"), {})
        for name in ("capture_first_off", "capture_sustained"):  # one run each, to the reference's median
            figures[name]["ratio_to_bare_sqlite3"] = round(
                figures[name]["events_per_s"] / figures["bare_sqlite3"]["events_per_s"], 3)
    figures["targets"] = {"capture_events_per_s": ">= 5000", "provenance_p50_ms": "<= 15", "provenance_p99_ms": "<= 50",
                          "replay_100k_s": "<= 10", "ratio_to_bare_sqlite3": ">= 0.15",
                          "peak_rss_mb": "<= 300"}
    return figures


def measure_capture(data_dir: Path, events: list[dict]) -> dict:
    """POST the events in batches of 500 to ``oretrail serve`` (projectors running in process)."""
    key = admin_key(data_dir)
    headers = {"Authorization": f"Bearer {key}"}
    figures: dict = {}
    memory: dict = {}
    with served({"ORETRAIL_DATA_DIR": str(data_dir)}, memory=memory) as base, requests.Session() as session:
        figures.update(_post_and_follow(session, base, headers, events))

        # provenance latency: a ring with > 1,000 ancestor nodes, once the projector has caught up
        # six hours apart: about 20 months of an honest cooperative's trade (no capacity findings)
        make = EventFactory("deep", spacing_minutes=360)
        chain, product = deep_product_chain(make, "deep", lots=1200)
        chain = registry(make, capacity_g_per_month=100_000.0) + chain
        for start in range(0, len(chain), BATCH):
            session.post(f"{base}/v1/events", json={"events": chain[start:start + BATCH]}, headers=headers).raise_for_status()
        _wait_for_projectors(session, base)
        url = f"{base}/v1/products/{product}/provenance"
        body = session.get(url, headers=headers).json()
        samples = []
        for _ in range(20):  # warm-up
            session.get(url, headers=headers)
        for _ in range(300):
            started = time.perf_counter()
            response = session.get(url, headers=headers)
            samples.append(time.perf_counter() - started)
            response.raise_for_status()
        figures["provenance"] = {
            "ancestor_nodes": len(body["lineage"]["nodes"]) - 1,
            "timeline_events": len(body["timeline"]),
            "response_bytes": len(response.content),
            **latency_summary(samples),
        }
    # the one process of the embedded default: the API and the four projectors
    figures["api_and_projectors_peak_rss_mb"] = memory["peak_rss_mb"]
    return figures


def measure_capture_only(data_dir: Path, events: list[dict], env: dict[str, str], follow: bool = True) -> dict:
    """POST the events as ``measure_capture`` does, to a server with ``env`` set; capture figures only
    (``follow``: with the time until the projectors had every event)."""
    key = admin_key(data_dir)
    with served({"ORETRAIL_DATA_DIR": str(data_dir), **env}) as base, requests.Session() as session:
        return _post_and_follow(session, base, {"Authorization": f"Bearer {key}"}, events, follow)


def _post_and_follow(session: requests.Session, base: str, headers: dict, events: list[dict],
                     follow: bool = True) -> dict:
    """Capture throughput, and when the projectors had every event of it (``caught_up_s``, from the
    first post: the read models' side of the same work)."""
    started = time.perf_counter()
    for start in range(0, len(events), BATCH):
        response = session.post(f"{base}/v1/events", json={"events": events[start:start + BATCH]}, headers=headers)
        response.raise_for_status()
    elapsed = time.perf_counter() - started
    figures = {"events": len(events), "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed)}
    if follow:
        _wait_for_projectors(session, base, poll=0.05)
        figures["caught_up_s"] = round(time.perf_counter() - started, 2)
    return figures


def _wait_for_projectors(session: requests.Session, base: str, poll: float = 0.2, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while any(state["lag"] > 0 for state in session.get(f"{base}/readyz").json()["projectors"].values()):
        if time.monotonic() > deadline:
            raise RuntimeError("projector did not catch up")
        time.sleep(poll)


def measure_bare_sqlite(path: Path, events: list[dict]) -> dict:
    """The same events with bare sqlite3: one INSERT per event, 500 rows a transaction."""
    prepared = [prepare(envelope) for envelope in events]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, "
                       "type TEXT, stream_id TEXT, recorded_by TEXT, recorded_at TEXT, hash TEXT, body BLOB)")
    started = time.perf_counter()
    for start in range(0, len(prepared), BATCH):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO events (event_id, type, stream_id, recorded_by, recorded_at, hash, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.event_id, e.type, e.stream_id, e.recorded_by, "2026-01-01T00:00:00Z", e.hash, e.body)
             for e in prepared[start:start + BATCH]])
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return {"events": len(prepared), "seconds": round(elapsed, 3), "events_per_s": round(len(prepared) / elapsed)}


def measure_replay(data_dir: Path) -> dict:
    """Append 100,000 events to a fresh log, then time a rebuild of the provenance read model."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir)}))
    try:
        events = bulk_stream(EventFactory("replay"), REPLAY_EVENTS, "rep")
        for start in range(0, len(events), 1000):
            platform.log.append([prepare(envelope) for envelope in events[start:start + 1000]])
        runner = platform.runner("provenance")
        started, started_cpu = time.perf_counter(), time.process_time()
        count = runner.rebuild()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    finally:
        platform.close()
    # the processor time beside the wall time: on a shared machine it moves less with the load
    return {"events": count, "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
            "events_per_s": round(count / elapsed)}
