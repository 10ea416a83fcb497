"""What a retracted event keeps in a projector's ledgers: the ids it created or registered stay its author's.

A retraction takes back what an event said, not the ids it established: otherwise an organisation
correcting its own registration or creation (retract, then record again) would hand the id to
whoever had claimed it after it, and a squatter's refused claim would become the record.
"""
from __future__ import annotations

from typing import Iterable

from consumers.batch import BatchWrites
from consumers.lineage.custody import CustodyLedger
from consumers.lineage.graph import lineage_facts
from consumers.lineage.ownership import RegistryLedger
from events.log import RecordedEvent


def gather_retracted(writes: BatchWrites, ledger: CustodyLedger, registry: RegistryLedger,
                     events: Iterable[RecordedEvent]) -> tuple[set[str], set[tuple[str, str]]]:
    """Add the ownership claims of retracted ``events`` to ``writes``; the items and entities they touch."""
    items: set[str] = set()
    entities: set[tuple[str, str]] = set()
    for event in events:
        envelope = event.envelope
        facts = lineage_facts(envelope)
        items.update(ledger.gather_retracted(writes, facts, event.recorded_at))
        entity = registry.gather(writes, envelope, event.recorded_at, facts.origin.sort_key, counts=False)
        if entity is not None:
            entities.add(entity)
    return items, entities
