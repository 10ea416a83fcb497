"""Issue 15's Kafka figures (after issue 3's): the distributed deployment on a local Kafka broker,
each figure beside a reference measured in the same run on the same broker.

- ``capture`` (also alone: ``python -m bench.run distributed_capture``, a few minutes), with each
  Kafka driver (``ORETRAIL_KAFKA_DRIVER``), in ``BENCH_CAPTURE_ROUNDS`` interleaved rounds (medians
  reported; the machine is shared):
  - ``raw_producer`` (the reference): kafka-python's own transactional producer (with ``crc32c``)
    sending the records capture sends, configured as capture's, 500 a transaction; and
    ``raw_producer_confluent``, confluent-kafka's (librdkafka) the same way (a second reference);
  - ``kafka-python`` and ``confluent``: ``POST /v1/events`` under gunicorn
    (``composition.wsgi:create_app()``, 2 workers x 4 threads) on Kafka with that driver, the capture
    index on PostgreSQL, batches of 500 from 4 clients; target >= 0.5 x the raw kafka-python producer;
- ``projector`` (also alone: ``python -m bench.run distributed_projector``, a few minutes): one
  provenance projector, in a process of its own, catching up on a topic of
  ``BENCH_PROJECTOR_EVENTS`` events into SQLite (target >= 10,000 events/s) and into PostgreSQL
  (>= 5,000), in ``BENCH_PROJECTOR_ROUNDS`` rounds each into a fresh read model (the round of the
  median rate reported, every round's rate beside it), beside the raw kafka-python consumer reading the same topic with the projector's
  consumer settings, and beside the same projector replaying the same events from the embedded
  SQLite log (what Kafka costs the projector); then (``sqlite_confluent``, ``postgresql_confluent``)
  the same projector with ``ORETRAIL_KAFKA_DRIVER=confluent`` (librdkafka) on the same topic into a
  read model of its own, beside the raw librdkafka consumer, with its wall and CPU time
  (``time.process_time``) as ratios to the kafka-python driver's;
- ``lag``: POST to visible in ``/v1/products/{id}/provenance`` at a steady 500 events/s, with the
  API under gunicorn and ``oretrail project provenance`` as its own process (target p99 <= 1 s);
- ``rebuild``: ``rebuild`` of the provenance read model into PostgreSQL from a topic of
  ``BENCH_REBUILD_EVENTS`` events (default 1,000,000; target <= 180 s for 1,000,000), in a process
  of its own;
- ``peak_rss_mb``: the peak resident memory (``VmHWM``) of each API process (gunicorn master and
  workers) and of each projector process during the bench (target <= 300 MB each).

The broker: ``ORETRAIL_TEST_KAFKA`` if set, else one started with ``scripts/kafka-local`` in a
scratch folder. Read models (and the capture index): PostgreSQL, a fresh database per measurement
on ``ORETRAIL_BENCH_POSTGRES_URL`` or on ``scripts/postgres-local`` (as ``bench/postgres.py``).
The measured processes are run as ``python -m bench.distributed catch-up|rebuild`` with the
deployment's settings in their environment.
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
from typing import Iterable, Iterator

import requests
from confluent_kafka import OFFSET_BEGINNING
from confluent_kafka import Consumer as ConfluentConsumer
from confluent_kafka import Producer as ConfluentProducer
from confluent_kafka import TopicPartition as ConfluentTopicPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import ROOT, latency_summary, served
from bench.postgres import _database, postgres_server
from composition.bootstrap import build_platform, open_log
from events.envelope import prepare
from events.kafka_records import headers_of
from services.settings import Settings

NAME = "distributed"
CAPTURE_EVENTS = int(os.environ.get("BENCH_CAPTURE_EVENTS", "50000"))
CAPTURE_ROUNDS = int(os.environ.get("BENCH_CAPTURE_ROUNDS", "3"))
#: the Kafka log's drivers (``ORETRAIL_KAFKA_DRIVER``), each measured in every round
DRIVERS = ("kafka-python", "confluent")
PROJECTOR_EVENTS = int(os.environ.get("BENCH_PROJECTOR_EVENTS", "50000"))
#: catch-ups of each projector figure, each into a fresh read model, the drivers interleaved: the
#: figure is the round of the median rate (one catch-up takes 5 s: a single one is at the mercy of
#: the shared machine)
PROJECTOR_ROUNDS = int(os.environ.get("BENCH_PROJECTOR_ROUNDS", "3"))
REBUILD_EVENTS = int(os.environ.get("BENCH_REBUILD_EVENTS", "1000000"))
LAG_SECONDS = int(os.environ.get("BENCH_LAG_SECONDS", "30"))
LAG_RATE = 500
BATCH = 500
CLIENTS = 4
FILL_BATCH = 2000

TARGETS = {
    "capture_ratio_to_raw_producer": 0.5,      # at least
    "projector_sqlite_events_per_s": 10_000,   # at least
    "projector_postgresql_events_per_s": 5_000,  # at least
    "rebuild_1m_postgresql_s": 180,            # at most
    "peak_rss_mb": 300,                        # at most, each API and projector process
    "lag_p99_ms_at_500_per_s": 1000,           # at most (issue 3)
}


def run() -> dict:
    """Every measurement, then the summary: each figure beside its target and same-run reference."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-kafka-") as scratch, broker(Path(scratch)) as address, \
            postgres_server() as server:
        scratch_path = Path(scratch)

        def env(name: str, backend: str = "postgresql"):
            return deployment(address, backend, server, scratch_path / name)

        figures: dict = {"broker": "local single-node KRaft (scripts/kafka-local)",
                         "read_models": "PostgreSQL (capture index, lag, rebuild); projector on both",
                         "capture": measure_capture_drivers(address, server, scratch_path)}
        figures["projector"] = measure_projectors(address, server, scratch_path)
        with env("lag") as lag_env:
            figures["lag"] = measure_lag(lag_env)
        with env("rebuild") as rebuild_env:
            figures["rebuild"] = measure_rebuild(rebuild_env)
    figures["targets"] = TARGETS
    figures["summary"] = summary(figures)
    return figures


