"""Factories of realistic events: tests read as stories of a supply chain, not JSON blobs."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

_NAMESPACE = uuid.UUID("0f9b7d7e-2b1a-4c55-8a44-6b3f1d2c9e01")
_counter = itertools.count(1)
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))


def event(event_type: str, data: dict[str, Any], recorded_by: str = "coop-mambasa", at: datetime | None = None,
          event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """An envelope with a fresh (deterministic per run) event id."""
    number = next(_counter)
    return {
        "event_id": event_id or str(uuid.uuid5(_NAMESPACE, f"{number}")),
        "type": event_type,
        "occurred_at": (at or BASE_TIME + timedelta(minutes=number)).isoformat(),
        "recorded_by": recorded_by,
        "data": data,
        **extra,
    }


def organisation(org_id: str, role: str = "cooperative", country: str = "CD", **extra) -> dict:
    return event("organization.registered", {"org_id": org_id, "name": org_id.title(), "role": role, "country": country,
                                             **extra}, recorded_by="admin")


def site(site_id: str, region: str = "Ituri", **extra) -> dict:
    return event("site.registered", {"site_id": site_id, "name": site_id.title(), "country": "CD", "region": region,
                                     "mineral": "gold", **extra}, recorded_by="admin")


def pit(pit_id: str, site_id: str, capacity: float | None = 300.0) -> dict:
    data = {"pit_id": pit_id, "site_id": site_id}
    if capacity is not None:
        data["capacity_g_per_month"] = capacity
    return event("pit.registered", data)


def miner(miner_id: str, site_id: str, gender: str = "female", **extra) -> dict:
    return event("miner.registered", {"miner_id": miner_id, "cooperative_id": "coop-mambasa", "site_id": site_id,
                                      "gender": gender, "birth_year": 1990, "work_role": "digger", **extra})


def production(lot_id: str, pit_id: str, mass_g: float, fineness: float | None = None, miners=("m-1",), **kw) -> dict:
    data = {"lot_id": lot_id, "pit_id": pit_id, "miner_ids": list(miners), "mass_g": mass_g}
    if fineness is not None:
        data["fineness"] = fineness
    return event("production.recorded", data, **kw)


def transfer(lot_id: str, from_id: str, to_id: str, mass_g: float, **kw) -> dict:
    return event("lot.transferred", {"lot_id": lot_id, "from_id": from_id, "to_id": to_id, "mass_g": mass_g}, **kw)


def hand_over(lot_id: str, from_id: str, to_id: str, mass_g: float, **kw) -> dict:
    """A transfer recorded by the one who hands the gold over (the holder: only its hand-over counts)."""
    return transfer(lot_id, from_id, to_id, mass_g, **{"recorded_by": from_id, **kw})


def merge(lot_id: str, inputs: dict[str, float], **kw) -> dict:
    return event("lots.merged", {"lot_id": lot_id, "inputs": [{"lot_id": k, "mass_g": v} for k, v in inputs.items()]}, **kw)


def split(lot_id: str, outputs: dict[str, float], **kw) -> dict:
    return event("lot.split", {"lot_id": lot_id, "outputs": [{"lot_id": k, "mass_g": v} for k, v in outputs.items()]}, **kw)


def assay(lot_id: str, fineness: float, **kw) -> dict:
    return event("lot.assayed", {"lot_id": lot_id, "fineness": fineness}, **kw)


def refine(inputs: dict[str, float], outputs: dict[str, tuple[float, float]], **kw) -> dict:
    return event("lot.refined", {
        "inputs": [{"lot_id": k, "mass_g": v} for k, v in inputs.items()],
        "outputs": [{"lot_id": k, "mass_g": m, "fineness": f} for k, (m, f) in outputs.items()],
    }, **{"recorded_by": "refiner-x", **kw})


def manufacture(product_id: str, inputs: dict[str, float], mass_g: float, fineness: float = 0.75, **kw) -> dict:
    return event("product.manufactured", {
        "product_id": product_id, "inputs": [{"lot_id": k, "mass_g": v} for k, v in inputs.items()],
        "mass_g": mass_g, "fineness": fineness, "gtin": "03760123450010", "serial": "000001",
    }, **{"recorded_by": "atelier", **kw})


def key_registered(organisation_id: str, key_id: str, public_key: str,
                   valid_from: str = "2020-01-01T00:00:00Z", **kw) -> dict:
    """An organisation registers the Ed25519 public key (base64 of its 32 raw bytes) that signs its events."""
    return event("organization.key_registered", {"organisation_id": organisation_id, "key_id": key_id,
                                                 "public_key": public_key, "valid_from": valid_from},
                 recorded_by=kw.pop("recorded_by", organisation_id), **kw)


def key_revoked(organisation_id: str, key_id: str, reason: str = "laptop lost", **kw) -> dict:
    """An organisation revokes one of its signing keys."""
    return event("organization.key_revoked", {"organisation_id": organisation_id, "key_id": key_id, "reason": reason},
                 recorded_by=kw.pop("recorded_by", organisation_id), **kw)


def two_site_ring_chain() -> list[dict]:
    """A ring made from a bar refined from two mine sites' gold (60 % / 40 % of the fine gold)."""
    return [
        site("site-a"), site("site-b"),
        pit("pit-a", "site-a"), pit("pit-b", "site-b"),
        miner("m-1", "site-a", name="Esther Lokana", photo_id_sha256="ab" * 32),
        production("lot-a", "pit-a", 100.0, 0.9),
        production("lot-b", "pit-b", 75.0, 0.8),
        merge("coop-1", {"lot-a": 100.0, "lot-b": 75.0}),
        hand_over("coop-1", "coop-mambasa", "refiner-x", 175.0),
        refine({"coop-1": 175.0}, {"bar-1": (149.85, 0.999)}),
        hand_over("bar-1", "refiner-x", "atelier", 149.85),
        manufacture("ring-1", {"bar-1": 7.5}, mass_g=10.0, fineness=0.75),
    ]
