"""The registry of the checks: each organisation, pit and miner row is its owner's latest registration.

Sites have no row here (no rule reads one); their claims are kept so that a conflicting
registration of a site raises ``conflicting_claim`` like any other.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from consumers.checks import tables as t
from consumers.lineage.ownership import EntityVerdict, RegistryLedger, latest, latest_row_writer


def _with_event(row: dict[str, Any], entry: EntityVerdict) -> dict[str, Any]:
    return {**row, "event_id": entry.counted[-1].event_id}


def _organisation_row(entry: EntityVerdict) -> dict[str, Any]:
    prefixes = entry.counted[-1].data.get("gs1_company_prefixes")
    return _with_event({**latest(entry, ("org_id", "name", "role", "country")),
                        "gs1_company_prefixes": json.dumps(sorted(prefixes)) if prefixes else None}, entry)


def _miner_row(entry: EntityVerdict) -> dict[str, Any]:
    """A miner's latest registration: whether it carries a photo-ID hash is kept, never the hash."""
    row = latest(entry, ("miner_id", "cooperative_id", "site_id", "birth_year"))
    return _with_event({**row, "photo_id": bool(entry.counted[-1].data.get("photo_id_sha256"))}, entry)


def _claims_only(_tx: Connection, _verdicts: list[EntityVerdict]) -> None:
    """Sites keep only their claims in the checks."""


def registry() -> RegistryLedger:
    """The registry ledger of the checks."""
    return RegistryLedger(t.registry_claims, {
        "organisation": latest_row_writer(t.organisations, _organisation_row),
        "site": _claims_only,
        "pit": latest_row_writer(t.pits, lambda entry: _with_event(latest(entry, ("pit_id", "site_id")), entry)),
        "miner": latest_row_writer(t.miners, _miner_row),
    })