def run_capture() -> dict:
    """Only the capture figures (``python -m bench.run distributed_capture``): each driver against
    the raw producers, in the same run on the same broker; no projector, lag or rebuild."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-kafka-") as scratch, broker(Path(scratch)) as address, \
            postgres_server() as server:
        figures = {"broker": "local single-node KRaft (scripts/kafka-local)",
                   "read_models": "PostgreSQL (capture index)",
                   "capture": measure_capture_drivers(address, server, Path(scratch))}
    figures["targets"] = {"capture_ratio_to_raw_producer": TARGETS["capture_ratio_to_raw_producer"]}
    figures["summary"] = capture_summary(figures["capture"])
    return figures


def run_projector() -> dict:
    """Only the projector figures (``python -m bench.run distributed_projector``): each driver's
    projector catching up on the same topic, beside the raw consumers, in the same run."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-kafka-") as scratch, broker(Path(scratch)) as address, \
            postgres_server() as server:
        figures = {"broker": "local single-node KRaft (scripts/kafka-local)",
                   "projector": measure_projectors(address, server, Path(scratch))}
    figures["targets"] = {key: TARGETS[key] for key in ("projector_sqlite_events_per_s",
                                                         "projector_postgresql_events_per_s")}
    figures["summary"] = projector_summary(figures["projector"])
    return figures


@contextmanager
def broker(scratch: Path) -> Iterator[str]:
    """The test broker if one is running, else a fresh one for the benchmark."""
    address = os.environ.get("ORETRAIL_TEST_KAFKA")
    if address:
        yield address
        return
    # the JVM's full JIT (kafka-local defaults to C1 only, which starts faster but runs slower)
    env = {"ORETRAIL_KAFKA_JVM_OPTS": "", **os.environ, "ORETRAIL_KAFKA_DIR": str(scratch / "kafka")}
    started = subprocess.run([str(ROOT / "scripts" / "kafka-local"), "start"], env=env, capture_output=True, text=True,
                             check=True, timeout=600)
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(ROOT / "scripts" / "kafka-local"), "stop"], env=env, capture_output=True, timeout=120)


