"""A miner's own statement: their lots, where that gold went, the price they got, what is owed and paid.

Everything here is about one miner and nobody else: their share of each lot they are named in
(never who else was named), their own sales, the pieces made from their gold (counted by kind,
with the countries they went through), and their own account. Pieces' descriptions, makers'
countries and export destinations are read from the provenance read model (the same database);
the rest from the impact model.
"""
from __future__ import annotations

import os
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from consumers.impact import tables as t
from consumers.impact.arithmetic import to_cents
from consumers.impact.ledger import ZERO, PayoutsView
from consumers.impact.value_chain import ReferencePrices
from consumers.lineage.ancestry import in_descendants
from consumers.provenance import tables as prov


class StatementView:
    """The statement of one miner, from the impact read model (and pieces' words from provenance)."""

    def __init__(self, engine: Engine, payouts: PayoutsView):
        self.engine = engine
        self.payouts = payouts

    def cooperative_of(self, miner_id: str) -> str | None:
        """The cooperative a registered miner belongs to; None if no such miner."""
        with self.engine.connect() as connection:
            return connection.execute(select(t.miners.c.cooperative_id).where(t.miners.c.miner_id == miner_id)).scalar()

    def cooperative_name(self, cooperative_id: str) -> str:
        """A cooperative's registered name (its id if it has none)."""
        with self.engine.connect() as connection:
            return connection.execute(select(t.organisations.c.name).where(
                t.organisations.c.org_id == cooperative_id)).scalar() or cooperative_id

    def statement(self, miner_id: str) -> dict[str, Any] | None:
        """What the record says about ``miner_id``, for them; None if no such miner is registered."""
        with self.engine.connect() as connection:
            miner = connection.execute(select(t.miners).where(t.miners.c.miner_id == miner_id)).mappings().first()
            if miner is None:
                return None
            cooperative = connection.execute(select(t.organisations.c.name).where(
                t.organisations.c.org_id == miner["cooperative_id"])).scalar()
            site = connection.execute(select(t.sites.c.name, t.sites.c.region, t.sites.c.country).where(
                t.sites.c.site_id == miner["site_id"])).mappings().first()
            lots = self._lots(connection, miner_id)
            sales = self._sales(connection, miner_id)
            destinations = self._destinations(connection, [lot["lot_id"] for lot in lots])
            accounts = self.payouts.accounts_on(connection, [miner_id])
        return {
            "miner_id": miner_id,
            "cooperative": cooperative or miner["cooperative_id"],
            "site": dict(site) if site else None,
            "lots": lots,
            "grams": round(sum(lot["grams"] for lot in lots), 3),
            "sales": sales,
            "destinations": destinations,
            "money": [_money(account) for _, account in sorted(accounts.items())],
        }

    @staticmethod
    def _lots(connection, miner_id: str) -> list[dict[str, Any]]:
        """The counted lots naming the miner: day and the miner's equal share of the grams."""
        p, n = t.production_shares.c, t.nodes.c
        rows = connection.execute(
            select(p.lot_id, p.mass_g, n.created_sort)
            .join(t.nodes, (t.nodes.c.node_id == p.lot_id) & (t.nodes.c.created_event_id == p.event_id))
            .where(p.miner_id == miner_id).order_by(n.created_sort)).all()
        return [{"lot_id": row.lot_id, "date": row.created_sort[:10], "grams": round(row.mass_g, 3)} for row in rows]

    @staticmethod
    def _sales(connection, miner_id: str) -> list[dict[str, Any]]:
        """The miner's own sales of gold, each with the reference price of fine gold on its day."""
        x = t.transfers.c
        rows = connection.execute(
            select(x.lot_id, x.mass_g, x.price_per_g, x.currency, x.occurred_at)
            .where(x.from_id == miner_id, x.event_id.not_in(t.refused_events())).order_by(x.sort_key)).all()
        if not rows:
            return []
        prices = ReferencePrices([tuple(row) for row in connection.execute(
            select(t.prices.c.date, t.prices.c.sort_key, t.prices.c.price_per_g_fine, t.prices.c.currency))])
        lots = [row.lot_id for row in rows]
        declared = dict(connection.execute(select(t.nodes.c.node_id, t.nodes.c.declared_fineness)
                                           .where(t.nodes.c.node_id.in_(lots))).all())
        assayed = dict(connection.execute(
            select(t.assays.c.lot_id, t.assays.c.fineness)
            .where(t.assays.c.lot_id.in_(lots), t.assays.c.event_id.not_in(t.refused_events()))
            .order_by(t.assays.c.sort_key)).all())  # ordered: the latest counted assay wins
        out = []
        for row in rows:
            fineness = assayed.get(row.lot_id, declared.get(row.lot_id))
            entry: dict[str, Any] = {"date": row.occurred_at[:10], "grams": round(row.mass_g, 3),
                                     "currency": row.currency, "price_per_g": row.price_per_g,
                                     "price_per_g_fine": None, "reference_per_g_fine": None, "ratio": None}
            if row.price_per_g is not None and fineness:
                per_fine = Decimal(row.price_per_g) / Decimal(repr(fineness))
                entry["price_per_g_fine"] = str(to_cents(per_fine))
                reference = prices.on(row.occurred_at[:10], row.currency) if row.currency else None
                if reference is not None and reference[1]:
                    entry["reference_per_g_fine"] = str(to_cents(reference[1]))
                    entry["ratio"] = float(round(per_fine / reference[1], 4))
            out.append(entry)
        return out

    @staticmethod
    def _destinations(connection, lot_ids: list[str]) -> dict[str, Any]:
        """The pieces made from the miner's lots, by kind, and the countries the gold went to on the way."""
        if not lot_ids:
            return {"pieces": [], "pieces_total": 0, "countries": []}
        counted = t.counted_edges()
        downstream = [row.node_id for row in connection.execute(
            select(t.nodes.c.node_id, t.nodes.c.created_type)
            .where(in_descendants(t.nodes.c.node_id, counted, lot_ids)))]
        made = connection.execute(
            select(prov.nodes.c.node_id, prov.nodes.c.created_type, prov.nodes.c.description, prov.nodes.c.gtin,
                   prov.organisations.c.country, prov.exports.c.destination_country)
            .outerjoin(prov.organisations, prov.organisations.c.org_id == prov.nodes.c.created_by)
            .outerjoin(prov.exports, prov.exports.c.lot_id == prov.nodes.c.node_id)
            .where(prov.nodes.c.node_id.in_(downstream)).order_by(prov.nodes.c.created_sort)).all()
        pieces = {row.node_id: row for row in made if row.created_type == "product.manufactured"}.values()
        # the countries the gold went through, in the order it got there: where each lot, bar and piece
        # made from it was made, and where it was exported to
        path = [code for row in made for code in (row.country, row.destination_country) if code]
        kinds = Counter(kind_of(piece, pieces) for piece in pieces)
        countries = list(dict.fromkeys(path))
        return {"pieces": [{"kind": kind, "count": count} for kind, count in sorted(
                    kinds.items(), key=lambda item: (-item[1], item[0] or ""))],
                "pieces_total": len(pieces), "countries": countries}


