"""Issue 11's evidence-bundle benchmark, on the embedded default (``oretrail serve``, SQLite log and read models).

``GET /v1/products/{id}/evidence`` latency for a ring with more than 1,000 ancestor nodes whose
refiner and jeweller sign their steps, in a log of ``BENCH_EVIDENCE_BACKGROUND`` other events (so
proofs have the depth of a used log), against ``GET /v1/products/{id}/provenance`` of the same ring
measured in the same run, request for request. Target: p99 <= 100 ms. When it is missed, the
bundle is profiled in process (cProfile) and the top functions by cumulative time are reported.
"""
from __future__ import annotations

import os

import requests

from bench.chains import EventFactory, bulk_stream, deep_product_chain, registry
from bench.common import alternating_latencies, post_events, ring_benchmark, wait_caught_up
from events import signing

NAME = "evidence"
BACKGROUND = int(os.environ.get("BENCH_EVIDENCE_BACKGROUND", "50000"))
SAMPLES = int(os.environ.get("BENCH_EVIDENCE_SAMPLES", "200"))
BATCH = 500
TARGET_P99_MS = 100.0
SIGNERS = ("refiner", "atelier")


def run() -> dict:
    """Evidence and provenance latency of one deep ring, side by side; a profile if the target is missed."""
    return ring_benchmark("evidence", "/v1/products/{product}/evidence", TARGET_P99_MS, _record, _measure)


def _chain() -> tuple[list[dict], list[dict], str]:
    """The registry and the signing keys, then the deep ring's steps (the refiner's and the jeweller's
    signed with those keys), and the ring's id."""
    make = EventFactory("deep", spacing_minutes=360)  # six hours apart: no capacity findings
    chain, product = deep_product_chain(make, "deep", lots=1200)
    keys = {org: signing.new_private_key() for org in SIGNERS}
    registrations = [make("organization.key_registered", {
        "organisation_id": org, "key_id": f"{org}-bench", "public_key": signing.public_key_b64(private),
        "valid_from": "2020-01-01T00:00:00Z"}, org) for org, private in keys.items()]
    signed = [signing.sign_envelope(event, keys[event["recorded_by"]], f"{event['recorded_by']}-bench")
              if event["recorded_by"] in keys else event for event in chain]
    return registry(make, capacity_g_per_month=100_000.0) + registrations, signed, product


def _record(session: requests.Session, base: str, headers: dict) -> str:
    """Post the background events, then the ring; wait until the projectors caught up."""
    setup, steps, product = _chain()
    background = bulk_stream(EventFactory("background"), BACKGROUND, "bg")
    for part in (background, setup, None, steps):
        if part is None:
            wait_caught_up(session, base)  # the keys must be known before the steps they sign
            continue
        post_events(session, base, headers, part, BATCH)
    wait_caught_up(session, base)
    return product


def _measure(session: requests.Session, base: str, headers: dict, product: str) -> dict:
    urls = {"evidence": f"{base}/v1/products/{product}/evidence",
            "provenance": f"{base}/v1/products/{product}/provenance"}
    bundle = session.get(urls["evidence"], headers=headers).json()
    provenance = session.get(urls["provenance"], headers=headers).json()
    figures = alternating_latencies(session, urls, headers, SAMPLES)
    figures["evidence"].update(events=len(bundle["events"]), signed=sum(1 for e in bundle["events"] if e["signature"]),
                               tree_size=bundle["tree_size"], keys=len(bundle["keys"]))
    figures["provenance"].update(ancestor_nodes=len(provenance["lineage"]["nodes"]) - 1,
                                 timeline_events=len(provenance["timeline"]))
    figures["p99_ratio_evidence_to_provenance"] = round(figures["evidence"]["p99_ms"] / figures["provenance"]["p99_ms"], 2)
    return figures
