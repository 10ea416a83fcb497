"""Loading the facts of one unit of recomputation from the ``chk_*`` tables (the SQL side of the checks)."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sqlalchemy import Connection, bindparam, func, select, text

from consumers.checks import tables as t
from consumers.checks.facts import (
    Capacity, Consumption, Creation, Inspection, LotFacts, Production, Receipt, Side, Stamp, Transfer,
    Transformation,
)

TRANSFORMATIONS = ("lots.merged", "lot.split", "lot.refined", "product.manufactured")

_DESCENDANTS = text("""
WITH RECURSIVE down(lot_id) AS (
    SELECT lot_id FROM chk_consumptions WHERE lot_id IN :roots
    UNION
    SELECT k.lot_id FROM chk_creations k
    JOIN chk_consumptions c ON c.event_id = k.event_id
    JOIN down d ON c.lot_id = d.lot_id
)
SELECT lot_id FROM down
""").bindparams(bindparam("roots", expanding=True))

_PERMITS_ON_PATH = text("""
WITH RECURSIVE up(lot_id) AS (
    SELECT :lot
    UNION
    SELECT c.lot_id FROM chk_creations k
    JOIN chk_consumptions c ON c.event_id = k.event_id
    JOIN up u ON k.lot_id = u.lot_id
)
SELECT s.event_id FROM chk_lot_stamps s JOIN up u ON s.lot_id = u.lot_id WHERE s.type = 'lot.exported'
ORDER BY s.sort_key
""")


class FactStore:
    """Reads facts inside the projector's transaction."""

    def __init__(self, tx: Connection):
        self.tx = tx

    # -- lots -------------------------------------------------------------------------------
    def lot(self, lot_id: str) -> LotFacts:
        """Everything recorded about one lot."""
        tx = self.tx
        creations = tuple(
            Creation(r.event_id, r.type, r.sort_key, r.recorded_by, r.lot_id, r.mass_g, r.fineness,
                     tuple(self._miners_of(r.event_id)) if r.type == "production.recorded" else ())
            for r in tx.execute(select(t.creations).where(t.creations.c.lot_id == lot_id))
        )
        consumptions = tuple(
            Consumption(r.event_id, r.type, r.sort_key, r.recorded_by, r.lot_id, r.mass_g)
            for r in tx.execute(select(t.consumptions).where(t.consumptions.c.lot_id == lot_id))
        )
        transfers = tuple(
            Transfer(r.event_id, r.sort_key, r.lot_id, r.from_id, r.to_id, r.mass_g)
            for r in tx.execute(select(t.transfers).where(t.transfers.c.lot_id == lot_id))
        )
        receipts = tuple(
            Receipt(r.event_id, r.sort_key, r.lot_id, r.mass_g, r.recorded_by)
            for r in tx.execute(select(t.receipts).where(t.receipts.c.lot_id == lot_id))
        )
        others = tuple(
            Stamp(r.event_id, r.type, r.sort_key)
            for r in tx.execute(select(t.lot_stamps).where(t.lot_stamps.c.lot_id == lot_id))
        )
        return LotFacts(lot_id, creations, consumptions, transfers, receipts, others)

    def _miners_of(self, event_id: str) -> list[str]:
        return sorted(self.tx.execute(
            select(t.production_miners.c.miner_id).where(t.production_miners.c.event_id == event_id)
        ).scalars())

    def permits_on_path(self, lot_id: str) -> list[str]:
        """Ids of the ``lot.exported`` events on the lot or on any lot it came from."""
        return list(self.tx.execute(_PERMITS_ON_PATH, {"lot": lot_id}).scalars())

    def descendants(self, lot_ids: Iterable[str]) -> set[str]:
        """Every lot and product made (at any depth) from these lots, not including them."""
        roots = sorted(set(lot_ids))
        if not roots:
            return set()
        return set(self.tx.execute(_DESCENDANTS, {"roots": roots}).scalars()) - set(roots)

    def consumers_of(self, lot_id: str) -> list[str]:
        """Ids of the transformations that took grams of this lot."""
        return list(self.tx.execute(
            select(t.consumptions.c.event_id).where(t.consumptions.c.lot_id == lot_id)).scalars())

    def makers_of(self, lot_id: str) -> list[str]:
        """Ids of the transformations (not productions) that claim to have created this lot."""
        return list(self.tx.execute(
            select(t.creations.c.event_id).where(t.creations.c.lot_id == lot_id, t.creations.c.type.in_(TRANSFORMATIONS))
        ).scalars())

    def lots_transferred_with(self, party: str) -> list[str]:
        """Lots transferred from or to ``party``."""
        rows = self.tx.execute(
            select(t.transfers.c.lot_id).where((t.transfers.c.from_id == party) | (t.transfers.c.to_id == party))
            .distinct()
        ).scalars()
        return list(rows)

    # -- registry ---------------------------------------------------------------------------
    def registered(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are registered organisations or miners."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        found = set(self.tx.execute(select(t.organisations.c.org_id).where(t.organisations.c.org_id.in_(wanted))).scalars())
        found |= set(self.tx.execute(select(t.miners.c.miner_id).where(t.miners.c.miner_id.in_(wanted))).scalars())
        return found

    def registered_miners(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are registered miners."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        return set(self.tx.execute(select(t.miners.c.miner_id).where(t.miners.c.miner_id.in_(wanted))).scalars())

    def countries(self, ids: Iterable[str]) -> dict[str, str]:
        """The country of each registered organisation among ``ids``."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return dict(self.tx.execute(
            select(t.organisations.c.org_id, t.organisations.c.country).where(t.organisations.c.org_id.in_(wanted))
        ).all())

    def pit_registered(self, pit_id: str) -> bool:
        """Whether the pit has been registered."""
        return self.tx.execute(select(t.pits.c.pit_id).where(t.pits.c.pit_id == pit_id)).first() is not None

    # -- transformations --------------------------------------------------------------------
    def transformation(self, event_id: str) -> Transformation | None:
        """A merge, split, refining or manufacturing with the fineness known for each side."""
        head = self.tx.execute(select(t.events.c.type).where(t.events.c.event_id == event_id)).scalar()
        if head not in TRANSFORMATIONS:
            return None
        ins = self.tx.execute(select(t.consumptions).where(t.consumptions.c.event_id == event_id)
                              .order_by(t.consumptions.c.lot_id)).all()
        outs = self.tx.execute(select(t.creations).where(t.creations.c.event_id == event_id)
                               .order_by(t.creations.c.lot_id)).all()
        recorded_by = (ins or outs)[0].recorded_by
        fineness = self.fineness({row.lot_id for row in ins} | {row.lot_id for row in outs})
        input_lot_g = self.lot(ins[0].lot_id).available_g() if head == "lot.split" and ins else None
        return Transformation(
            event_id=event_id, type=head, recorded_by=recorded_by,
            inputs=tuple(Side(r.lot_id, r.mass_g, fineness.get(r.lot_id)) for r in ins),
            outputs=tuple(Side(r.lot_id, r.mass_g, fineness.get(r.lot_id, r.fineness)) for r in outs),
            input_lot_g=input_lot_g,
        )

    def fineness(self, lot_ids: Iterable[str]) -> dict[str, float]:
        """The stated fineness of each lot: its latest assay, else the one declared at its creation."""
        wanted = sorted(set(lot_ids))
        if not wanted:
            return {}
        found: dict[str, tuple[str, float]] = {}
        for lot_id, key, value in self.tx.execute(
            select(t.creations.c.lot_id, t.creations.c.sort_key, t.creations.c.fineness)
            .where(t.creations.c.lot_id.in_(wanted))
        ):
            if lot_id not in found or key < found[lot_id][0]:  # the earliest creation counts
                found[lot_id] = (key, value)
        stated = {lot_id: value for lot_id, (_, value) in found.items() if value is not None}
        assays: dict[str, tuple[str, float]] = {}
        for lot_id, key, value in self.tx.execute(
            select(t.lot_stamps.c.lot_id, t.lot_stamps.c.sort_key, t.lot_stamps.c.fineness)
            .where(t.lot_stamps.c.lot_id.in_(wanted), t.lot_stamps.c.type == "lot.assayed")
        ):
            if lot_id not in assays or key > assays[lot_id][0]:  # the latest assay counts
                assays[lot_id] = (key, value)
        stated.update({lot_id: value for lot_id, (_, value) in assays.items()})
        return stated

    # -- production -------------------------------------------------------------------------
    def production(self, event_id: str) -> Production | None:
        """One production."""
        row = self.tx.execute(select(t.productions).where(t.productions.c.event_id == event_id)).first()
        if row is None:
            return None
        return Production(row.event_id, row.sort_key, row.lot_id, row.pit_id, row.mass_g, row.month,
                          tuple(self._miners_of(event_id)))

    def productions_at(self, pit_id: str, month: str) -> list[Production]:
        """Productions at a pit in a month."""
        rows = self.tx.execute(select(t.productions).where(t.productions.c.pit_id == pit_id,
                                                           t.productions.c.month == month)).all()
        return self._with_miners(rows)

    def productions_by(self, miner_id: str, month: str) -> list[Production]:
        """Productions naming a miner in a month."""
        rows = self.tx.execute(
            select(t.productions).join(t.production_miners, t.production_miners.c.event_id == t.productions.c.event_id)
            .where(t.production_miners.c.miner_id == miner_id, t.production_miners.c.month == month)
        ).all()
        return self._with_miners(rows)

    def _with_miners(self, rows) -> list[Production]:
        ids = [row.event_id for row in rows]
        miners: dict[str, list[str]] = defaultdict(list)
        if ids:
            for event_id, miner_id in self.tx.execute(
                select(t.production_miners.c.event_id, t.production_miners.c.miner_id)
                .where(t.production_miners.c.event_id.in_(ids))
            ):
                miners[event_id].append(miner_id)
        return [Production(r.event_id, r.sort_key, r.lot_id, r.pit_id, r.mass_g, r.month, tuple(sorted(miners[r.event_id])))
                for r in rows]

    def inspections_before(self, pit_id: str, sort_key: str) -> list[Inspection]:
        """The latest inspection of a pit before a moment (a list of at most one)."""
        row = self.tx.execute(
            select(t.inspections).where(t.inspections.c.pit_id == pit_id, t.inspections.c.sort_key < sort_key)
            .order_by(t.inspections.c.sort_key.desc()).limit(1)
        ).first()
        return [Inspection(row.event_id, row.sort_key, row.pit_id, row.status)] if row else []

    def capacities(self, pit_ids: Iterable[str]) -> dict[str, list[Capacity]]:
        """Every capacity statement of these pits."""
        found: dict[str, list[Capacity]] = defaultdict(list)
        wanted = sorted(set(pit_ids))
        if wanted:
            for r in self.tx.execute(select(t.capacities).where(t.capacities.c.pit_id.in_(wanted))):
                found[r.pit_id].append(Capacity(r.event_id, r.sort_key, r.month, r.pit_id, r.capacity_g))
        return found

    def productions_after(self, pit_id: str, sort_key: str) -> list[str]:
        """Ids of productions at a pit after a moment, up to the pit's next inspection."""
        following = self.tx.execute(
            select(func.min(t.inspections.c.sort_key)).where(t.inspections.c.pit_id == pit_id,
                                                             t.inspections.c.sort_key > sort_key)
        ).scalar()
        query = select(t.productions.c.event_id).where(t.productions.c.pit_id == pit_id,
                                                       t.productions.c.sort_key > sort_key)
        if following is not None:
            query = query.where(t.productions.c.sort_key <= following)
        return list(self.tx.execute(query).scalars())

    def production_ids_at(self, pit_id: str) -> list[str]:
        """Ids of every production at a pit."""
        return list(self.tx.execute(select(t.productions.c.event_id).where(t.productions.c.pit_id == pit_id)).scalars())

    def production_ids_by(self, miner_id: str) -> list[str]:
        """Ids of every production naming a miner."""
        return list(self.tx.execute(
            select(t.production_miners.c.event_id).where(t.production_miners.c.miner_id == miner_id)).scalars())

    def months_at(self, pit_id: str) -> list[str]:
        """The months in which a pit produced."""
        return list(self.tx.execute(
            select(t.productions.c.month).where(t.productions.c.pit_id == pit_id).distinct()).scalars())

    def miner_months_at(self, pit_id: str) -> list[tuple[str, str]]:
        """(miner, month) of every production at a pit."""
        return [tuple(row) for row in self.tx.execute(
            select(t.production_miners.c.miner_id, t.production_miners.c.month)
            .join(t.productions, t.productions.c.event_id == t.production_miners.c.event_id)
            .where(t.productions.c.pit_id == pit_id).distinct()
        )]