def kind_of(piece, pieces) -> str | None:
    """A piece's kind: what the descriptions of the pieces of its trade item (GTIN) have in common
    ("Ituri gold ring, 18 ct, 3.2 g" and "..., 4.0 g" are "Ituri gold ring, 18 ct"), else its description."""
    if not piece.gtin or not piece.description:
        return piece.description
    same = [other.description for other in pieces if other.gtin == piece.gtin and other.description]
    common = os.path.commonprefix(same)
    if common != piece.description and common and not common[len(common) - 1].isspace() and common[-1] not in ",;:-":
        common = common[:max(common.rfind(" "), 0)]  # a word cut short is no word
    return common.strip(" ,;:-") or piece.description


def _money(account) -> dict[str, Any]:
    """One currency of the miner's account: each amount owed and paid, and the sums, exact."""
    due, paid = account.amount_due, account.amount_paid
    return {
        "currency": account.currency,
        "owed": str(due + ZERO), "paid": str(paid + ZERO), "outstanding": str(due - paid + ZERO),
        "owed_lines": [{"date": sold_at[:10], "amount": str(amount)} for sold_at, amount, *_ in sorted(account.owed)],
        "payments": [{"date": paid_at[:10], "amount": str(amount), "channel": channel}
                     for paid_at, amount, _, _, channel, _ in sorted(account.paid)],
    }
