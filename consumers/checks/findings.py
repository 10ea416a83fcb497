"""What a finding is: an inconsistency between events, with the events that prove it.

A finding is identified by its kind, its subject and a key the rule chooses (say, the id of the
offending event), never by when it was found: so the same facts give the same finding ids in any
arrival order, and a finding that later events update keeps its id.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

#: every kind of finding; these names are part of the API
KINDS = (
    "double_use", "mass_gain", "transit_discrepancy", "inactive_pit", "over_capacity",
    "unknown_actor", "custody_break", "time_order", "export_without_permit",
    "conflicting_claim", "not_holder", "gtin_not_owned", "self_resolution", "unauthorised_resolution",
    "child_labour_suspected", "price_below_reference", "foreign_cooperative", "pit_outside_site",
    "unverified_miner", "capacity_unknown", "stale_inspection", "workers_mismatch", "cooperative_over_capacity",
    "royalties_unrecorded", "retracted_after_use",
)
#: kinds that make a product's due-diligence status red while open
RED_KINDS = frozenset({"double_use", "mass_gain", "custody_break", "child_labour_suspected"})


@dataclass(frozen=True)
class Finding:
    """One inconsistency: its kind, what it is about, how bad, why, and the events that prove it."""

    kind: str
    subject_id: str
    #: distinguishes findings of one kind on one subject (an event id, a month, ...)
    key: str
    severity: str
    message: str
    #: the ids of the events that together prove the inconsistency
    proof: tuple[str, ...]
    #: numbers behind it (grams, ratios, capacities), JSON-ready
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: the lots and products it taints (their descendants inherit it through the lineage)
    links: tuple[str, ...] = ()

    @property
    def finding_id(self) -> str:
        """A stable id: the same kind, subject and key always give the same id."""
        return finding_id(self.kind, self.subject_id, self.key)


def finding_id(kind: str, subject_id: str, key: str) -> str:
    """The id of the finding of ``kind`` on ``subject_id`` keyed ``key`` (32 hex digits)."""
    return hashlib.sha256(f"{kind}\x1f{subject_id}\x1f{key}".encode()).hexdigest()[:32]


def grams(value: float | None) -> float | None:
    """Grams rounded for a report (milligram precision)."""
    return None if value is None else round(value, 3)


def ratio(value: float | None) -> float | None:
    """A ratio rounded for a report."""
    return None if value is None else round(value, 6)
