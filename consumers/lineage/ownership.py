"""Ownership of registry entities (organisations, sites, pits, miners) in a projector's tables.

Every registration is kept as a *claim* row, whoever recorded it. At the end of a batch the projector
calls :meth:`RegistryLedger.recompute` for the entities the batch touched: the owner is the
organisation whose claim the platform recorded first (:func:`consumers.authority.ownership`, by the
server's clock), and the entity's effective row is the owner's latest registration (by field time).
Claims of other organisations are kept as evidence and change nothing. The effective rows are a
function of the set of claims, so they are the same for any arrival order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import orjson
from sqlalchemy import Boolean, Column, Connection, MetaData, Table, Text, delete, select, tuple_

from consumers.authority import Claim, ownership
from consumers.batch import BatchWrites
from consumers.sql import Key, among, upsert_many

#: the entity kind of each registration event type, and the field naming the entity
REGISTRATIONS = {
    "organization.registered": ("organisation", "org_id"),
    "site.registered": ("site", "site_id"),
    "pit.registered": ("pit", "pit_id"),
    "miner.registered": ("miner", "miner_id"),
}
_CHUNK = 500


@dataclass(frozen=True)
class Registration:
    """One counted registration of an entity: its event, field-time key and data."""

    event_id: str
    sort_key: str
    occurred_at: str
    data: dict[str, Any]


@dataclass(frozen=True)
class EntityVerdict:
    """Who owns an entity, its counted registrations (oldest first) and the conflicting claims."""

    kind: str
    entity_id: str
    owner: str | None
    counted: tuple[Registration, ...]
    #: event_id of each claim by another organisation
    conflicting: tuple[str, ...]
    #: the owner's first claim (by the server's clock): the proof of ownership
    first_claim: str | None


#: ``write(tx, verdicts)``: make a projector's effective rows of one entity kind match ``verdicts``
RowWriter = Callable[[Connection, list[EntityVerdict]], None]


def registry_claims_table(metadata: MetaData, prefix: str) -> Table:
    """The ``{prefix}_registry_claims`` table in ``metadata``."""
    return Table(
        f"{prefix}_registry_claims", metadata,
        Column("entity_kind", Key(16), primary_key=True),
        Column("entity_id", Key(160), primary_key=True),
        Column("event_id", Key(36), primary_key=True),
        Column("organisation", Key(160), nullable=False),
        Column("recorded_at", Key(40), nullable=False),
        Column("sort_key", Key(80), nullable=False),
        Column("occurred_at", Key(40), nullable=False),
        Column("data", Text, nullable=False),  # JSON: the registration's data
        # False: retracted by its author; it still holds the entity for its author, but says nothing
        Column("counts", Boolean, nullable=False),
    )


class RegistryLedger:
    """Registration claims of one projector, and the effective rows derived from them."""

    def __init__(self, claims: Table, writers: Mapping[str, RowWriter]):
        self.claims = claims
        self.writers = writers

    def gather(self, writes: BatchWrites, envelope: Mapping[str, Any], recorded_at: str, sort_key: str,
               counts: bool = True) -> tuple[str, str] | None:
        """Add the claim of a registration to ``writes``; the (kind, id) it touches (None: not a registration).

        ``counts=False`` for a registration its author retracted: it keeps the entity its author's
        (a squatter's later claim stays a conflicting one) but its data is no longer the entity's.
        """
        registration = REGISTRATIONS.get(envelope["type"])
        if registration is None or registration[0] not in self.writers:
            return None
        kind, field = registration
        data = envelope["data"]
        writes.insert_ignore(self.claims, [{
            "entity_kind": kind, "entity_id": data[field], "event_id": envelope["event_id"],
            "organisation": envelope["recorded_by"], "recorded_at": recorded_at, "sort_key": sort_key,
            "occurred_at": envelope["occurred_at"], "data": orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode(), "counts": counts,
        }])
        return kind, data[field]

    def verdicts(self, tx: Connection, entities: Iterable[tuple[str, str]]) -> list[EntityVerdict]:
        """The ownership verdict on each of ``entities`` from its stored claims."""
        wanted = sorted(set(entities))
        rows: dict[tuple[str, str], list[Any]] = {entity: [] for entity in wanted}
        c = self.claims.c
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            for row in tx.execute(select(self.claims).where(tuple_(c.entity_kind, c.entity_id).in_(chunk))):
                rows[(row.entity_kind, row.entity_id)].append(row)
        return [verdict(kind, entity_id, claims) for (kind, entity_id), claims in rows.items()]

    def recompute(self, tx: Connection, entities: Iterable[tuple[str, str]]) -> list[EntityVerdict]:
        """Rewrite the effective rows of ``entities`` from their claims; their verdicts."""
        found = self.verdicts(tx, entities)
        for kind, writer in self.writers.items():
            of_kind = [entry for entry in found if entry.kind == kind]
            if of_kind:
                writer(tx, of_kind)
        return found


def verdict(kind: str, entity_id: str, rows: Iterable[Any]) -> EntityVerdict:
    """The verdict on one entity from its claim rows (pure).

    Ownership counts every claim, retracted ones too: an author who retracts its registration to
    correct it keeps the entity. Only claims that count give the entity its data or conflict.
    """
    rows = list(rows)
    owned = ownership(Claim(row.event_id, row.organisation, row.recorded_at) for row in rows)
    live = {row.event_id for row in rows if row.counts}
    counted = sorted((row for row in rows if row.event_id in owned.counted and row.event_id in live),
                     key=lambda row: (row.sort_key, row.event_id))
    first = min((row for row in rows if row.event_id in owned.counted),
                key=lambda row: (row.recorded_at, row.event_id), default=None)
    return EntityVerdict(
        kind, entity_id, owned.owner,
        tuple(Registration(row.event_id, row.sort_key, row.occurred_at, orjson.loads(row.data)) for row in counted),
        tuple(sorted(owned.conflicting & live)), first.event_id if first is not None else None,
    )


def latest_row_writer(table: Table, build: Callable[[EntityVerdict], dict[str, Any]]) -> RowWriter:
    """A writer that keeps one row per entity, built from its verdict (usually its latest counted registration)."""
    key = table.primary_key.columns.values()[0]

    def write(tx: Connection, verdicts: list[EntityVerdict]) -> None:
        ids = [entry.entity_id for entry in verdicts]
        for start in range(0, len(ids), _CHUNK):
            tx.execute(delete(table).where(among(key, ids[start:start + _CHUNK])))
        rows = [build(entry) for entry in verdicts if entry.counted]
        if rows:
            upsert_many(tx, table, rows, update=[name for name in rows[0] if name != key.name])

    return write


def latest(entry: EntityVerdict, columns: Iterable[str], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``columns`` of the latest counted registration (missing optional fields: ``defaults``, else None)."""
    data = entry.counted[-1].data
    defaults = defaults or {}
    return {name: data.get(name, defaults.get(name)) for name in columns}
