"""Synthetic but realistic event streams for the benchmarks."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterator

NAMESPACE = uuid.UUID("a1f3c2b4-5d6e-4f70-8a9b-0c1d2e3f4a5b")
START = datetime(2025, 1, 6, 7, 0, tzinfo=timezone(timedelta(hours=1)))


class EventFactory:
    """Makes envelopes with deterministic ids under a run-specific prefix."""

    def __init__(self, prefix: str, seed: int = 7, spacing_minutes: int = 1):
        self.prefix = prefix
        self.spacing_minutes = spacing_minutes
        self.counter = 0
        self.rng = random.Random(seed)

    def __call__(self, event_type: str, data: dict, recorded_by: str = "admin", minutes: int | None = None) -> dict:
        self.counter += 1
        return {
            "event_id": str(uuid.uuid5(NAMESPACE, f"{self.prefix}:{self.counter}")),
            "type": event_type,
            "occurred_at": (START + timedelta(
                minutes=minutes if minutes is not None else self.counter * self.spacing_minutes)).isoformat(),
            "recorded_by": recorded_by,
            "data": data,
        }


def registry(make: EventFactory, sites: int = 4, pits_per_site: int = 5, miners: int = 200,
             capacity_g_per_month: float = 400.0) -> list[dict]:
    """Organisations, sites, pits and miners (a stream packing months of trade into days needs big pits
    to stay honest: ``capacity_g_per_month``)."""
    events = [make("organization.registered", {"org_id": org_id, "name": org_id.title(), "role": role, "country": country})
              for org_id, role, country in (("coop", "cooperative", "CD"), ("exporter", "exporter", "CD"),
                                            ("refiner", "refiner", "CH"), ("atelier", "manufacturer", "FR"))]
    for s in range(sites):
        events.append(make("site.registered", {"site_id": f"site-{s}", "name": f"Site {s}", "country": "CD",
                                               "region": "Ituri", "mineral": "gold"}))
        for p in range(pits_per_site):
            events.append(make("pit.registered", {"pit_id": f"pit-{s}-{p}", "site_id": f"site-{s}",
                                                  "capacity_g_per_month": capacity_g_per_month}))
    for m in range(miners):
        events.append(make("miner.registered", {"miner_id": f"miner-{m}", "cooperative_id": "coop",
                                                "site_id": f"site-{m % sites}", "gender": "female" if m % 2 else "male",
                                                "birth_year": 1980 + m % 25, "work_role": "digger"}))
    return events


def purchases(make: EventFactory, lots: int, tag: str, sites: int = 4, pits_per_site: int = 5,
              miners: int = 200) -> Iterator[tuple[list[dict], list[tuple[str, float]]]]:
    """Productions, each bought by the cooperative; yields (events, [(lot_id, mass)]) in chunks of 100 lots."""
    rng = make.rng
    chunk: list[dict] = []
    bought: list[tuple[str, float]] = []
    for n in range(lots):
        lot_id = f"{tag}-lot-{n}"
        mass = round(rng.uniform(3, 15), 2)
        pit = f"pit-{n % sites}-{(n // sites) % pits_per_site}"
        miner = f"miner-{n % miners}"
        chunk.append(make("production.recorded", {"lot_id": lot_id, "pit_id": pit, "miner_ids": [miner],
                                                  "mass_g": mass, "fineness": round(rng.uniform(0.82, 0.93), 3)}, "coop"))
        chunk.append(make("lot.transferred", {"lot_id": lot_id, "from_id": miner, "to_id": "coop", "mass_g": mass,
                                              "price_per_g": "71.50", "currency": "USD"}, "coop"))
        bought.append((lot_id, mass))
        if len(bought) == 100:
            yield chunk, bought
            chunk, bought = [], []
    if bought:
        yield chunk, bought


def deep_product_chain(make: EventFactory, tag: str, lots: int = 1200) -> tuple[list[dict], str]:
    """A ring whose ancestry holds ``lots`` production lots (plus merges, a refining and a bar)."""
    events: list[dict] = []
    merged: list[tuple[str, float]] = []
    for index, (chunk, bought) in enumerate(purchases(make, lots, tag)):
        events += chunk
        merged_id = f"{tag}-coop-{index}"
        total = round(sum(mass for _, mass in bought), 2)
        events.append(make("lots.merged", {"lot_id": merged_id, "inputs": [{"lot_id": l, "mass_g": m} for l, m in bought]}, "coop"))
        events.append(make("lot.assayed", {"lot_id": merged_id, "fineness": 0.87}, "coop"))
        events.append(make("lot.transferred", {"lot_id": merged_id, "from_id": "coop", "to_id": "exporter", "mass_g": total}, "coop"))
        merged.append((merged_id, total))
    shipment = f"{tag}-shipment"
    events.append(make("lots.merged", {"lot_id": shipment, "inputs": [{"lot_id": l, "mass_g": m} for l, m in merged]}, "exporter"))
    total = round(sum(m for _, m in merged), 2)
    events.append(make("lot.exported", {"lot_id": shipment, "export_permit": "CEEC-1", "destination_country": "CH"}, "exporter"))
    events.append(make("lot.transferred", {"lot_id": shipment, "from_id": "exporter", "to_id": "refiner", "mass_g": total}, "exporter"))
    events.append(make("lot.refined", {"inputs": [{"lot_id": shipment, "mass_g": total}],
                                       "outputs": [{"lot_id": f"{tag}-bar", "mass_g": round(total * 0.86, 2), "fineness": 0.9999}]}, "refiner"))
    events.append(make("lot.transferred", {"lot_id": f"{tag}-bar", "from_id": "refiner", "to_id": "atelier",
                                           "mass_g": round(total * 0.86, 2)}, "refiner"))
    product = f"{tag}-ring"
    events.append(make("product.manufactured", {"product_id": product, "inputs": [{"lot_id": f"{tag}-bar", "mass_g": 4.0}],
                                                "mass_g": 5.3, "fineness": 0.75, "gtin": "03760123450010", "serial": "1"}, "atelier"))
    return events, product


def bulk_stream(make: EventFactory, total: int, tag: str) -> list[dict]:
    """About ``total`` events: registries, purchases, monthly merges, refinings and products."""
    events = registry(make)
    round_number = 0
    while len(events) < total:
        chain, _ = deep_product_chain(make, f"{tag}-{round_number}", lots=300)
        events += chain
        round_number += 1
    return events[:total]
