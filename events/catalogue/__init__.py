"""The catalogue of event types: one registry from a type name to the schema of its ``data``."""
from __future__ import annotations

from events.catalogue import corrections, custody, diligence, impact, keys, persons, registry
from events.catalogue.base import DataSchema

CATALOGUE: dict[str, type[DataSchema]] = {
    **registry.SCHEMAS,
    **custody.SCHEMAS,
    **diligence.SCHEMAS,
    **impact.SCHEMAS,
    **corrections.SCHEMAS,
    **keys.SCHEMAS,
    **persons.SCHEMAS,
}

REGISTRY_TYPES = frozenset(registry.SCHEMAS)
CUSTODY_TYPES = frozenset(custody.SCHEMAS)
DILIGENCE_TYPES = frozenset(diligence.SCHEMAS)
IMPACT_TYPES = frozenset(impact.SCHEMAS)
CORRECTION_TYPES = frozenset(corrections.SCHEMAS)
KEY_TYPES = frozenset(keys.SCHEMAS)
PERSON_TYPES = frozenset(persons.SCHEMAS)

#: fields an ordinary buyer must never see, by event type (personal or dangerous data)
RESTRICTED_FIELDS: dict[str, frozenset[str]] = {
    "miner.registered": frozenset({"name", "photo_id_sha256"}),
    "site.registered": frozenset({"latitude", "longitude"}),
}

__all__ = ["CATALOGUE", "DataSchema", "RESTRICTED_FIELDS"]
