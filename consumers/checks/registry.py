"""The registry of the checks: each organisation, pit and miner row is its owner's latest registration.

Sites have no row here (no rule reads one); their claims are kept so that a conflicting
registration of a site raises ``conflicting_claim`` like any other.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import Connection

from consumers.checks import tables as t
from consumers.lineage.ownership import EntityVerdict, RegistryLedger, latest, latest_row_writer
from events.sealed import is_sealed
from services.personal_data import PersonalData


def _with_event(row: dict[str, Any], entry: EntityVerdict) -> dict[str, Any]:
    return {**row, "event_id": entry.counted[-1].event_id}


def _organisation_row(entry: EntityVerdict) -> dict[str, Any]:
    prefixes = entry.counted[-1].data.get("gs1_company_prefixes")
    return _with_event({**latest(entry, ("org_id", "name", "role", "country")),
                        "gs1_company_prefixes": json.dumps(sorted(prefixes)) if prefixes else None}, entry)


def _miner_row(entry: EntityVerdict, birth_years: Mapping[str, int | None]) -> dict[str, Any]:
    """A miner's latest registration: whether it carries a photo-ID hash is kept, never the hash."""
    row = latest(entry, ("miner_id", "cooperative_id", "site_id"))
    return _with_event({**row, "birth_year": birth_years.get(entry.entity_id),
                        "photo_id": bool(entry.counted[-1].data.get("photo_id_sha256"))}, entry)


def _miner_writer(personal: PersonalData | None):
    """Miners' rows with their birth years opened (sealed at capture: see ``services.personal_data``) in one
    key-store query per batch; ``None`` where the person was erased or no key store is given."""
    def write(tx: Connection, verdicts: list[EntityVerdict]) -> None:
        counted = [entry for entry in verdicts if entry.counted]
        data = [("miner.registered", entry.counted[-1].data) for entry in counted]
        opened = personal.reveal(data) if personal is not None else [
            {"birth_year": None if is_sealed(item.get("birth_year")) else item.get("birth_year")} for _, item in data]
        births = {entry.entity_id: fields.get("birth_year") for entry, fields in zip(counted, opened)}
        latest_row_writer(t.miners, lambda entry: _miner_row(entry, births))(tx, verdicts)
    return write


def _claims_only(_tx: Connection, _verdicts: list[EntityVerdict]) -> None:
    """Sites keep only their claims in the checks."""


def registry(personal: PersonalData | None = None) -> RegistryLedger:
    """The registry ledger of the checks (``personal`` opens the miners' sealed birth years)."""
    return RegistryLedger(t.registry_claims, {
        "organisation": latest_row_writer(t.organisations, _organisation_row),
        "site": _claims_only,
        "pit": latest_row_writer(t.pits, lambda entry: _with_event(latest(entry, ("pit_id", "site_id")), entry)),
        "miner": _miner_writer(personal),
    })