@contextmanager
def deployment(address: str, backend: str, server: str, data_dir: Path,
               driver: str = "kafka-python") -> Iterator[dict[str, str]]:
    """A fresh deployment: its own topic, group prefix and read-model database; the log on ``driver``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    with _database(backend, server, data_dir) as url:
        yield {"ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_EVENT_LOG": f"kafka://{address}",
               "ORETRAIL_KAFKA_TOPIC": f"bench.{token}", "ORETRAIL_KAFKA_PREFIX": f"bench-{token}",
               "ORETRAIL_DATABASE_URL": url, "ORETRAIL_KAFKA_DRIVER": driver}


# -- memory ----------------------------------------------------------------------------------------
def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The peak resident set size (``VmHWM``) of a process in MB; None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def api_peak_rss() -> dict:
    """Peak RSS of the gunicorn processes this benchmark started (master and each worker), now."""
    for pid in _children(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in command:
            workers = [peak_rss_mb(worker) for worker in _children(pid)]
            return {"master_mb": peak_rss_mb(pid), "workers_mb": [mb for mb in workers if mb is not None]}
    return {}


# -- capture -----------------------------------------------------------------------------------------
def measure_capture_drivers(address: str, server: str, scratch: Path) -> dict:
    """Capture with each driver and the raw producers of both clients, ``CAPTURE_ROUNDS`` rounds
    interleaved (a round measures all four, each on a fresh topic); medians, and every round's ratios."""
    events = bulk_stream(EventFactory("capture"), CAPTURE_EVENTS, "cap")
    measured: dict[str, list[dict]] = {}
    for number in range(CAPTURE_ROUNDS):
        for driver in DRIVERS:
            with deployment(address, "postgresql", server, scratch / f"raw-{driver}-{number}", driver) as env:
                measured.setdefault(f"raw:{driver}", []).append(measure_raw_producer(env, events, driver))
            with deployment(address, "postgresql", server, scratch / f"capture-{driver}-{number}", driver) as env:
                measured.setdefault(f"capture:{driver}", []).append(measure_capture(env, events))
    reference = [sample["events_per_s"] for sample in measured["raw:kafka-python"]]
    figures: dict = {"events": len(events), "batch": BATCH, "clients": CLIENTS, "gunicorn": "2 workers x 4 threads",
                     "rounds": CAPTURE_ROUNDS,
                     "raw_producer": _median_of(measured["raw:kafka-python"]),
                     "raw_producer_confluent": _median_of(measured["raw:confluent"])}
    for driver in DRIVERS:
        rates = [sample["events_per_s"] for sample in measured[f"capture:{driver}"]]
        own_raw = [sample["events_per_s"] for sample in measured[f"raw:{driver}"]]
        figures[driver] = {
            **_median_of(measured[f"capture:{driver}"]),
            "ratio_to_raw_producer": _median([rate / raw for rate, raw in zip(rates, reference)], 3),
            "ratio_to_raw_producer_by_round": [round(rate / raw, 3) for rate, raw in zip(rates, reference)],
            "ratio_to_own_raw_producer": _median([rate / raw for rate, raw in zip(rates, own_raw)], 3),
            "peak_rss": measured[f"capture:{driver}"][-1]["peak_rss"],
        }
    return figures


def _median(values: list[float], digits: int = 0) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(value, digits) if digits else round(value)


def _median_of(samples: list[dict]) -> dict:
    """The median rate of a measurement's rounds, with every round's rate beside it."""
    rates = [sample["events_per_s"] for sample in samples]
    return {"events_per_s": _median(rates), "events_per_s_by_round": rates}


def measure_raw_producer(env: dict[str, str], events: list[dict], driver: str = "kafka-python") -> dict:
    """The driver's transactional producer alone (configured as capture's): the same records, 500 a transaction."""
    prepared = [prepare(envelope) for envelope in events]
    settings = Settings.from_env(env)
    platform = build_platform(settings)  # only to create the topic the same way
    kafka_log = platform.log_itself
    kafka_log.ensure_topic()
    settings_of_producer = kafka_log.producer_settings(f"bench-raw-{uuid.uuid4().hex[:8]}")
    platform.close()
    send = _confluent_transactions if driver == "confluent" else _kafka_python_transactions
    elapsed = send(settings_of_producer, settings.kafka_topic, prepared)
    return {"events": len(prepared), "seconds": round(elapsed, 2), "events_per_s": round(len(prepared) / elapsed)}


