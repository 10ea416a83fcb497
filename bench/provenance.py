"""Issue 15's provenance benchmark, on the embedded default (``oretrail serve``, SQLite).

One ring with more than 1,200 ancestor nodes, recorded as an honest chain records it (``_honest``).
Measured side by side in one run, request for request:
- the bare recursive SQL query of the ring's ancestry (sqlite3 on the read-model file): the reference;
- ``GET /v1/products/{id}/provenance``, the default answer (first page of the timeline), served from
  the per-state cache (``warm``), answered 304 to a client holding it (``not_modified``), and built
  anew at every request by a second server with ``ORETRAIL_ANSWER_CACHE_MB=0`` (``cold``);
- the whole answer (``?include=timeline``), warm and cold, and the bytes of each;
- the processor time of a cold default answer and of the bare query (``cpu``), which a busy shared
  machine hardly moves, unlike the latencies.
Targets: the default answer p50 <= 15 ms, p99 <= 50 ms, within 4x of the bare query.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bench.chains import EventFactory, deep_product_chain, registry
from bench.common import admin_key, latency_summary, percentile, post_events, served, wait_caught_up
from composition.bootstrap import build_platform
from consumers.lineage.ancestry import in_ancestry
from consumers.provenance import tables as t
from services.settings import Settings

NAME = "provenance"
SAMPLES = int(os.environ.get("BENCH_PROVENANCE_SAMPLES", "200"))
BATCH = 500
TARGETS = {"default_p50_ms": 15.0, "default_p99_ms": 50.0, "default_to_bare_sql": 4.0, "api_peak_rss_mb": 300.0}


def run() -> dict:
    """The latencies of one deep ring's answers, cached and not, beside the bare ancestry query."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-provenance-") as scratch:
        data_dir = Path(scratch)
        key = admin_key(data_dir)
        headers = {"Authorization": f"Bearer {key}"}
        memory: dict = {}
        with served({"ORETRAIL_DATA_DIR": str(data_dir)}, memory=memory) as base, requests.Session() as session:
            product = _record(session, base, headers)
            warm = _measure(session, base, headers, product, data_dir)
        with served({"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_ANSWER_CACHE_MB": "0"}) as base, \
                requests.Session() as session:
            cold = _measure(session, base, headers, product, data_dir, cold=True)
        cpu = _cpu_per_call(data_dir, key, product)
    figures = {**warm, **cold, "api_peak_rss_mb": memory["peak_rss_mb"], "cpu": cpu}
    bare = figures["bare_sql"]["p50_ms"]
    figures["ratios_to_bare_sql_p50"] = {name: round(figures[name]["p50_ms"] / bare, 2)
                                         for name in figures if name not in ("bare_sql", "cpu") and isinstance(figures[name], dict)}
    figures["targets"] = {name: f"<= {value:g}" for name, value in TARGETS.items()}
    return figures


def _record(session: requests.Session, base: str, headers: dict) -> str:
    make = EventFactory("deep", spacing_minutes=360)  # six hours apart: no capacity findings
    chain, product = deep_product_chain(make, "deep", lots=1200)
    events = _honest(make, registry(make, capacity_g_per_month=100_000.0), chain)
    post_events(session, base, headers, events, BATCH)
    wait_caught_up(session, base, timeout=600)
    return product


def _honest(make: EventFactory, known: list[dict], chain: list[dict]) -> list[dict]:
    """The registry and the ring's chain as an honest supply chain records them, so that its answer is
    the one a jeweller usually gets (a few findings, not one per lot): every miner registered with a
    photo-ID hash (``unverified_miner``), every pit inspected within a year of each production, at the
    times of the chain's first, middle and last events (``stale_inspection``)."""
    for event in known:
        if event["type"] == "miner.registered":
            event["data"]["photo_id_sha256"] = "ab" * 32
    pits = [event["data"]["pit_id"] for event in known if event["type"] == "pit.registered"]
    visits = []
    for step in (chain[0], chain[len(chain) // 2], chain[-1]):
        for pit in pits:
            visit = make("pit.inspected", {"pit_id": pit, "status": "active"})
            visit["occurred_at"] = step["occurred_at"]
            visits.append(visit)
    return known + visits + chain


def _bare_query(data_dir: Path, product: str):
    """The ancestry query as SQL text and a function running it with sqlite3 alone."""
    statement = select(t.nodes.c.node_id).where(in_ancestry(t.nodes.c.node_id, t.counted_edges(), [product]))
    sql = str(statement.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))
    connection = sqlite3.connect(data_dir / "readmodels.db")
    return connection, lambda: connection.execute(sql).fetchall()


def _cpu_per_call(data_dir: Path, key: str, product: str) -> dict:
    """Processor time (ms, median and 90th percentile) of a cold default answer built in process (Flask's
    test client, no answer cache) and of the bare ancestry query, taken in turns: unlike the latencies,
    what other processes on a shared machine do hardly moves them."""
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_ANSWER_CACHE_MB": "0"}))
    connection, bare = _bare_query(data_dir, product)
    try:
        client = platform.create_app().test_client()
        headers = {"Authorization": f"Bearer {key}"}
        calls = {"default_cold": lambda: client.get(f"/v1/products/{product}/provenance", headers=headers).status_code,
                 "bare_sql": bare}
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for round_ in range(5 + SAMPLES // 4):
            for name, call in calls.items():
                started = time.process_time()
                call()
                if round_ >= 5:
                    samples[name].append(time.process_time() - started)
    finally:
        connection.close()
        platform.close()
    figures = {name: {"p50_ms": round(percentile(values, 0.5) * 1000, 2), "p90_ms": round(percentile(values, 0.9) * 1000, 2)}
               for name, values in samples.items()}
    figures["default_cold_to_bare_sql_p50"] = round(figures["default_cold"]["p50_ms"] / figures["bare_sql"]["p50_ms"], 2)
    return figures


def _measure(session: requests.Session, base: str, headers: dict, product: str, data_dir: Path,
             cold: bool = False) -> dict:
    suffix = "cold" if cold else "warm"
    url = f"{base}/v1/products/{product}/provenance"
    first = session.get(url, headers=headers)
    first.raise_for_status()
    calls = {f"default_{suffix}": (lambda: session.get(url, headers=headers)),
             f"whole_{suffix}": (lambda: session.get(url, params={"include": "timeline"}, headers=headers))}
    if not cold:
        tagged = {**headers, "If-None-Match": first.headers["ETag"]}
        calls["not_modified"] = lambda: session.get(url, headers=tagged)
        connection, bare = _bare_query(data_dir, product)
        calls["bare_sql"] = bare
    samples: dict[str, list[float]] = {name: [] for name in calls}
    sizes: dict[str, int] = {}
    for round_ in range(10 + SAMPLES):  # 10 warm-up rounds; the calls alternate, so all see the same machine
        for name, call in calls.items():
            started = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - started
            if isinstance(result, requests.Response):
                result.raise_for_status()
                sizes[name] = len(result.content)
            else:
                sizes[name] = len(result)  # rows
            if round_ >= 10:
                samples[name].append(elapsed)
    figures = {name: {**latency_summary(values), ("rows" if name == "bare_sql" else "response_bytes"): sizes[name]}
               for name, values in samples.items()}
    if not cold:
        connection.close()
        answer = first.json()
        figures["default_warm"].update(ancestor_nodes=len(answer["lineage"]["nodes"]) - 1, open_findings=len(answer["flags"]))
    return figures
