"""Impact benchmark: projector throughput (impact next to provenance) and ``/v1/impact`` latency
over two years of a 2,000-miner cooperative.

The stream: 2,000 miners at four sites, teams of one to four selling a lot to the cooperative
about every other week (about 10,000 lots with their purchases), monthly merges and exports, a
survey round a year, 60 savings groups reporting monthly, trainings and leadership. It is appended
straight to a SQLite log; each projector then replays it alone into a fresh read-model database.

Targets: the impact projector at least as fast as the provenance projector; ``/v1/impact`` p99 at
most 200 ms, over a mix of queries (cooperative and site, by month, year and range, by gender and
by gender and age band), served by ``oretrail serve``.
"""
from __future__ import annotations

import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from bench.common import latency_summary, served
from consumers.impact.projector import ImpactProjector
from consumers.impact.views import ImpactView, Scope, TableRequest
from consumers.provenance.projector import ProvenanceProjector
from events.envelope import prepare
from events.sqlite_log import SqliteEventLog
from composition.bootstrap import build_platform
from services.settings import Settings

NAME = "impact"
NAMESPACE = uuid.UUID("6d0b2f8e-1f3a-4c1e-9a57-3b2d9c4e7f10")
START = datetime(2024, 12, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))
MINERS, SITES, MONTHS, GROUPS = 2_000, 4, 24, 60
REQUESTS = 300


def community_stream(seed: int = 11) -> list[dict]:
    """About 40,000 events of two years of one cooperative."""
    rng = random.Random(seed)
    counter = 0
    events: list[dict] = []

    def add(event_type: str, when: datetime, data: dict, by: str = "coop") -> None:
        nonlocal counter
        counter += 1
        events.append({"event_id": str(uuid.uuid5(NAMESPACE, str(counter))), "type": event_type,
                       "occurred_at": when.isoformat(), "recorded_by": by, "data": data})

    add("organization.registered", START, {"org_id": "coop", "name": "Coop", "role": "cooperative", "country": "CD"}, "admin")
    add("organization.registered", START, {"org_id": "exporter", "name": "Exp", "role": "exporter", "country": "CD"}, "admin")
    for s in range(SITES):
        add("site.registered", START, {"site_id": f"site-{s}", "name": f"Site {s}", "country": "CD", "region": "Ituri",
                                       "mineral": "gold"}, "admin")
        for p in range(5):
            add("pit.registered", START, {"pit_id": f"pit-{s}-{p}", "site_id": f"site-{s}"})
    genders = ("female", "male") * 9 + ("other", "undisclosed")
    roles = ("digger", "digger", "processor", "transporter", "trader", "pit_owner", "team_lead")
    for m in range(MINERS):
        add("miner.registered", START + timedelta(days=m % 300), {
            "miner_id": f"miner-{m}", "cooperative_id": "coop", "site_id": f"site-{m % SITES}",
            "gender": rng.choice(genders), "birth_year": rng.randint(1960, 2006), "work_role": rng.choice(roles)})
    for month in range(MONTHS):
        first = START + timedelta(days=30 * month)
        reference = 80 + month
        add("market.price_recorded", first, {"date": first.date().isoformat(), "price_per_g_fine": f"{reference}.00",
                                             "currency": "USD"}, "admin")
        bought = []
        for n in range(420):  # 420 lots a month: about 10,000 in two years
            site = n % SITES
            team = rng.sample(range(site, MINERS, SITES), rng.randint(1, 4))
            lot_id = f"lot-{month}-{n}"
            mass = round(rng.uniform(3, 15), 2)
            when = first + timedelta(days=rng.randint(0, 27), hours=rng.randint(0, 9))
            add("production.recorded", when, {"lot_id": lot_id, "pit_id": f"pit-{site}-{n % 5}",
                                              "miner_ids": [f"miner-{m}" for m in team], "mass_g": mass,
                                              "fineness": round(rng.uniform(0.82, 0.93), 3)})
            add("lot.transferred", when + timedelta(hours=1), {
                "lot_id": lot_id, "from_id": f"miner-{team[0]}", "to_id": "coop", "mass_g": mass,
                "price_per_g": f"{reference * rng.uniform(0.66, 0.8):.2f}", "currency": "USD"})
            bought.append((lot_id, mass))
        merged = f"coop-{month}"
        add("lots.merged", first + timedelta(days=28), {"lot_id": merged,
                                                        "inputs": [{"lot_id": l, "mass_g": m} for l, m in bought]})
        add("lot.transferred", first + timedelta(days=29), {"lot_id": merged, "from_id": "coop", "to_id": "exporter",
                                                            "mass_g": round(sum(m for _, m in bought), 2)})
        for g in range(GROUPS):
            add("vsla.reported", first + timedelta(days=27), {
                "group_id": f"vsla-{g}", "period": first.strftime("%Y-%m"), "savings": f"{rng.uniform(80, 140):.2f}",
                "loans": f"{rng.uniform(20, 90):.2f}", "currency": "USD", "solidarity_assists": rng.randint(0, 2)})
            if month % 12 == 0:
                women = rng.randint(10, 25)
                add("vsla.registered", first, {"group_id": f"vsla-{g}", "site_id": f"site-{g % SITES}",
                                               "members_female": women, "members_male": 28 - women,
                                               "committee_female": min(women, 3), "committee_male": 2})
        for s in range(SITES):
            for kind in ("literacy", "business", "dialogue"):
                add("training.held", first + timedelta(days=10), {"site_id": f"site-{s}", "kind": kind,
                                                                  "attendees_female": rng.randint(5, 25),
                                                                  "attendees_male": rng.randint(2, 15)})
        if month % 12 == 3:
            for r in range(800):
                add("survey.completed", first + timedelta(days=rng.randint(0, 20)), {
                    "respondent_id": f"hh-{r}", "site_id": f"site-{r % SITES}", "gender": rng.choice(genders),
                    "age_band": rng.choice(("18_24", "25_34", "35_44", "45_54", "55_plus")),
                    "work_role": rng.choice(roles), "income_month": f"{rng.randint(25, 140)}.00", "currency": "USD",
                    "controls_own_income": rng.random() < 0.6, "savings": f"{rng.randint(0, 60)}.00"})
        for p in range(12):
            add("leadership.recorded", first + timedelta(days=3), {
                "person_id": f"ldr-{month}-{p}", "gender": rng.choice(genders), "position": "team lead",
                "organisation_id": "coop", "site_id": f"site-{p % SITES}"})
    return events


