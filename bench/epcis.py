"""Issue 13's EPCIS export benchmark, on the embedded default (``oretrail serve``, SQLite log and read models).

``GET /v1/products/{id}/epcis`` latency for a ring with more than 1,000 ancestor nodes, in a log of
``BENCH_EPCIS_BACKGROUND`` other events, against ``GET /v1/products/{id}/provenance`` of the same
ring measured in the same run, request for request, and the first export alone (every event mapped and
hashed; the server keeps the mapped events after). Target: p99 <= 200 ms. When it is missed, the
export is profiled in process (cProfile) and the top functions by cumulative time are reported.
"""
from __future__ import annotations

import os
import time

import requests

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import alternating_latencies, post_events, ring_benchmark, wait_caught_up
from services.epcis.documents import schema_errors

NAME = "epcis"
BACKGROUND = int(os.environ.get("BENCH_EPCIS_BACKGROUND", "20000"))
SAMPLES = int(os.environ.get("BENCH_EPCIS_SAMPLES", "200"))
WARM_UP = 20
BATCH = 500
TARGET_P99_MS = 200.0


def run() -> dict:
    """EPCIS export and provenance latency of one deep ring, side by side; a profile if the target is missed."""
    return ring_benchmark("epcis", "/v1/products/{product}/epcis", TARGET_P99_MS, _record, _measure)


def _record(session: requests.Session, base: str, headers: dict) -> str:
    """Post the background events, then the registry and the deep ring; wait until the projectors caught up."""
    make = EventFactory("deep", spacing_minutes=360)  # six hours apart: no capacity findings
    steps, product = deep_product_chain(make, "deep", lots=1200)
    background = bulk_stream(EventFactory("background"), BACKGROUND, "bg")
    for part in (background, registry(make, capacity_g_per_month=100_000.0), steps):
        post_events(session, base, headers, part, BATCH)
    wait_caught_up(session, base)
    return product


def _measure(session: requests.Session, base: str, headers: dict, product: str) -> dict:
    urls = {"epcis": f"{base}/v1/products/{product}/epcis",
            "provenance": f"{base}/v1/products/{product}/provenance"}
    started = time.perf_counter()  # the first export maps and hashes every event; later ones find them mapped
    first = session.get(urls["epcis"], headers=headers)
    cold_ms = round((time.perf_counter() - started) * 1000, 2)
    document = first.json()
    provenance = session.get(urls["provenance"], headers=headers).json()
    figures = alternating_latencies(session, urls, headers, SAMPLES, WARM_UP)
    figures["epcis"].update(first_export_ms=cold_ms, events=len(document["epcisBody"]["eventList"]),
                            valid_by_gs1_schema=schema_errors(document) == [])
    figures["provenance"].update(ancestor_nodes=len(provenance["lineage"]["nodes"]) - 1,
                                 timeline_events=len(provenance["timeline"]))
    figures["p99_ratio_epcis_to_provenance"] = round(figures["epcis"]["p99_ms"] / figures["provenance"]["p99_ms"], 2)
    return figures