def _kafka_python_transactions(producer_settings: dict, topic: str, prepared: list) -> float:
    """Seconds kafka-python takes to send ``prepared`` in transactions of BATCH records."""
    producer = KafkaProducer(**producer_settings)
    producer.init_transactions()
    started = time.perf_counter()
    for start in range(0, len(prepared), BATCH):
        producer.begin_transaction()
        for event in prepared[start:start + BATCH]:
            producer.send(topic, key=event.stream_id.encode(), value=event.body,
                          headers=headers_of(event, "2026-01-01T00:00:00.000000Z"))
        producer.flush()
        producer.commit_transaction()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def _confluent_transactions(producer_settings: dict, topic: str, prepared: list) -> float:
    """Seconds confluent-kafka takes to send ``prepared`` in transactions of BATCH records."""
    producer = ConfluentProducer(producer_settings)
    producer.init_transactions(30)
    started = time.perf_counter()
    for start in range(0, len(prepared), BATCH):
        producer.begin_transaction()
        for event in prepared[start:start + BATCH]:
            producer.produce(topic, key=event.stream_id.encode(), value=event.body,
                             headers=headers_of(event, "2026-01-01T00:00:00.000000Z"))
        if producer.flush(30) > 0:
            raise RuntimeError("the raw confluent producer did not deliver a batch in 30 s")
        producer.commit_transaction(30)
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


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
        memory = api_peak_rss()
    if set(statuses) != {200}:
        raise RuntimeError(f"capture answered {sorted(set(statuses))}")
    return {"events": len(events), "batch": BATCH, "clients": CLIENTS, "gunicorn": "2 workers x 4 threads",
            "seconds": round(elapsed, 2), "events_per_s": round(len(events) / elapsed), "peak_rss": memory}


# -- projectors --------------------------------------------------------------------------------------
def event_chunks(make: EventFactory, total: int, tag: str, size: int = FILL_BATCH) -> Iterator[list[dict]]:
    """``bulk_stream(make, total, tag)`` in lists of ``size``, generated as they go (a million
    events as dicts would not fit the benchmark's memory)."""
    pending = registry(make)
    produced = 0
    round_number = 0
    while produced < total:
        while len(pending) < size and produced + len(pending) < total:
            chain, _ = deep_product_chain(make, f"{tag}-{round_number}", lots=300)
            pending += chain
            round_number += 1
        chunk, pending = pending[:min(size, total - produced)], pending[size:]
        produced += len(chunk)
        yield chunk


def fill(env: dict[str, str], chunks: Iterable[list[dict]]) -> int:
    """Append the events to the deployment's log, a transaction per chunk (no capture index); how many."""
    log = open_log(Settings.from_env(env))
    count = 0
    try:
        for chunk in chunks:
            log.append([prepare(envelope) for envelope in chunk])
            count += len(chunk)
    finally:
        log.close()
    return count


def measure_raw_consumer(env: dict[str, str], events: int) -> dict:
    """The deployment driver's consumer alone (kafka-python's or librdkafka's), with the projector's
    consumer settings, reading the topic once."""
    settings = Settings.from_env(env)
    platform = build_platform(settings)
    runner = platform.runners["provenance"]
    partitions = runner.kafka_log.partition_count()
    consumer_settings = runner.consumer_settings(group_id=None)
    platform.close()
    read = _confluent_read if settings.kafka_driver == "confluent" else _kafka_python_read
    started, cpu = time.perf_counter(), time.process_time()
    count = read(consumer_settings, settings.kafka_topic, partitions, events)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": count, "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
            "events_per_s": round(count / elapsed)}


