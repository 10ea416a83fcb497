"""Loading facts from the ``chk_*`` tables, many units at once (the SQL side of the checks).

Every loader takes a set of ids and answers with a few ``IN`` queries, whatever the number of ids:
the projector recomputes all the scopes a batch of events touched together. The one exception reads
capacity proofs (``month_prefixes``): a few short queries per pit or miner over capacity in a month, each
reading only the proof's rows from an index in field-time order (``consumers.checks.prefix``).
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Iterable, Iterator, Mapping

from sqlalchemy import ColumnElement, Connection, Subquery, func, select

from consumers.authority import Step, custody
from consumers.checks import tables as t
from consumers.checks.authority import Piece, Refusal
from consumers.checks.facts import (
    Capacity, Consumption, Creation, Inspection, LotFacts, MonthTotal, Production, Receipt, RetractedStep, Side,
    Stamp, Transfer, Transformation,
)
from consumers.checks.findings import finding_id
from consumers.checks.pits import capacity_key
from consumers.checks.prefix import running_prefix
from consumers.checks.registry import registry
from consumers.lineage.ancestry import descendants, in_ancestry
from consumers.lineage.graph import earliest_creation
from consumers.sql import among

TRANSFORMATIONS = ("lots.merged", "lot.split", "lot.refined", "product.manufactured")
#: SQLite binds at most 32,766 parameters in one statement
CHUNK = 2000


def refused_events():
    """A ``SELECT`` of the ids of the events that do not count (a step by someone outside their rights)."""
    return select(t.custody.refused.c.event_id)


def lineage_edges() -> Subquery:
    """The lineage graph of the checks: a counted transformation's every input is a parent of its every output."""
    consumed, created = t.consumptions.c, t.creations.c
    return (select(consumed.lot_id.label("parent_id"), created.lot_id.label("child_id"))
            .select_from(t.consumptions.join(t.creations, created.event_id == consumed.event_id))
            .where(consumed.event_id.not_in(refused_events()))
            .subquery("chk_edges"))


def _production_order(row: tuple) -> str:
    return row[1]  # its sort key


def _production_mg(row: tuple) -> int:
    return row[6]


def chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """Sorted ids in chunks small enough for one statement."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


class FactStore:
    """Reads facts inside the projector's transaction."""

    def __init__(self, tx: Connection):
        self.tx = tx

    def _rows(self, table, column, ids: Iterable[str], *where):
        ids = set(ids)
        if ids:
            yield from self.tx.execute(select(table).where(self.among(column, ids), *where)).all()

    def among(self, column: ColumnElement, ids: Iterable[str]) -> ColumnElement[bool]:
        """``column IN ids`` bound as one value (see :func:`among`)."""
        return among(column, ids)

    def _counted(self, table, column, ids: Iterable[str], *where):
        """Rows of a custody fact table, without those of refused events: they count for nothing."""
        return self._rows(table, column, ids, table.c.event_id.not_in(refused_events()), *where)

    # -- lots -------------------------------------------------------------------------------
    def lots(self, lot_ids: Iterable[str]) -> dict[str, LotFacts]:
        """Everything recorded about each of these lots."""
        wanted = set(lot_ids)
        creations: dict[str, list] = defaultdict(list)
        consumptions: dict[str, list] = defaultdict(list)
        transfers: dict[str, list] = defaultdict(list)
        receipts: dict[str, list] = defaultdict(list)
        others: dict[str, list] = defaultdict(list)
        created = list(self._counted(t.creations, t.creations.c.lot_id, wanted))
        miners = self.miners_of(r.event_id for r in created if r.type == "production.recorded")
        for r in created:
            creations[r.lot_id].append(Creation(r.event_id, r.type, r.sort_key, r.recorded_by, r.lot_id, r.mass_g,
                                                r.fineness, tuple(miners.get(r.event_id, ()))))
        for r in self._counted(t.consumptions, t.consumptions.c.lot_id, wanted):
            consumptions[r.lot_id].append(Consumption(r.event_id, r.type, r.sort_key, r.recorded_by, r.lot_id, r.mass_g))
        for r in self._counted(t.transfers, t.transfers.c.lot_id, wanted):
            transfers[r.lot_id].append(Transfer(r.event_id, r.sort_key, r.lot_id, r.from_id, r.to_id, r.mass_g,
                                                r.price_per_g, r.currency, r.day))
        for r in self._counted(t.receipts, t.receipts.c.lot_id, wanted):
            receipts[r.lot_id].append(Receipt(r.event_id, r.sort_key, r.lot_id, r.mass_g, r.recorded_by))
        for r in self._counted(t.lot_stamps, t.lot_stamps.c.lot_id, wanted):
            others[r.lot_id].append(Stamp(r.event_id, r.type, r.sort_key, bool(r.royalties)))
        retracted = self.retracted_steps(wanted, {lot_id: earliest_creation(found) for lot_id, found in creations.items()})
        return {lot_id: LotFacts(lot_id, tuple(creations[lot_id]), tuple(consumptions[lot_id]), tuple(transfers[lot_id]),
                                 tuple(receipts[lot_id]), tuple(others[lot_id]), tuple(retracted.get(lot_id, ())))
                for lot_id in wanted}

    def retracted_steps(self, lot_ids: set[str], creations: Mapping[str, Creation | None]) -> dict[str, list[RetractedStep]]:
        """The retracted hand-overs and creations of these lots (``creations``: each lot's creation that counts),
        each with the steps others had recorded on the lot before its retraction that relied on it (see
        ``RetractedStep``)."""
        taken = list(self._rows(t.retracted_steps, t.retracted_steps.c.lot_id, lot_ids))
        if not taken:
            return {}
        lots = {row.lot_id for row in taken}
        # the retraction that counts: the first its event's attester recorded (a retried request is a second one)
        first: dict[str, tuple[str, str]] = {}
        attesters = {row.event_id: row.attester for row in taken}
        for r in self._rows(t.retractions, t.retractions.c.target_id, attesters):
            if r.attester == attesters[r.target_id] and (r.target_id not in first or (r.recorded_at, r.retraction_id) < first[r.target_id]):
                first[r.target_id] = (r.recorded_at, r.retraction_id)
        c, r = t.custody.claims.c, t.custody.refused.c
        claims: dict[str, list[Step]] = defaultdict(list)
        for lot_id, event_id, kind, organisation, sort_key, recorded_at, to_id in self.tx.execute(
                select(c.item_id, c.event_id, c.kind, c.organisation, c.sort_key, c.recorded_at, c.to_id).where(
                    self.among(c.item_id, lots))):
            claims[lot_id].append(Step(event_id, kind, organisation, sort_key, recorded_at, to_id))
        refused = {(item, event_id): reason for item, event_id, reason in self.tx.execute(
            select(r.item_id, r.event_id, r.reason).where(self.among(r.item_id, lots)))}
        made_from = self._made_from({creation.event_id for lot_id, creation in creations.items()
                                     if creation is not None and lot_id in lots})
        hand_overs: dict[str, dict[str, Step]] = defaultdict(dict)  # the retracted hand-overs of each lot, by event
        for row in taken:
            if row.to_id is not None:
                hand_overs[row.lot_id][row.event_id] = Step(row.event_id, "transfer", row.recorded_by, row.sort_key,
                                                            row.recorded_at, row.to_id)
        found: dict[str, list[RetractedStep]] = defaultdict(list)
        for row in taken:
            if row.event_id not in first:
                continue  # no retraction of it met yet (a replay meets the event first): judged when one is
            retracted_at, retraction_id = first[row.event_id]
            # the lot's record as it stood just before the retraction: the claims recorded by then, with the
            # hand-overs of the lot still standing then (this one, and those retracted later)
            standing = [step for step in claims[row.lot_id] if step.recorded_at < retracted_at] + [
                step for step in hand_overs[row.lot_id].values() if step.event_id != row.event_id and step.recorded_at < retracted_at
                and step.event_id in first and first[step.event_id][0] >= retracted_at]
            relying: list[Step] = []
            remade = False
            if row.to_id is not None:
                relying = self._left_without_holder(row, hand_overs[row.lot_id][row.event_id], standing, refused)
            elif self._was_the_making(row, standing, refused):
                # the steps of others since, that still count; no dispute if the lot was made again from the same
                relying = [step for step in standing if step.organisation != row.recorded_by
                           and step.kind != "retracted_create" and step.recorded_at >= row.recorded_at
                           and (row.lot_id, step.event_id) not in refused]
                creation = creations.get(row.lot_id)
                remade = creation is not None and made_from.get(creation.event_id, []) == json.loads(row.inputs or "[]")
            relying.sort(key=lambda step: (step.sort_key, step.event_id))
            found[row.lot_id].append(RetractedStep(row.event_id, row.type, retraction_id, row.sort_key, row.lot_id,
                                                   row.recorded_by, tuple((s.event_id, s.organisation) for s in relying),
                                                   remade))
        return found

    @staticmethod
    def _left_without_holder(taken, hand_over: Step, standing: list[Step],
                             refused: Mapping[tuple[str, str], str]) -> list[Step]:
        """The steps of others (the receiver's, and of whoever it passed the lot on to), recorded after the hand-over
        and before its retraction, that counted as the record stood then (``standing``, with the hand-over put
        back) and no longer do: a hand-over that never counted left nobody without a holder."""
        then = custody([*standing, hand_over])
        if not then.counts(taken.event_id):
            return []
        return [step for step in standing if step.organisation != taken.recorded_by
                and step.recorded_at >= taken.recorded_at and then.counts(step.event_id)
                and refused.get((taken.lot_id, step.event_id)) == "not_holder"]

    @staticmethod
    def _was_the_making(taken, standing: list[Step], refused: Mapping[tuple[str, str], str]) -> bool:
        """Whether a retracted making was the lot's making that counted as the record stood before its retraction:
        by the lot's owner, and no other counted making of the lot before it (the earliest counts); a stray second
        making nobody relied on."""
        if custody(standing).creator != taken.recorded_by:
            return False
        return not any(step.kind == "create" and (taken.lot_id, step.event_id) not in refused
                       and (step.sort_key, step.event_id) < (taken.sort_key, taken.event_id) for step in standing)

    def _made_from(self, event_ids: set[str]) -> dict[str, list[str]]:
        """What each of these creations was made from, as ``chk_retracted_steps.inputs`` keeps it: the lots it
        consumed, sorted; of a production, its pit (``pit:ID``)."""
        found: dict[str, list[str]] = defaultdict(list)
        if event_ids:
            for event_id, lot_id in self.tx.execute(select(t.consumptions.c.event_id, t.consumptions.c.lot_id).where(
                    self.among(t.consumptions.c.event_id, event_ids))):
                found[event_id].append(lot_id)
            for event_id, pit_id in self.tx.execute(select(t.productions.c.event_id, t.productions.c.pit_id).where(
                    self.among(t.productions.c.event_id, event_ids))):
                found[event_id].append(f"pit:{pit_id}")
        return {event_id: sorted(set(sources)) for event_id, sources in found.items()}

    def miners_of(self, event_ids: Iterable[str]) -> dict[str, list[str]]:
        """The miners named by each of these productions, sorted."""
        found: dict[str, list[str]] = defaultdict(list)
        event_ids = set(event_ids)
        if not event_ids:
            return {}
        for event_id, miner_id in self.tx.execute(
            select(t.production_miners.c.event_id, t.production_miners.c.miner_id)
            .where(self.among(t.production_miners.c.event_id, event_ids))
        ):
            found[event_id].append(miner_id)
        return {event_id: sorted(miners) for event_id, miners in found.items()}

    def permits_on_path(self, lot_id: str) -> list[str]:
        """Ids of the ``lot.exported`` events on the lot or on any lot it came from."""
        stamps = t.lot_stamps.c
        return list(self.tx.execute(
            select(stamps.event_id)
            .where(stamps.type == "lot.exported", stamps.event_id.not_in(refused_events()),
                   in_ancestry(stamps.lot_id, lineage_edges(), [lot_id]))
            .order_by(stamps.sort_key)).scalars())

    def descendants(self, lot_ids: Iterable[str]) -> set[str]:
        """Every lot and product made (at any depth) from these lots, not including them."""
        roots = set(lot_ids)
        found: set[str] = set()
        edges = lineage_edges()
        for chunk in chunks(roots):
            found.update(self.tx.execute(select(descendants(edges, chunk).c.node_id)).scalars())
        return found - roots

    def transformations_of(self, lot_ids: Iterable[str]) -> set[str]:
        """Ids of the transformations that took grams of these lots in, or claim to have made them."""
        lot_ids = set(lot_ids)
        if not lot_ids:
            return set()
        found = set(self.tx.execute(
            select(t.consumptions.c.event_id).where(self.among(t.consumptions.c.lot_id, lot_ids))).scalars())
        found.update(self.tx.execute(
            select(t.creations.c.event_id).where(self.among(t.creations.c.lot_id, lot_ids),
                                                 t.creations.c.type.in_(TRANSFORMATIONS))).scalars())
        return found

    def lots_retracted(self, event_id: str) -> set[str]:
        """The lots of an event validly retracted (none while the event is not met, or if no retraction of it counts)."""
        s = t.retracted_steps.c
        return set(self.tx.execute(select(s.lot_id).where(s.event_id == event_id)).scalars())

    def lots_transferred_with(self, party: str) -> list[str]:
        """Lots transferred from or to ``party``."""
        return list(self.tx.execute(
            select(t.transfers.c.lot_id).where((t.transfers.c.from_id == party) | (t.transfers.c.to_id == party))
            .distinct()).scalars())

    # -- authority --------------------------------------------------------------------------
    def refusals(self, item_ids: Iterable[str]) -> dict[str, list[Refusal]]:
        """The refused custody steps of each of these items (with, for a conflicting creation, the owner's)."""
        found: dict[str, list[Refusal]] = defaultdict(list)
        r, c, e = t.custody.refused.c, t.custody.claims.c, t.events.c
        item_ids = set(item_ids)
        rows = self.tx.execute(
            select(r.event_id, r.item_id, r.reason, r.holder, c.organisation, e.type)
            .join(t.custody.claims, (c.event_id == r.event_id) & (c.item_id == r.item_id))
            .join(t.events, e.event_id == r.event_id)
            .where(self.among(r.item_id, item_ids))).all() if item_ids else []
        owners = {(row.item_id, row.holder) for row in rows if row.reason == "conflicting_claim"}
        basis = {}
        for item_id, owner in owners:  # the owner's first creation, by the server's clock: the proof of ownership
            basis[item_id] = self.tx.execute(
                select(c.event_id).where(c.item_id == item_id, c.kind == "create", c.organisation == owner)
                .order_by(c.recorded_at, c.event_id).limit(1)).scalar()
        for row in rows:
            found[row.item_id].append(Refusal(row.event_id, row.type, row.item_id, row.organisation, row.reason,
                                              row.holder, basis.get(row.item_id) if row.reason == "conflicting_claim" else None))
        return found

    def pieces(self, item_ids: Iterable[str]) -> list[Piece]:
        """The manufactured pieces among these items, as they count, with their maker's GS1 prefixes."""
        creations: dict[str, list] = defaultdict(list)
        for r in self._counted(t.creations, t.creations.c.lot_id, item_ids, t.creations.c.type == "product.manufactured"):
            creations[r.lot_id].append(r)
        counted = {lot_id: earliest_creation(rows) for lot_id, rows in creations.items()}
        makers = {r.org_id: r for r in self._rows(t.organisations, t.organisations.c.org_id,
                                                  {row.recorded_by for row in counted.values()})}
        pieces = []
        for product_id, row in sorted(counted.items()):
            maker = makers.get(row.recorded_by)
            prefixes = tuple(json.loads(maker.gs1_company_prefixes)) if maker is not None and maker.gs1_company_prefixes else ()
            pieces.append(Piece(product_id, row.event_id, row.gtin, row.recorded_by, prefixes,
                                maker.event_id if prefixes else None))
        return pieces

    def sites_of(self, pit_ids: Iterable[str]) -> set[str]:
        """The sites these pits are registered at."""
        return {r.site_id for r in self._rows(t.pits, t.pits.c.pit_id, pit_ids)}

    def products_made_by(self, org_id: str) -> list[str]:
        """Every product an organisation recorded making (counted or not)."""
        return list(self.tx.execute(select(t.creations.c.lot_id).where(
            t.creations.c.recorded_by == org_id, t.creations.c.type == "product.manufactured").distinct()).scalars())

    def lots_from(self, kind: str, entity_id: str) -> set[str]:
        """The production lots made at a site or pit, or by a miner (what a registry entity's claim taints)."""
        p, pm = t.productions.c, t.production_miners.c
        if kind == "site":
            pits = select(t.pits.c.pit_id).where(t.pits.c.site_id == entity_id)
            query = select(p.lot_id).where(p.pit_id.in_(pits))
        elif kind == "pit":
            query = select(p.lot_id).where(p.pit_id == entity_id)
        elif kind == "miner":
            query = select(p.lot_id).join(t.production_miners, pm.event_id == p.event_id).where(pm.miner_id == entity_id)
        else:
            return set()
        return set(self.tx.execute(query.where(p.event_id.not_in(refused_events()))).scalars())

    # -- registry ---------------------------------------------------------------------------
    def registered(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are registered organisations or miners."""
        ids = set(ids)
        return ({r.org_id for r in self._rows(t.organisations, t.organisations.c.org_id, ids)}
                | self.registered_miners(ids))

    def registered_miners(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are registered miners."""
        return {r.miner_id for r in self._rows(t.miners, t.miners.c.miner_id, ids)}

    def countries(self, ids: Iterable[str]) -> dict[str, str]:
        """The country of each registered organisation among ``ids``."""
        return {r.org_id: r.country for r in self._rows(t.organisations, t.organisations.c.org_id, ids)}

    # -- transformations --------------------------------------------------------------------
    def transformations(self, event_ids: Iterable[str]) -> dict[str, Transformation]:
        """Merges, splits, refinings and manufacturings with the fineness known for each side."""
        wanted = set(event_ids)
        types = {r.event_id: r.type for r in self._rows(t.events, t.events.c.event_id, wanted)
                 if r.type in TRANSFORMATIONS}
        ins: dict[str, list] = defaultdict(list)
        outs: dict[str, list] = defaultdict(list)
        for r in self._counted(t.consumptions, t.consumptions.c.event_id, types):
            ins[r.event_id].append(r)
        for r in self._counted(t.creations, t.creations.c.event_id, types):
            outs[r.event_id].append(r)
        fineness = self.fineness({r.lot_id for rows in (*ins.values(), *outs.values()) for r in rows})
        split_inputs = {rows[0].lot_id for event_id, rows in ins.items() if types[event_id] == "lot.split" and rows}
        split_lots = self.lots(split_inputs) if split_inputs else {}
        found = {}
        for event_id, kind in types.items():
            inputs = sorted(ins[event_id], key=lambda r: r.lot_id)
            outputs = sorted(outs[event_id], key=lambda r: r.lot_id)
            if not inputs and not outputs:
                continue
            found[event_id] = Transformation(
                event_id=event_id, type=kind, recorded_by=(inputs or outputs)[0].recorded_by,
                inputs=tuple(Side(r.lot_id, r.mass_g, fineness.get(r.lot_id)) for r in inputs),
                outputs=tuple(Side(r.lot_id, r.mass_g, fineness.get(r.lot_id, r.fineness)) for r in outputs),
                input_lot_g=split_lots[inputs[0].lot_id].available_g() if kind == "lot.split" and inputs else None,
            )
        return found

    def fineness(self, lot_ids: Iterable[str]) -> dict[str, float]:
        """The stated fineness of each lot: its latest counted assay (by its holder or an independent party),
        else the one declared at its creation."""
        return {lot_id: value for lot_id, (value, _event) in self.fineness_stated(lot_ids).items()}

    def fineness_stated(self, lot_ids: Iterable[str]) -> dict[str, tuple[float, str]]:
        """The stated fineness of each lot (as ``fineness``) and the id of the event that states it."""
        wanted = set(lot_ids)
        creations: dict[str, list] = defaultdict(list)
        for r in self._counted(t.creations, t.creations.c.lot_id, wanted):
            creations[r.lot_id].append(r)
        counted = {lot_id: earliest_creation(rows) for lot_id, rows in creations.items()}
        stated = {lot_id: (row.fineness, row.event_id) for lot_id, row in counted.items() if row.fineness is not None}
        latest: dict[str, tuple[str, float, str]] = {}
        for r in self._counted(t.lot_stamps, t.lot_stamps.c.lot_id, wanted, t.lot_stamps.c.type == "lot.assayed"):
            if r.lot_id not in latest or r.sort_key > latest[r.lot_id][0]:  # the latest assay counts
                latest[r.lot_id] = (r.sort_key, r.fineness, r.event_id)
        stated.update({lot_id: (value, event_id) for lot_id, (_, value, event_id) in latest.items()})
        return stated

    # -- production -------------------------------------------------------------------------
    def productions(self, event_ids: Iterable[str], with_miners: bool = True) -> dict[str, Production]:
        """These productions, by event id."""
        rows = list(self._rows(t.productions, t.productions.c.event_id, event_ids))
        return self._productions(rows, with_miners)

    def _productions(self, rows, with_miners: bool) -> dict[str, Production]:
        miners = self.miners_of(r.event_id for r in rows) if with_miners else {}
        return {r.event_id: Production(r.event_id, r.sort_key, r.lot_id, r.pit_id, r.mass_g, r.month,
                                       tuple(miners.get(r.event_id, ()))) for r in rows}

    def pit_month_totals(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], MonthTotal]:
        """What each (pit, month) produced (``chk_pit_months``: summed as productions are written)."""
        wanted = set(pairs)
        found = {}
        m = t.pit_months.c
        if not wanted:
            return found
        for pit_id, month, total_mg, count in self.tx.execute(
            select(m.pit_id, m.month, m.mass_mg, m.productions)
            .where(self.among(m.pit_id, {pit for pit, _ in wanted}), self.among(m.month, {month for _, month in wanted}))
        ):
            if (pit_id, month) in wanted:
                found[(pit_id, month)] = MonthTotal(pit_id, month, pit_id, int(total_mg) / 1000, int(count))
        return found

    def miner_month_totals(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[MonthTotal]]:
        """What each (miner, month) produced at each pit, by pit (``chk_miner_months``: summed as written)."""
        wanted = set(pairs)
        found: dict[tuple[str, str], list[MonthTotal]] = defaultdict(list)
        m = t.miner_months.c
        if not wanted:
            return found
        for miner_id, month, pit_id, total_mg, count in self.tx.execute(
            select(m.miner_id, m.month, m.pit_id, m.mass_mg, m.productions)
            .where(self.among(m.miner_id, {miner for miner, _ in wanted}), self.among(m.month, {month for _, month in wanted}))
            .order_by(m.miner_id, m.month, m.pit_id)
        ):
            if (miner_id, month) in wanted:
                found[(miner_id, month)].append(MonthTotal(miner_id, month, pit_id, int(total_mg) / 1000, int(count)))
        return found

    def month_prefixes(self, kind: str, limits: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], list[str]]:
        """For each (pit or miner, month) and its capacity: the ids of the productions of that month in the
        order they happened, up to the first that takes the total over the capacity, read from an index
        in that order and no further (``consumers.checks.prefix``)."""
        first = self._pit_month_first if kind == "pit" else self._miner_month_first
        found: dict[tuple[str, str], list[str]] = {}
        for (subject_id, month), limit in sorted(limits.items()):
            found[(subject_id, month)] = [row[0] for row in running_prefix(
                lambda after, size, subject_id=subject_id, month=month: first(subject_id, month, after, size),
                order_key=_production_order, milligrams=_production_mg, limit_mg=limit * 1000)]
        return found

    def kept_prefixes(self, kind: str, stated: Mapping[tuple[str, str], tuple[str, ...]],
                      earliest: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
        """The capacity proofs of these (pit or miner, month) that the stored findings still hold: their
        productions' ids.

        A month's productions are never removed (a retracted one rebuilds the read model) and every batch
        that adds one recomputes the month, so an open finding's proof is the prefix as of the batch
        before: it still holds when it rests on the same capacity statements (``stated``: the ones the
        proof would start with now, so the same limit) and this batch added no production to the month
        earlier than the proof's last (``earliest``: the batch's earliest sort key, by month).
        """
        scopes: dict[str, tuple[tuple[str, str], str]] = {}  # finding id -> (pair, the scope that raises it)
        for subject_id, month in stated:
            scopes[finding_id("over_capacity", subject_id, capacity_key(kind, month))] = ((subject_id, month), f"{kind}month:{month}:{subject_id}")
        f = t.findings.c
        candidates: dict[tuple[str, str], list[str]] = {}
        for found_id, scope, proof in self.tx.execute(
                select(f.finding_id, f.scope, f.proof).where(self.among(f.finding_id, scopes), f.status == "open")):
            pair, expected = scopes[found_id]
            ids, head = json.loads(proof), stated[pair]
            if scope == expected and tuple(ids[:len(head)]) == head and len(ids) > len(head):
                candidates[pair] = ids[len(head):]
        needing_check = {pair: ids[-1] for pair, ids in candidates.items() if pair in earliest}
        last_keys = {event_id: sort_key for event_id, sort_key in self.tx.execute(
            select(t.productions.c.event_id, t.productions.c.sort_key).where(
                self.among(t.productions.c.event_id, set(needing_check.values()))))} if needing_check else {}
        return {pair: ids for pair, ids in candidates.items()
                if pair not in earliest or (needing_check[pair] in last_keys and earliest[pair] > last_keys[needing_check[pair]])}

    def _pit_month_first(self, pit_id: str, month: str, after: str | None, size: int) -> list[tuple]:
        """The first ``size`` productions of a pit's month after the sort key ``after``, in the order they
        happened, as (event_id, sort_key, lot_id, pit_id, mass_g, month, mass_mg)."""
        p = t.productions.c
        query = select(p.event_id, p.sort_key, p.lot_id, p.pit_id, p.mass_g, p.month, p.mass_mg).where(
            p.pit_id == pit_id, p.month == month)
        if after is not None:
            query = query.where(p.sort_key > after)
        return [tuple(row) for row in self.tx.execute(query.order_by(p.sort_key).limit(size)).all()]

    def _miner_month_first(self, miner_id: str, month: str, after: str | None, size: int) -> list[tuple]:
        """The first ``size`` productions naming a miner in a month after the sort key ``after``, in the
        order they happened, as (event_id, sort_key, lot_id, pit_id, mass_g, month, mass_mg)."""
        p, pm = t.productions.c, t.production_miners.c
        query = (select(p.event_id, p.sort_key, p.lot_id, p.pit_id, p.mass_g, p.month, p.mass_mg)
                 .select_from(t.production_miners.join(t.productions, p.event_id == pm.event_id))
                 .where(pm.miner_id == miner_id, pm.month == month))
        if after is not None:
            query = query.where(pm.sort_key > after)
        return [tuple(row) for row in self.tx.execute(query.order_by(pm.sort_key).limit(size)).all()]

    def inspections(self, pit_ids: Iterable[str]) -> dict[str, list[Inspection]]:
        """Every inspection of these pits."""
        found: dict[str, list[Inspection]] = defaultdict(list)
        for r in self._rows(t.inspections, t.inspections.c.pit_id, pit_ids):
            found[r.pit_id].append(Inspection(r.event_id, r.sort_key, r.pit_id, r.status, r.month, r.workers_observed))
        return found

    def capacities(self, pit_ids: Iterable[str]) -> dict[str, list[Capacity]]:
        """The capacity statements of these pits that count: every inspection's, and the registrations of the
        pit's owner (another organisation's registration of the pit is a conflicting claim and says nothing,
        its capacity neither: else a squatter could state a tonne a month and clear the pit's findings)."""
        pit_ids = set(pit_ids)
        rows = list(self._rows(t.capacities, t.capacities.c.pit_id, pit_ids))
        conflicting = self._conflicting_pit_claims({r.pit_id for r in rows}) if rows else set()
        found: dict[str, list[Capacity]] = defaultdict(list)
        for r in rows:
            if r.event_id not in conflicting:  # an inspection, or a registration by the pit's owner
                found[r.pit_id].append(Capacity(r.event_id, r.sort_key, r.month, r.pit_id, r.capacity_g))
        return found

    def _conflicting_pit_claims(self, pit_ids: set[str]) -> set[str]:
        """The ids of the registrations of these pits by others than their owners (a retracted registration
        was never applied: it states no capacity)."""
        return {event_id for entry in registry().verdicts(self.tx, {("pit", pit_id) for pit_id in pit_ids})
                for event_id in entry.conflicting}

    def production_ids_after(self, pit_id: str, sort_key: str) -> list[str]:
        """Ids of productions at a pit after a moment, up to the pit's next inspection."""
        following = self.tx.execute(
            select(t.inspections.c.sort_key).where(t.inspections.c.pit_id == pit_id, t.inspections.c.sort_key > sort_key)
            .order_by(t.inspections.c.sort_key).limit(1)).scalar()
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
        return [(miner, month) for miner, month in self.tx.execute(
            select(t.production_miners.c.miner_id, t.production_miners.c.month)
            .join(t.productions, t.productions.c.event_id == t.production_miners.c.event_id)
            .where(t.productions.c.pit_id == pit_id).distinct())]
