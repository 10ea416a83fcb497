"""Loading the facts of the sourcing checks (miners, pits' inspections and head counts, prices, purchases).

The same habit as ``store``: a set of ids in, a few ``IN`` queries out, whatever the number of ids.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import func, select

from consumers.checks import tables as t
from consumers.checks.facts import Miner, Pit, Purchase
from consumers.checks.prefix import running_prefix
from consumers.checks.store import FactStore, refused_events
from consumers.impact.value_chain import ReferencePrices
from consumers.lineage.graph import moment_of


class SourcingStore(FactStore):
    """The fact store, with the loaders of the rules on miners, pits, prices and purchases."""

    def miner_facts(self, ids: Iterable[str]) -> dict[str, Miner]:
        """The latest registration of each registered miner among ``ids``."""
        return {r.miner_id: Miner(r.miner_id, r.cooperative_id, r.site_id, r.birth_year, bool(r.photo_id), r.event_id)
                for r in self._rows(t.miners, t.miners.c.miner_id, ids)}

    def pit_facts(self, ids: Iterable[str]) -> dict[str, Pit]:
        """The latest registration of each registered pit among ``ids``."""
        return {r.pit_id: Pit(r.pit_id, r.site_id, r.event_id) for r in self._rows(t.pits, t.pits.c.pit_id, ids)}

    def roles(self, ids: Iterable[str]) -> dict[str, str]:
        """The role of each registered organisation among ``ids``."""
        return {r.org_id: r.role for r in self._rows(t.organisations, t.organisations.c.org_id, ids)}

    # -- prices -----------------------------------------------------------------------------
    def reference_prices(self, currencies: Iterable[str]) -> tuple[ReferencePrices, dict[tuple[str, str], str]]:
        """The reference prices in these currencies, and the event behind each (currency, date) price in force."""
        rows = list(self._rows(t.prices, t.prices.c.currency, currencies))
        events: dict[tuple[str, str], tuple[str, str]] = {}
        for r in rows:  # of two prices recorded for one day, the later (by sort key) is in force, as in ReferencePrices
            if (r.currency, r.date) not in events or r.sort_key > events[(r.currency, r.date)][0]:
                events[(r.currency, r.date)] = (r.sort_key, r.event_id)
        prices = ReferencePrices([(r.date, r.sort_key, r.price_per_g_fine, r.currency) for r in rows])
        return prices, {pair: event_id for pair, (_key, event_id) in events.items()}

    def lots_priced_since(self, currency: str, day: str) -> set[str]:
        """Lots with a priced transfer in ``currency`` on or after ``day`` (a new reference price may judge them)."""
        x = t.transfers.c
        return set(self.tx.execute(select(x.lot_id).where(x.currency == currency, x.day >= day,
                                                          x.price_per_g.is_not(None)).distinct()).scalars())

    # -- purchases --------------------------------------------------------------------------
    def buyer_months(self, lot_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(buyer, month) of every transfer of these lots."""
        x = t.transfers.c
        lot_ids = set(lot_ids)
        if not lot_ids:
            return set()
        return {tuple(row) for row in self.tx.execute(
            select(x.to_id, x.month).where(self.among(x.lot_id, lot_ids)).distinct())}

    def buyer_months_from_pit(self, pit_id: str) -> set[tuple[str, str]]:
        """(buyer, month) of every purchase of a lot produced at a pit."""
        x, p = t.transfers.c, t.productions.c
        return {tuple(row) for row in self.tx.execute(
            select(x.to_id, x.month).join(t.productions, p.lot_id == x.lot_id).where(p.pit_id == pit_id).distinct())}

    def purchase_totals(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, tuple[float, int]]]:
        """What each (buyer, month) bought of production lots, by pit: grams (summed exactly, in milligrams)
        and lots (steps that count only)."""
        wanted = set(pairs)
        months = sorted({month for _, month in wanted})
        x, p = t.transfers.c, t.productions.c
        found: dict[tuple[str, str], dict[str, tuple[float, int]]] = defaultdict(dict)
        if not wanted:
            return found
        for buyer, month, pit_id, total_mg, count in self.tx.execute(
            select(x.to_id, x.month, p.pit_id, func.sum(x.mass_mg), func.count())
            .join(t.productions, p.lot_id == x.lot_id)
            .where(self.among(x.to_id, (buyer for buyer, _ in wanted)), self.among(x.month, months),
                   x.event_id.not_in(refused_events()), p.event_id.not_in(refused_events()))
            .group_by(x.to_id, x.month, p.pit_id)
        ):
            if (buyer, month) in wanted:
                found[(buyer, month)][pit_id] = (int(total_mg) / 1000, int(count))
        return found

    def purchase_prefix(self, buyer: str, month: str, pits: Iterable[str], limit_g: float) -> list[Purchase]:
        """A buyer's purchases of lots of these pits in a month, in the order they happened, up to the first
        that takes them over ``limit_g``: read in that order up to the proof's end (``consumers.checks.prefix``);
        a transfer of a lot two counted productions made is one purchase of each, summed together."""
        x, p = t.transfers.c, t.productions.c
        query = (select(x.event_id, x.sort_key, x.lot_id, x.to_id, x.month, x.mass_g, p.pit_id,
                        x.mass_mg.label("mg"))
                 .join(t.productions, p.lot_id == x.lot_id)
                 .where(x.to_id == buyer, x.month == month, self.among(p.pit_id, set(pits)),
                        x.event_id.not_in(refused_events()), p.event_id.not_in(refused_events()))
                 .order_by(x.sort_key))  # the index's order: rows of one purchase (a lot made twice) in any order

        def fetch(after: str | None, size: int):  # a transfer's sort key is its own (it ends with its event id)
            return self.tx.execute((query if after is None else query.where(x.sort_key > after)).limit(size)).all()

        rows = running_prefix(fetch, order_key=lambda r: r.sort_key, milligrams=lambda r: r.mg, limit_mg=limit_g * 1000)
        return [Purchase(r.event_id, r.sort_key, r.lot_id, r.to_id, r.month, r.mass_g, r.pit_id) for r in rows]

    def lots_produced_by(self, org_id: str) -> list[str]:
        """The production lots an organisation recorded."""
        return list(self.tx.execute(select(t.productions.c.lot_id).where(t.productions.c.recorded_by == org_id)).scalars())

    # -- pits -------------------------------------------------------------------------------
    def pits_counting_workers(self, pit_ids: Iterable[str]) -> set[str]:
        """Which of these pits an inspection counted the workers of."""
        i = t.inspections.c
        return {r.pit_id for r in self._rows(t.inspections, i.pit_id, pit_ids, i.workers_observed.is_not(None))}

    def first_productions(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """For each (pit, month): every miner named there with the id of their first production of the month,
        in the order those productions happened."""
        wanted = set(pairs)
        months = sorted({month for _, month in wanted})
        p, pm = t.productions.c, t.production_miners.c
        first: dict[tuple[str, str], dict[str, tuple[str, str]]] = defaultdict(dict)
        for pit_id, month, miner_id, event_id, key in self.tx.execute(
            select(p.pit_id, p.month, pm.miner_id, p.event_id, p.sort_key)
            .join(t.production_miners, pm.event_id == p.event_id)
            .where(self.among(p.pit_id, (pit for pit, _ in wanted)), self.among(p.month, months))
        ) if wanted else ():
            seen = first[(pit_id, month)]
            if (pit_id, month) in wanted and (miner_id not in seen or key < seen[miner_id][0]):
                seen[miner_id] = (key, event_id)
        return {pair: [(miner, event_id) for miner, (_key, event_id) in sorted(by_miner.items(), key=lambda i: i[1])]
                for pair, by_miner in first.items()}

    def production_ids_near(self, pit_id: str, sort_key: str, days: int) -> list[str]:
        """Ids of the productions at a pit within ``days`` of a moment (an inspection then may vouch for them)."""
        moment = datetime.strptime(moment_of(sort_key), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        low, high = (moment - timedelta(days=days + 1), moment + timedelta(days=days + 1))
        p = t.productions.c
        return list(self.tx.execute(select(p.event_id).where(
            p.pit_id == pit_id, p.sort_key >= low.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            p.sort_key <= high.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))).scalars())

    def distinct_miners(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """How many different miners each (pit, month) names."""
        wanted = set(pairs)
        months = sorted({month for _, month in wanted})
        p, pm = t.productions.c, t.production_miners.c
        found = {}
        for pit_id, month, count in self.tx.execute(
            select(p.pit_id, p.month, func.count(pm.miner_id.distinct()))
            .join(t.production_miners, pm.event_id == p.event_id)
            .where(self.among(p.pit_id, (pit for pit, _ in wanted)), self.among(p.month, months))
            .group_by(p.pit_id, p.month)
        ) if wanted else ():
            if (pit_id, month) in wanted:
                found[(pit_id, month)] = int(count)
        return found
