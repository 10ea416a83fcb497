"""Benchmark of the checks: projector throughput with every check on (the custody and mass checks and
the sourcing checks), next to the provenance projector alone, on SQLite and on PostgreSQL read models
(target: the checks cost at most half of the throughput), and the latency of the due-diligence record
of a ring with about 1,000 ancestor nodes over HTTP (target: p99 <= 200 ms)."""
from __future__ import annotations

import hashlib
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, ContextManager, Iterator
from unittest import mock

import requests

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import latency_summary, served
from bench.postgres import _database, postgres_server
from consumers.checks.projector import ChecksProjector
from consumers.diligence.projector import DiligenceProjector
from consumers.provenance.projector import ProvenanceProjector
from events.envelope import prepare
from composition.bootstrap import build_platform
from services.settings import Settings

NAME = "checks"
EVENTS = 20_000
ANCESTOR_LOTS = 1_000
REQUESTS = 200


def _settings(folder: Path, database_url: str) -> Settings:
    return Settings.from_env({"ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_DATABASE_URL": database_url,
                              "ORETRAIL_LOG_LEVEL": "WARNING"})


def _append(platform, events: list[dict]) -> None:
    for start in range(0, len(events), 1000):
        platform.log.append([prepare(event) for event in events[start:start + 1000]])


def _time_catch_up(folder: Path, database_url: str, projectors) -> float:
    platform = build_platform(_settings(folder, database_url), projectors)
    try:
        began = time.perf_counter()
        platform.catch_up()
        return time.perf_counter() - began
    finally:
        platform.close()


class HourlyFactory(EventFactory):
    """The same events an hour apart: about 20 lots per pit and month, as a real cooperative records."""

    def __call__(self, event_type: str, data: dict, recorded_by: str = "admin", minutes: int | None = None) -> dict:
        return super().__call__(event_type, data, recorded_by, minutes=60 * (self.counter + 1))


#: a fresh read-model database named ``name`` (a URL) for the time of a ``with``
Databases = Callable[[str], ContextManager[str]]


def sqlite_databases(folder: Path) -> Databases:
    """Read models in SQLite files of ``folder``."""
    @contextmanager
    def database(name: str) -> Iterator[str]:
        yield f"sqlite:///{folder / (name + '.db')}"
    return database


