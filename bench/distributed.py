"""Issue 3's benchmark: the distributed deployment on a local Kafka broker.

- capture throughput through the API under gunicorn (``composition.wsgi:create_app()``, 2 workers x
  4 threads) on Kafka, in batches of 500, next to kafka-python's own transactional producer sending
  the same records in the same transactions (the ratio says what the API costs on top);
- one projector process's throughput (a fresh read model catching up on a filled topic);
- end-to-end lag from POST to visible in ``/v1/products/{id}/provenance`` at a steady 500 events/s,
  with the API under gunicorn and ``oretrail project provenance`` as its own process;
- a rebuild on Kafka (``BENCH_REBUILD_EVENTS``, default 200,000; the figure for 1,000,000 is
  extrapolated from its rate unless run with 1,000,000).

The broker: ``ORETRAIL_TEST_KAFKA`` if set, else one started with ``scripts/kafka-local`` in a
scratch folder. Read models (and the capture index): PostgreSQL, a fresh database per measurement
on ``ORETRAIL_BENCH_POSTGRES_URL`` or on ``scripts/postgres-local`` (as ``bench/postgres.py``);
``BENCH_KAFKA_READ_MODELS=sqlite`` measures on SQLite files instead. The projector's throughput is
also measured on the other backend, for comparison.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests
from kafka import KafkaProducer

from bench.chains import EventFactory, bulk_stream
from bench.common import ROOT, latency_summary, served
from bench.postgres import _database, postgres_server
from events.envelope import prepare
from events.kafka_records import headers_of
from composition.bootstrap import build_platform
from services.settings import Settings

NAME = "distributed"
CAPTURE_EVENTS = int(os.environ.get("BENCH_CAPTURE_EVENTS", "50000"))
PROJECTOR_EVENTS = int(os.environ.get("BENCH_PROJECTOR_EVENTS", "50000"))
REBUILD_EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "200000"))
LAG_SECONDS = int(os.environ.get("BENCH_LAG_SECONDS", "30"))
LAG_RATE = 500
BATCH = 500
CLIENTS = 4
BACKEND = os.environ.get("BENCH_KAFKA_READ_MODELS", "postgresql")


def run() -> dict:
    """Every measurement; figures in events/s, milliseconds and seconds."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-kafka-") as scratch, broker(Path(scratch)) as address, \
            postgres_server() as server:
        scratch_path = Path(scratch)

        def env(name: str, backend: str = BACKEND):
            return deployment(address, backend, server, scratch_path / name)

        events = bulk_stream(EventFactory("capture"), CAPTURE_EVENTS, "cap")
        figures: dict = {"broker": "local single-node KRaft (scripts/kafka-local)", "read_models": BACKEND}
        with env("raw") as raw_env:
            figures["raw_producer"] = measure_raw_producer(raw_env, events)
        with env("capture") as capture_env:
            figures["capture"] = measure_capture(capture_env, events)
        figures["capture"]["ratio_to_raw_producer"] = round(
            figures["capture"]["events_per_s"] / figures["raw_producer"]["events_per_s"], 3)
        other = "sqlite" if BACKEND == "postgresql" else "postgresql"
        figures["projector"] = {}
        for backend in (BACKEND, other):
            with env(f"projector-{backend}", backend) as projector_env:
                figures["projector"][backend] = measure_projector(projector_env)
        with env("lag") as lag_env:
            figures["lag"] = measure_lag(lag_env)
        with env("rebuild") as rebuild_env:
            figures["rebuild"] = measure_rebuild(rebuild_env)
    figures["targets"] = {"capture_events_per_s": ">= 3000", "projector_events_per_s": ">= 3000",
                          "lag_p99_ms_at_500_per_s": "<= 1000", "rebuild_1m_s": "<= 600"}
    return figures


@contextmanager
def broker(scratch: Path) -> Iterator[str]:
    """The test broker if one is running, else a fresh one for the benchmark."""
    address = os.environ.get("ORETRAIL_TEST_KAFKA")
    if address:
        yield address
        return
    env = {**os.environ, "ORETRAIL_KAFKA_DIR": str(scratch / "kafka")}
    started = subprocess.run([str(ROOT / "scripts" / "kafka-local"), "start"], env=env, capture_output=True, text=True,
                             check=True, timeout=600)
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ROOT / "scripts" / "kafka-local"), "stop"], env=env, capture_output=True, timeout=120)