def _kafka_python_read(consumer_settings: dict, topic: str, partitions: int, events: int) -> int:
    consumer = KafkaConsumer(**consumer_settings)
    try:
        assigned = [TopicPartition(topic, partition) for partition in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        count = 0
        while count < events:
            count += sum(len(records) for records in consumer.poll(timeout_ms=1000).values())
        return count
    finally:
        consumer.close()


def _confluent_read(consumer_settings: dict, topic: str, partitions: int, events: int) -> int:
    consumer = ConfluentConsumer(consumer_settings)
    try:
        consumer.assign([ConfluentTopicPartition(topic, partition, OFFSET_BEGINNING)
                         for partition in range(partitions)])
        count = 0
        while count < events:
            count += sum(1 for message in consumer.consume(1000, timeout=1.0) if message.error() is None)
        return count
    finally:
        consumer.close()


def _measured(command: str, env: dict[str, str]) -> dict:
    """Run ``python -m bench.distributed COMMAND`` in the deployment; its figures (last line, JSON)."""
    done = subprocess.run([sys.executable, "-m", "bench.distributed", command],
                          env={**os.environ, **env, "ORETRAIL_LOG_LEVEL": "WARNING"}, cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_projectors(address: str, server: str, scratch: Path) -> dict:
    """The projector figures: on each backend, each driver on the same topic; and the SQLite-log reference."""
    figures = {}
    for backend in ("sqlite", "postgresql"):
        figures.update(measure_projector_drivers(address, backend, server, scratch))
    figures["sqlite_log_reference"] = measure_projector_on_sqlite_log(scratch / "embedded")
    return figures


def measure_projector_drivers(address: str, backend: str, server: str, scratch: Path) -> dict:
    """The provenance projector catching up on one topic of PROJECTOR_EVENTS events into ``backend``
    with each driver (``BACKEND`` and ``BACKEND_confluent``), each round into a fresh read model, the
    drivers taking turns, each beside its raw consumer on that topic; the librdkafka driver's wall
    and CPU time as ratios to kafka-python's."""
    with deployment(address, backend, server, scratch / f"projector-{backend}") as env, \
            deployment(address, backend, server, scratch / f"projector-{backend}-confluent", "confluent") as other:
        confluent_env = {**other, "ORETRAIL_KAFKA_TOPIC": env["ORETRAIL_KAFKA_TOPIC"]}  # the same topic
        events = fill(env, event_chunks(EventFactory("projector"), PROJECTOR_EVENTS, "proj"))
        rounds: dict[str, list[tuple[dict, dict]]] = {"python": [], "confluent": []}
        for number in range(PROJECTOR_ROUNDS):
            for name, driver_env in (("python", env), ("confluent", confluent_env)):
                raw = measure_raw_consumer(driver_env, events)
                with _database(backend, server, _round_folder(driver_env, number)) as url:
                    rounds[name].append((_measured("catch-up", {**driver_env, "ORETRAIL_DATABASE_URL": url}), raw))
    python, confluent = (_projector_figure(rounds[name]) for name in ("python", "confluent"))
    confluent["speedup_wall_vs_kafka_python"] = round(python["seconds"] / confluent["seconds"], 2)
    confluent["speedup_cpu_vs_kafka_python"] = round(python["cpu_seconds"] / confluent["cpu_seconds"], 2)
    return {backend: python, f"{backend}_confluent": confluent}


def _round_folder(env: dict[str, str], number: int) -> Path:
    """A folder of its own for a round's read model (a SQLite file there; PostgreSQL makes a database)."""
    folder = Path(env["ORETRAIL_DATA_DIR"]) / f"round-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def median_round(rounds: list[dict]) -> dict:
    """The round of the median ``events_per_s`` (of an even number, the faster middle one), with every
    round's rate beside it, in the order they ran."""
    ordered = sorted(rounds, key=lambda figures: figures["events_per_s"])
    return {**ordered[len(ordered) // 2], "events_per_s_by_round": [figures["events_per_s"] for figures in rounds]}


def _projector_figure(rounds: list[tuple[dict, dict]]) -> dict:
    """The median catch-up beside the median raw consumer, from (catch-up, raw consumer) rounds."""
    measured = median_round([catch_up for catch_up, _raw in rounds])
    measured["raw_consumer"] = median_round([raw for _catch_up, raw in rounds])
    measured["ratio_to_raw_consumer"] = round(measured["events_per_s"] / measured["raw_consumer"]["events_per_s"], 3)
    return measured


def measure_projector_on_sqlite_log(data_dir: Path) -> dict:
    """The same projector replaying the same events from the embedded SQLite log into SQLite, each
    round into a fresh read model: what the projector costs without Kafka."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"ORETRAIL_DATA_DIR": str(data_dir)}
    fill(env, event_chunks(EventFactory("projector"), PROJECTOR_EVENTS, "proj"))
    return median_round([_measured("catch-up", {**env, "ORETRAIL_DATABASE_URL":
                                                f"sqlite:///{_round_folder(env, number) / 'readmodels.db'}"})
                         for number in range(PROJECTOR_ROUNDS)])


def catch_up_here() -> dict:
    """(In the measured process) the provenance projector catching up on the whole log."""
    platform = build_platform(Settings.from_env())
    try:
        runner = platform.runners["provenance"]
        started, cpu = time.perf_counter(), time.process_time()
        applied = runner.catch_up()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        platform.close()
    return {"events": applied, "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
            "events_per_s": round(applied / elapsed), "driver": platform.settings.kafka_driver,
            "batch": runner.batch_size, "peak_rss_mb": peak_rss_mb()}


# -- lag -----------------------------------------------------------------------------------------------
def small_chain(make: EventFactory, tag: str) -> list[dict]:
    """Five events ending in a ring: site, pit, production, purchase, manufacture."""
    return [
        make("site.registered", {"site_id": f"site-{tag}", "name": tag, "country": "CD", "region": "Ituri",
                                 "mineral": "gold"}),
        make("pit.registered", {"pit_id": f"pit-{tag}", "site_id": f"site-{tag}"}),
        make("production.recorded", {"lot_id": f"lot-{tag}", "pit_id": f"pit-{tag}", "miner_ids": ["m-1"],
                                     "mass_g": 40.0, "fineness": 0.9}),
        # the recorder buys the lot and makes the ring from it (handing it to another, then using it,
        # would rightly be refused: the ring would never be visible)
        make("lot.transferred", {"lot_id": f"lot-{tag}", "from_id": "m-1", "to_id": "admin", "mass_g": 40.0}),
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
    stopped = threading.Event()
    try:
        with served(env, command=_gunicorn(1, 8)) as base:
            def watch() -> None:
                with requests.Session() as session:
                    while not stopped.is_set() and (not done.is_set() or pending):
                        with lock:
                            waiting = list(pending.items())
                        for product, posted in waiting:
                            try:
                                seen = session.get(f"{base}/v1/products/{product}/provenance", headers=headers,
                                                   timeout=30).status_code == 200
                            except requests.RequestException:  # the API is being stopped: the run is over
                                return
                            if seen:
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
            stopped.set()  # what is still not visible after two minutes counts as unseen
            api_memory = api_peak_rss()
        projector_memory = peak_rss_mb(projector.pid)
    finally:
        projector.terminate()
        projector.wait(30)
    return {"rate_events_per_s": LAG_RATE, "seconds": LAG_SECONDS, "events_per_request": per_request,
            **latency_summary(samples), "unseen_after_2_min": len(pending), "api_peak_rss": api_memory,
            "projector_peak_rss_mb": projector_memory}


# -- rebuild -------------------------------------------------------------------------------------------
def measure_rebuild(env: dict[str, str]) -> dict:
    """``rebuild`` of the provenance read model on a topic of REBUILD_EVENTS events, in a process of its own."""
    started = time.perf_counter()
    events = fill(env, event_chunks(EventFactory("rebuild"), REBUILD_EVENTS, "reb"))
    filled = time.perf_counter() - started
    measured = _measured("rebuild", env)
    measured["fill_seconds"] = round(filled, 1)
    measured["fill_events_per_s"] = round(events / filled)
    measured["for_1m_events_s"] = round(1_000_000 / measured["events_per_s"])
    measured["extrapolated"] = measured["events"] < 1_000_000
    return measured


def rebuild_here() -> dict:
    """(In the measured process) rebuild the provenance read model from the whole log."""
    platform = build_platform(Settings.from_env())
    try:
        runner = platform.runners["provenance"]
        started = time.perf_counter()
        count = runner.rebuild()
        elapsed = time.perf_counter() - started
    finally:
        platform.close()
    return {"events": count, "seconds": round(elapsed, 1), "events_per_s": round(count / elapsed),
            "batch": runner.batch_size, "peak_rss_mb": peak_rss_mb()}


# -- the summary ---------------------------------------------------------------------------------------
def summary(figures: dict) -> list[dict]:
    """One row a figure: value, target, the same run's reference, the ratio, and whether it is met."""
    projector = figures["projector"]
    rows = capture_summary(figures["capture"]) + projector_summary(projector)
    rebuild = figures["rebuild"]
    rows.append(_row(f"rebuild into postgresql, s for 1,000,000 events{' (extrapolated)' if rebuild['extrapolated'] else ''}",
                     rebuild["for_1m_events_s"], f"<= {TARGETS['rebuild_1m_postgresql_s']}", "", None,
                     rebuild["for_1m_events_s"] <= TARGETS["rebuild_1m_postgresql_s"]))
    rows.append(_row("POST to visible at 500 events/s, p99 ms", figures["lag"]["p99_ms"],
                     f"<= {TARGETS['lag_p99_ms_at_500_per_s']}", "", None,
                     figures["lag"]["p99_ms"] <= TARGETS["lag_p99_ms_at_500_per_s"]))
    peaks = {
        **{f"API worker (capture, {driver})": max(figures["capture"][driver]["peak_rss"].get("workers_mb") or [0])
           for driver in DRIVERS},
        "API worker (lag)": max(figures["lag"]["api_peak_rss"].get("workers_mb") or [0]),
        "projector into sqlite": projector["sqlite"]["peak_rss_mb"],
        "projector into postgresql": projector["postgresql"]["peak_rss_mb"],
        "projector into sqlite (confluent)": projector["sqlite_confluent"]["peak_rss_mb"],
        "projector into postgresql (confluent)": projector["postgresql_confluent"]["peak_rss_mb"],
        "projector following (lag)": figures["lag"]["projector_peak_rss_mb"],
        "rebuild": rebuild["peak_rss_mb"],
    }
    for name, mb in peaks.items():
        rows.append(_row(f"peak RSS, {name}, MB", mb, f"<= {TARGETS['peak_rss_mb']}", "", None,
                         mb is not None and mb <= TARGETS["peak_rss_mb"]))
    return rows


def projector_summary(projector: dict) -> list[dict]:
    """A row a backend and driver: the projector's rate beside its raw consumer's (kafka-python), or
    beside the kafka-python projector on the same topic (confluent); and the SQLite-log reference."""
    rows = []
    for backend in ("sqlite", "postgresql"):
        target = TARGETS[f"projector_{backend}_events_per_s"]
        python, confluent = projector[backend], projector[f"{backend}_confluent"]
        rows.append(_row(f"projector from Kafka into {backend}, events/s", python["events_per_s"],
                         f">= {target}", "raw kafka-python consumer", python["raw_consumer"]["events_per_s"],
                         python["events_per_s"] >= target))
        rows.append(_row(f"projector from Kafka into {backend} (confluent driver), events/s",
                         confluent["events_per_s"], f">= {target}", "the kafka-python projector, same topic",
                         python["events_per_s"], confluent["events_per_s"] >= target))
        rows.append(_row(f"projector CPU seconds into {backend} (confluent driver)", confluent["cpu_seconds"], "",
                         "the kafka-python projector's", python["cpu_seconds"], None))
    rows.append(_row("the same projector from the SQLite log into sqlite, events/s",
                     projector["sqlite_log_reference"]["events_per_s"], "", "projector from Kafka into sqlite",
                     projector["sqlite"]["events_per_s"], None))
    return rows


def capture_summary(capture: dict) -> list[dict]:
    """A row a driver: capture's median rate beside the raw kafka-python producer's, the target its
    ratio; and the raw confluent producer beside the same reference."""
    target = TARGETS["capture_ratio_to_raw_producer"]
    reference = capture["raw_producer"]["events_per_s"]
    rows = []
    for driver in DRIVERS:
        row = _row(f"capture on Kafka over HTTP ({driver} driver), events/s", capture[driver]["events_per_s"],
                   f">= {target} x raw producer", "raw kafka-python producer", reference,
                   capture[driver]["ratio_to_raw_producer"] >= target)
        row["ratio"] = capture[driver]["ratio_to_raw_producer"]  # the median of the rounds' ratios, not of rates
        rows.append(row)
    rows.append(_row("raw confluent-kafka producer, events/s", capture["raw_producer_confluent"]["events_per_s"], "",
                     "raw kafka-python producer", reference, None))
    return rows


def _row(figure: str, value, target: str, reference: str, reference_value, met: bool | None) -> dict:
    row = {"figure": figure, "value": value, "target": target}
    if reference:
        row.update(reference=reference, reference_value=reference_value,
                   ratio=round(value / reference_value, 3) if reference_value else None)
    if met is not None:
        row["meets_target"] = met
    return row


def main(argv: list[str]) -> int:
    """``catch-up`` or ``rebuild``: one measured process (its figures as the last line, JSON)."""
    commands = {"catch-up": catch_up_here, "rebuild": rebuild_here}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m bench.distributed {'|'.join(commands)}", file=sys.stderr)
        return 2
    print(json.dumps(commands[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