def throughput(factory: EventFactory, databases: Callable[[Path], Databases]) -> dict:
    """Events a second: the provenance projector alone, then provenance + checks + diligence on the same log
    (every check on: the custody and mass checks and the sourcing checks), and checks + diligence with the
    rules switched off (``recompute`` replaced by a no-op): what storing their own facts costs before any
    rule runs, the floor of their time."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = databases(folder)
        writer = build_platform(_settings(folder, f"sqlite:///{folder / 'writer.db'}"), [])
        events = bulk_stream(factory, EVENTS, "bulk")
        _append(writer, events)
        total = writer.log.end_position()
        writer.close()
        with database("alone") as url:
            alone = _time_catch_up(folder, url, [ProvenanceProjector()])
        with database("checks") as url:
            checks_only = _time_catch_up(folder, url, [ChecksProjector(), DiligenceProjector()])
        with database("all") as url:
            with_checks = (_time_catch_up(folder, url, [ProvenanceProjector()])
                           + _time_catch_up(folder, url, [ChecksProjector(), DiligenceProjector()]))
        with database("facts") as url, mock.patch("consumers.checks.projector.recompute"):
            facts_only = _time_catch_up(folder, url, [ChecksProjector(), DiligenceProjector()])
    ratio = alone / with_checks
    return {
        "events": total,
        "provenance_alone_events_per_s": round(total / alone),
        "checks_and_diligence_alone_events_per_s": round(total / checks_only),
        "all_projectors_events_per_s": round(total / with_checks),
        "throughput_kept_with_checks": round(ratio, 3),
        # the bound of that ratio while the checks keep their own facts: the same projectors storing every
        # fact and custody verdict but running no rule (their findings' share is what is left)
        "checks_and_diligence_without_rules_events_per_s": round(total / facts_only),
        "kept_if_the_rules_cost_nothing": round(alone / (alone + facts_only), 3),
        "target_kept_at_least": 0.5,
        "meets_target": ratio >= 0.5,
    }


def verified(make: EventFactory, events: list[dict]) -> list[dict]:
    """The registry as an honest cooperative keeps it for the sourcing checks: every miner with a photo-ID
    hash, every pit inspected (else each of the ring's 1,000 lots carries two findings of its own)."""
    honest = [{**event, "data": {**event["data"], "photo_id_sha256": hashlib.sha256(event["data"]["miner_id"].encode()).hexdigest()}}
              if event["type"] == "miner.registered" else event for event in events]
    pits = [event["data"]["pit_id"] for event in events if event["type"] == "pit.registered"]
    return honest + [make("pit.inspected", {"pit_id": pit, "status": "active"}) for pit in pits]


def record_latency() -> dict:
    """p50/p90/p99 of ``GET /v1/products/{id}/due-diligence`` for a ring with ~1,000 ancestors, over HTTP."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings.from_env({"ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_LOG_LEVEL": "WARNING"})
        platform = build_platform(settings)
        make = EventFactory("bench-dd")
        chain, product = deep_product_chain(make, "deep", lots=ANCESTOR_LOTS)
        _append(platform, verified(make, registry(make)) + chain)
        platform.catch_up()
        key = platform.keys.create("atelier", "manufacturer")
        provenance = platform.app_context().provenance.product_provenance(product)
        ancestors = len(provenance["lineage"]["nodes"]) - 1
        platform.close()
        headers = {"Authorization": f"Bearer {key}"}
        with served({"ORETRAIL_DATA_DIR": str(folder)}) as base:
            url = f"{base}/v1/products/{product}/due-diligence"
            session = requests.Session()
            first = session.get(url, headers=headers, timeout=30)
            first.raise_for_status()
            body = first.json()
            samples = []
            for _ in range(REQUESTS):
                began = time.perf_counter()
                response = session.get(url, headers=headers, timeout=30)
                samples.append(time.perf_counter() - began)
                response.raise_for_status()
            html = []
            for _ in range(20):
                began = time.perf_counter()
                session.get(url + "?format=html", headers=headers, timeout=30).raise_for_status()
                html.append(time.perf_counter() - began)
    summary = latency_summary(samples)
    return {
        "ancestor_nodes": ancestors,
        "record_events": len(body["integrity"]["events"]),
        "open_findings": sum(1 for finding in body["findings"] if finding["status"] == "open"),
        "status": body["status"],
        "json": summary,
        "html": latency_summary(html),
        "target_p99_ms": 200,
        "meets_target": summary["p99_ms"] <= 200,
    }


def run() -> dict:
    """Throughput on two streams, on SQLite and PostgreSQL read models, and the record's latency.

    ``throughput_one_month`` is ``bench.chains.bulk_stream`` as it is: 20,000 events a minute apart,
    so every production falls in one month and every pit and miner is far over capacity (each batch
    rewrites a few hundred capacity findings: the worst case). ``throughput_hourly`` is the same
    stream an hour apart (about 27 months): mostly honest data, as in the field. Both raise the
    sourcing findings the stream calls for (no miner has a photo ID and no pit was ever inspected:
    two findings for every production). Each ratio is to the provenance projector alone, measured in
    the same run on the same database server.
    """
    figures: dict = {}
    with postgres_server() as server:
        for backend, databases in (("sqlite", sqlite_databases), ("postgresql", lambda folder: postgres_databases(server))):
            figures[backend] = {"throughput_one_month": throughput(EventFactory("bench-checks"), databases),
                                "throughput_hourly": throughput(HourlyFactory("bench-checks"), databases)}
    figures["due_diligence_record"] = record_latency()
    return figures


def postgres_databases(server: str) -> Databases:
    """Fresh databases on a PostgreSQL server, dropped after use."""
    def database(name: str) -> ContextManager[str]:
        return _database("postgresql", server, Path("."))
    return database