@contextmanager
def deployment(address: str, backend: str, server: str, data_dir: Path) -> Iterator[dict[str, str]]:
    """A fresh deployment: its own topic, group prefix and read-model database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    with _database(backend, server, data_dir) as url:
        yield {"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_EVENT_LOG": f"kafka://{address}",
               "ORETRAIL_KAFKA_TOPIC": f"bench.{token}", "ORETRAIL_KAFKA_PREFIX": f"bench-{token}",
               "ORETRAIL_DATABASE_URL": url}


def measure_raw_producer(env: dict[str, str], events: list[dict]) -> dict:
    """kafka-python's transactional producer alone (configured as capture's): the same records, 500 a transaction."""
    prepared = [prepare(envelope) for envelope in events]
    settings = Settings.from_env(env)
    platform = build_platform(settings)  # only to create the topic the same way
    kafka_log = platform.runners["provenance"].kafka_log
    kafka_log.ensure_topic()
    producer = KafkaProducer(**kafka_log.producer_settings(f"bench-raw-{uuid.uuid4().hex[:8]}"))
    platform.close()
    producer.init_transactions()
    started = time.perf_counter()
    for start in range(0, len(prepared), BATCH):
        producer.begin_transaction()
        for event in prepared[start:start + BATCH]:
            producer.send(settings.kafka_topic, key=event.stream_id.encode(), value=event.body,
                          headers=headers_of(event, "2026-01-01T00:00:00.000000Z"))
        producer.flush()
        producer.commit_transaction()
    elapsed = time.perf_counter() - started
    producer.close()
    return {"events": len(prepared), "seconds": round(elapsed, 2), "events_per_s": round(len(prepared) / elapsed)}


def _admin_key(env: dict[str, str]) -> str:
    platform = build_platform(Settings.from_env(env))
    try:
        return platform.keys.create("bench-admin", "admin")
    finally:
        platform.close()


def _gunicorn(workers: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--timeout", "120", "--no-control-socket", "composition.wsgi:create_app()"]


def measure_capture(env: dict[str, str], events: list[dict]) -> dict:
    """POST the events in batches of 500 from 4 client threads to gunicorn (2 workers x 4 threads)."""
    key = _admin_key(env)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps({"events": events[start:start + BATCH]}).encode() for start in range(0, len(events), BATCH)]
    with served(env, command=_gunicorn(2, 4)) as base:
        for body in bodies[:2]:  # warm-up: producers of both workers, topic metadata (duplicates later)
            requests.post(f"{base}/v1/events", data=body, headers=headers).raise_for_status()
        work = iter(range(len(bodies)))
        lock = threading.Lock()
        statuses: list[int] = []

        def client() -> None:
            with requests.Session() as session:
                while True:
                    with lock:
                        index = next(work, None)
                    if index is None:
                        return
                    statuses.append(session.post(f"{base}/v1/events", data=bodies[index], headers=headers).status_code)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"capture answered {sorted(set(statuses))}")
    return {"events": len(events), "batch": BATCH, "clients": CLIENTS, "gunicorn": "2 workers x 4 threads",
            "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed)}


def _fill(platform, events: list[dict], batch: int = 1000) -> None:
    for start in range(0, len(events), batch):
        platform.log.append([prepare(envelope) for envelope in events[start:start + batch]])


def measure_projector(env: dict[str, str]) -> dict:
    """The provenance projector catching up on a topic of PROJECTOR_EVENTS events, in one process."""
    platform = build_platform(Settings.from_env(env))
    try:
        _fill(platform, bulk_stream(EventFactory("projector"), PROJECTOR_EVENTS, "proj"))
        started = time.perf_counter()
        applied = platform.runners["provenance"].catch_up()
        elapsed = time.perf_counter() - started
    finally:
        platform.close()
    return {"events": applied, "seconds": round(elapsed, 2), "events_per_s": round(applied / elapsed)}


def small_chain(make: EventFactory, tag: str) -> list[dict]:
    """Five events ending in a ring: site, pit, production, purchase, manufacture."""
    return [
        make("site.registered", {"site_id": f"site-{tag}", "name": tag, "country": "CD", "region": "Ituri",
                                 "mineral": "gold"}),
        make("pit.registered", {"pit_id": f"pit-{tag}", "site_id": f"site-{tag}"}),
        make("production.recorded", {"lot_id": f"lot-{tag}", "pit_id": f"pit-{tag}", "miner_ids": ["m-1"],
                                     "mass_g": 40.0, "fineness": 0.9}),
        make("lot.transferred", {"lot_id": f"lot-{tag}", "from_id": "m-1", "to_id": "coop", "mass_g": 40.0}),
        make("product.manufactured", {"product_id": f"ring-{tag}", "inputs": [{"lot_id": f"lot-{tag}", "mass_g": 5.0}],
                                      "mass_g": 6.0, "fineness": 0.75}),
    ]


def measure_lag(env: dict[str, str]) -> dict:
    """POST 50 events (10 rings) every 100 ms; time from each POST until its last ring is visible."""
    data_dir = Path(env["ORETRAIL_DATA_DIR"])
    key = _admin_key(env)
    headers = {"Authorization": f"Bearer {key}"}
    make = EventFactory("lag")
    per_request, interval = 50, 50 / LAG_RATE
    log_path = data_dir / "projector.log"
    with open(log_path, "ab") as sink:
        projector = subprocess.Popen([sys.executable, "-m", "composition.cli", "project", "provenance"],
                                     env={**os.environ, **env, "ORETRAIL_LOG_LEVEL": "WARNING"}, cwd=ROOT,
                                     stdout=sink, stderr=subprocess.STDOUT)
    samples: list[float] = []
    pending: dict[str, float] = {}
    lock = threading.Lock()
    done = threading.Event()
    try:
        with served(env, command=_gunicorn(1, 8)) as base:
            def watch() -> None:
                with requests.Session() as session:
                    while not done.is_set() or pending:
                        with lock:
                            waiting = list(pending.items())
                        for product, posted in waiting:
                            if session.get(f"{base}/v1/products/{product}/provenance", headers=headers).status_code == 200:
                                samples.append(time.perf_counter() - posted)
                                with lock:
                                    del pending[product]
                        time.sleep(0.01)

            watcher = threading.Thread(target=watch)
            watcher.start()
            with requests.Session() as session:
                next_at = time.perf_counter()
                for number in range(int(LAG_SECONDS * LAG_RATE / per_request)):
                    chains = [small_chain(make, f"{number}-{i}") for i in range(per_request // 5)]
                    posted = time.perf_counter()
                    session.post(f"{base}/v1/events", json={"events": [e for chain in chains for e in chain]},
                                 headers=headers).raise_for_status()
                    with lock:
                        pending[f"ring-{number}-{per_request // 5 - 1}"] = posted
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.perf_counter()))
            done.set()
            watcher.join(120)
    finally:
        projector.terminate()
        projector.wait(30)
    return {"rate_events_per_s": LAG_RATE, "seconds": LAG_SECONDS, "events_per_request": per_request,
            **latency_summary(samples)}


def measure_rebuild(env: dict[str, str]) -> dict:
    """``oretrail rebuild provenance`` on a topic of REBUILD_EVENTS events, extrapolated to 1,000,000."""
    platform = build_platform(Settings.from_env(env))
    try:
        _fill(platform, bulk_stream(EventFactory("rebuild"), REBUILD_EVENTS, "reb"))
        runner = platform.runners["provenance"]
        started = time.perf_counter()
        count = runner.rebuild()
        elapsed = time.perf_counter() - started
    finally:
        platform.close()
    rate = count / elapsed
    return {"events": count, "seconds": round(elapsed, 1), "events_per_s": round(rate),
            "for_1m_events_s": round(1_000_000 / rate) if count < 1_000_000 else round(elapsed),
            "extrapolated": count < 1_000_000}
