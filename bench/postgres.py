"""PostgreSQL read models: one projector's throughput replaying a SQLite log, and provenance latency.

Figures, each next to the same on SQLite:
- ``projector``: events/s of the provenance projector replaying the whole log from position 0
  (one process, batches of ``ORETRAIL_PROJECTOR_BATCH``), target >= 3,000 events/s on PostgreSQL;
- ``provenance``: latency of ``GET /v1/products/{id}/provenance`` over HTTP for a ring whose
  ancestry holds more than 1,000 nodes (1,200 production lots, 12 merges, a shipment, a refining,
  a bar), target p50 <= 25 ms and p99 <= 100 ms on PostgreSQL.

PostgreSQL: ``ORETRAIL_BENCH_POSTGRES_URL`` (a server URL whose user may create databases), else
``scripts/postgres-local`` is started for the run (and stopped after if it was not running).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import ROOT, latency_summary, served
from events.envelope import prepare
from composition.bootstrap import build_platform
from services.settings import Settings

NAME = "postgres"
REPLAY_EVENTS = int(os.environ.get("ORETRAIL_BENCH_EVENTS", "60000"))
QUERIES = 300
TARGETS = {"projector_events_per_s": 3000, "provenance_p50_ms": 25, "provenance_p99_ms": 100}


def run() -> dict:
    """Both figures on both backends."""
    with postgres_server() as server, tempfile.TemporaryDirectory(prefix="oretrail-bench-pg-") as folder:
        data = Path(folder)
        log_env = {"ORETRAIL_DATA_DIR": str(data)}
        product = _record_log(Settings.from_env(log_env))
        figures: dict = {"events_in_log": None, "targets": TARGETS}
        for backend in ("postgresql", "sqlite"):
            with _database(backend, server, data) as url:
                env = {**log_env, "ORETRAIL_DATABASE_URL": url}
                replay = _replay(Settings.from_env(env))
                figures["events_in_log"] = replay["events"]
                figures[backend] = {"projector": replay, "provenance": _provenance_latency(env, product)}
    pg = figures["postgresql"]
    figures["meets_targets"] = {
        "projector": pg["projector"]["events_per_s"] >= TARGETS["projector_events_per_s"],
        "provenance_p50": pg["provenance"]["p50_ms"] <= TARGETS["provenance_p50_ms"],
        "provenance_p99": pg["provenance"]["p99_ms"] <= TARGETS["provenance_p99_ms"],
    }
    return figures


def _record_log(settings: Settings) -> str:
    """A SQLite log: the registry, a ring with > 1,000 ancestors, then bulk chains up to REPLAY_EVENTS."""
    make = EventFactory(f"bench-pg-{uuid.uuid4().hex[:8]}")
    events = registry(make, capacity_g_per_month=100_000.0)  # honest: no capacity findings on the ring
    deep, product = deep_product_chain(make, "deep", lots=1200)
    events += deep
    events += bulk_stream(make, REPLAY_EVENTS - len(events), "bulk")
    platform = build_platform(settings, projectors=[])
    for start in range(0, len(events), 1000):
        platform.log.append([prepare(event) for event in events[start:start + 1000]])
    platform.close()
    return product


def _replay(settings: Settings) -> dict:
    """Time one runner applying the whole log from position 0."""
    platform = build_platform(settings)
    try:
        runner = platform.runner("provenance")
        started = time.perf_counter()
        applied = runner.catch_up()
        seconds = time.perf_counter() - started
        runner.analyze()  # what autovacuum does within a minute of a bulk load (and a rebuild does at once)
        platform.catch_up()  # the other read models too (untimed), so no projector churns during the latency runs
        for other in platform.runners.values():
            other.analyze()
    finally:
        platform.close()
    return {"events": applied, "seconds": round(seconds, 2), "events_per_s": round(applied / seconds),
            "batch": settings.projector_batch}


def _provenance_latency(env: dict[str, str], product: str) -> dict:
    """Latency of the product's provenance over HTTP (one keep-alive connection)."""
    platform = build_platform(Settings.from_env(env))
    key = platform.keys.create("bench-buyer", "manufacturer")
    platform.close()
    with served(env) as base, requests.Session() as session:
        headers = {"Authorization": f"Bearer {key}"}
        url = f"{base}/v1/products/{product}/provenance"
        body = session.get(url, headers=headers, timeout=30).json()
        nodes = len(body["lineage"]["nodes"])
        for _ in range(10):  # warm-up
            session.get(url, headers=headers, timeout=30)
        samples = []
        for _ in range(QUERIES):
            started = time.perf_counter()
            response = session.get(url, headers=headers, timeout=30)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
    return {**latency_summary(samples), "lineage_nodes": nodes}


@contextmanager
def _database(backend: str, server: str, data: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{data / 'readmodels.db'}"
        return
    name = f"oretrail_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def postgres_server() -> Iterator[str]:
    """The benchmark's PostgreSQL server URL; starts scripts/postgres-local if none is given."""
    given = os.environ.get("ORETRAIL_BENCH_POSTGRES_URL")
    if given:
        yield given
        return
    script = ROOT / "scripts" / "postgres-local"
    was_running = subprocess.run([script, "status"], capture_output=True).returncode == 0
    started = subprocess.run([script, "start"], capture_output=True, text=True, check=True)
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        if not was_running:
            subprocess.run([script, "stop"], capture_output=True)
