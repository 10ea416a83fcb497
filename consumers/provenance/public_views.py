"""Read side of the public consumer page: a product's public story, GS1 look-ups, and freshness.

Everything returned here is safe to publish (see ``claims``): the provenance is read without
restricted fields, and miners appear only through aggregates.
"""
from __future__ import annotations

import time
from typing import Any, Iterable

import orjson
from sqlalchemy import Engine, inspect, select, text

from consumers.authority import gtin_owner
from consumers.commit_watch import CommitWatch

from consumers.provenance import tables as t
from consumers.provenance.claims import MinerFact, build_story
from consumers.provenance.views import ProvenanceSection, ProvenanceView, with_sections
from consumers.tracking import checkpoints
from services.auth import Principal

#: who the sections of the story see: the public, no restricted field
PUBLIC = Principal(key_id="public", org_id="public", role="public")


class PublicProvenanceView:
    """Queries behind ``/p/{product_id}``: the public story, the product of a GTIN + serial, freshness."""

    def __init__(self, engine: Engine, provenance: ProvenanceView | None = None):
        self.engine = engine
        self.provenance = provenance or ProvenanceView(engine)
        self._offsets_seen = False
        self._offsets_checked = float("-inf")
        #: the positions, read again only after a commit (on a SQLite file)
        self._positions_watch = CommitWatch.of(engine, lambda: self._positions(recheck_offsets=True))

    def story(self, product_id: str, sections: Iterable[ProvenanceSection] = ()) -> dict[str, Any] | None:
        """The public story of a product, or None if it was never manufactured.

        ``sections`` add keys to the provenance first, as the public sees them (``flags``,
        ``due_diligence``); the story uses them when present.
        """
        provenance = self.provenance.product_provenance(product_id, sees_restricted=False)
        if provenance is None:
            return None
        with_sections(product_id, provenance, PUBLIC, sections)
        lots = [node["id"] for node in provenance["lineage"]["nodes"] if node.get("pit_id") is not None]
        with self.engine.connect() as connection:
            organisations = {row.org_id: {"name": row.name, "role": row.role, "country": row.country}
                             for row in connection.execute(select(t.organisations))}
            miners = self._miners(connection, lots)
        story = build_story(provenance, organisations, miners)
        story["sections"] = sorted(key for key in ("flags", "due_diligence") if key in provenance)
        return story

    @staticmethod
    def _miners(connection, lots: list[str]) -> list[MinerFact]:
        facts: list[MinerFact] = []
        for start in range(0, len(lots), 500):  # stay under SQLite's bound-parameter limit
            chunk = lots[start:start + 500]
            rows = connection.execute(
                select(t.production_miners.c.lot_id, t.production_miners.c.miner_id, t.miners.c.gender,
                       t.miners.c.work_role)
                .select_from(t.production_miners.outerjoin(t.miners, t.miners.c.miner_id == t.production_miners.c.miner_id))
                .join(t.nodes, (t.nodes.c.node_id == t.production_miners.c.lot_id)
                      & (t.nodes.c.created_event_id == t.production_miners.c.event_id))  # the counted production only
                .where(t.production_miners.c.lot_id.in_(chunk))
            ).all()
            facts += [MinerFact(lot_id, miner_id, gender, role) for lot_id, miner_id, gender, role in rows]
        return facts

    def product_exists(self, product_id: str) -> bool:
        """Whether a product of this id was manufactured."""
        with self.engine.connect() as connection:
            row = connection.execute(select(t.nodes.c.kind, t.nodes.c.created_event_id)
                                     .where(t.nodes.c.node_id == product_id)).first()
        return row is not None and row.kind == "product" and row.created_event_id is not None

    def product_by_gs1(self, gtin14: str, serial: str) -> str | None:
        """The manufactured product carrying this GTIN (any length it was recorded in) and serial.

        Only a piece made by the GTIN's owner (the organisation whose GS1 company prefix it starts
        with, the longest prefix winning) answers. Where no organisation declared a prefix of it, the
        piece first recorded by the platform's clock answers: a client can back-date its field time,
        never the server's.
        """
        forms = {gtin14[14 - length:] for length in (8, 12, 13, 14) if set(gtin14[:14 - length]) <= {"0"}}
        n = t.nodes.c
        with self.engine.connect() as connection:
            prefixes = {org_id: orjson.loads(declared) for org_id, declared in connection.execute(
                select(t.organisations.c.org_id, t.organisations.c.gs1_company_prefixes)
                .where(t.organisations.c.gs1_company_prefixes.is_not(None)))}
            query = select(n.node_id).where(n.kind == "product", n.created_event_id.is_not(None),
                                            n.gtin.in_(sorted(forms)), n.serial == serial)
            owner = gtin_owner(gtin14, prefixes)
            if owner is not None:
                query = query.where(n.created_by == owner)
            row = connection.execute(query.order_by(n.created_recorded_at, n.created_sort, n.node_id).limit(1)).first()
        return row.node_id if row else None

    def products(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Label facts (description, GTIN, serial, mass, fineness) of the manufactured products among ``product_ids``."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(t.nodes.c.node_id, t.nodes.c.description, t.nodes.c.gtin, t.nodes.c.serial,
                       t.nodes.c.mass_g, t.nodes.c.declared_fineness)
                .where(t.nodes.c.node_id.in_(product_ids), t.nodes.c.kind == "product",
                       t.nodes.c.created_event_id.is_not(None))
            ).mappings().all()
        return {row["node_id"]: dict(row) for row in rows}

    def freshness(self) -> tuple:
        """Every projector's position, version and last write: when none moved, no read model (hence no
        story) changed. The time of the last write tells a rebuild that ended where the old model stood
        (the undo of a retraction) from no change at all.

        Embedded runners keep one position per projector (``projector_checkpoints``); runners on
        Kafka keep offsets per partition (``projector_offsets``), read too where that table exists.
        On a SQLite file the positions are read again only after a commit to it (``CommitWatch``):
        until then they cannot have moved, and asking costs a pragma instead of two queries.
        """
        if self._positions_watch is None:
            return self._positions()
        return self._positions_watch.get()

    def _positions(self, recheck_offsets: bool = False) -> tuple:
        with self.engine.connect() as connection:
            positions = tuple(connection.execute(
                select(checkpoints.c.projector, checkpoints.c.position, checkpoints.c.version, checkpoints.c.updated_at)
                .order_by(checkpoints.c.projector)).all())
            if self._has_offsets(connection, recheck_offsets):
                positions += tuple(connection.execute(text(
                    'SELECT projector, topic, "partition", "offset" FROM projector_offsets '
                    'ORDER BY projector, topic, "partition"')).all())
        return positions

    def _has_offsets(self, connection, recheck: bool = False) -> bool:
        """Whether the Kafka runners' offsets table exists (once seen, remembered; else re-checked every
        5 s, or at once when ``recheck``: the positions are read only after a commit, maybe its creation)."""
        now = time.monotonic()
        if not self._offsets_seen and (recheck or now >= self._offsets_checked + 5):
            self._offsets_checked = now
            self._offsets_seen = inspect(connection).has_table("projector_offsets")
        return self._offsets_seen