def _throughput(log_url: str, folder: Path, projector) -> dict:
    settings = Settings.from_env({"ORETRAIL_DATA_DIR": str(folder), "ORETRAIL_EVENT_LOG": log_url})
    platform = build_platform(settings, projectors=[projector])
    try:
        began = time.perf_counter()
        events = platform.runner(projector.name).catch_up()
        seconds = time.perf_counter() - began
    finally:
        platform.close()
    return {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds)}


QUERIES = [
    ("cooperative_id=coop", TableRequest(Scope(cooperative_id="coop"), "2024-12", "2026-11")),
    ("cooperative_id=coop&period=year", TableRequest(Scope(cooperative_id="coop"), "2024-12", "2026-11", "year")),
    ("site_id=site-1", TableRequest(Scope(site_id="site-1"), "2024-12", "2026-11")),
    ("site_id=site-2&period=year&by=gender,age_band",
     TableRequest(Scope(site_id="site-2"), "2024-12", "2026-11", "year", ("gender", "age_band"))),
]


def _cold_latency(engine, rounds: int = 5) -> dict:
    """Computing a table from the read model, no cache: the worst case, right after new events."""
    view = ImpactView(engine, cache_size=0)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, request in QUERIES:
            began = time.perf_counter()
            view.table(request, reveal=False)
            samples.setdefault(name, []).append(time.perf_counter() - began)
    every = [value for values in samples.values() for value in values]
    return {**latency_summary(every), "by_query_p50_ms": {q: latency_summary(v)["p50_ms"] for q, v in samples.items()}}


def run() -> dict:
    """Append the stream, replay it into each projector, then time ``/v1/impact`` against the server."""
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-impact-") as root:
        root_path = Path(root)
        log_path = root_path / "events.db"
        log = SqliteEventLog(log_path)
        stream = community_stream()
        for index in range(0, len(stream), 1000):
            log.append([prepare(event) for event in stream[index:index + 1000]])
        log.close()
        log_url = f"sqlite:///{log_path}"
        provenance = _throughput(log_url, root_path / "provenance", ProvenanceProjector())
        impact = _throughput(log_url, root_path / "impact", ImpactProjector())

        served_dir = root_path / "served"
        settings = Settings.from_env({"ORETRAIL_DATA_DIR": str(served_dir), "ORETRAIL_EVENT_LOG": log_url})
        platform = build_platform(settings)
        platform.catch_up()
        key = platform.keys.create("ngo-watch", "ngo")
        cold = _cold_latency(platform.engine)
        platform.close()
        queries = [
            "cooperative_id=coop", "cooperative_id=coop&period=year", "cooperative_id=coop&period=range",
            "site_id=site-1", "site_id=site-2&period=year&by=gender,age_band", "cooperative_id=coop&by=age_band",
            "cooperative_id=coop&from=2025-06&to=2026-05", "site_id=site-3&format=csv",
        ]
        env = {"ORETRAIL_DATA_DIR": str(served_dir), "ORETRAIL_EVENT_LOG": log_url}
        samples: list[float] = []
        by_query: dict[str, list[float]] = {query: [] for query in queries}
        with served(env) as base, requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {key}"
            for query in queries:  # warm-up: one each
                assert session.get(f"{base}/v1/impact?{query}", timeout=60).status_code == 200
            for number in range(REQUESTS):
                query = queries[number % len(queries)]
                began = time.perf_counter()
                response = session.get(f"{base}/v1/impact?{query}", timeout=60)
                elapsed = time.perf_counter() - began
                assert response.status_code == 200, response.text[:500]
                samples.append(elapsed)
                by_query[query].append(elapsed)
        summary = latency_summary(samples)
    return {
        "stream": {"events": len(stream), "miners": MINERS, "months": MONTHS, "lots": MONTHS * 420},
        "projector_throughput": {
            "provenance": provenance, "impact": impact,
            "impact_vs_provenance": round(impact["events_per_s"] / provenance["events_per_s"], 2),
            "target": "impact at least as fast as provenance (ratio >= 1)",
        },
        "impact_table_cold_in_process": {**cold, "note": "no cache: computed from the read model each time"},
        "impact_api_latency": {**summary, "target_p99_ms": 200,
                               "note": "over HTTP; tables cached per query until the impact checkpoint moves",
                               "slowest_query_p99_ms": max(latency_summary(v)["p99_ms"] for v in by_query.values()),
                               "by_query_p50_ms": {q: latency_summary(v)["p50_ms"] for q, v in by_query.items()}},
    }
