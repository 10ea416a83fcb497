"""Value distribution along a piece's path: price per gram of fine gold at each step, against the
reference price of that day, and the share of the final price that reached the miners.

How it is computed:
- every ``lot.transferred`` of a lot in the piece's ancestry is a step of its path; transfers are
  grouped into stages by who sold and who bought (``miner -> cooperative``, ``cooperative ->
  exporter``, ..., by organisation role) and currency;
- the price per gram of fine gold of a transfer is its ``price_per_g`` over the fineness of the lot
  (its latest assay, else the declared fineness, else derived from its inputs, as in provenance); a
  stage's price is the money paid over the fine grams paid for;
- the reference price of a transfer is the latest ``market.price_recorded`` in its currency on or
  before its day; a stage's reference is averaged over its fine grams, and ``ratio_to_reference`` is
  price over reference;
- the final price is the piece's latest ``product.sold`` price over its fine gold (mass x fineness);
- the share that reached the miners is the miners' price per fine gram (the ``miner -> *`` stage)
  over the final price per fine gram; when the two are in different currencies the final price is
  converted at the ratio of the two currencies' reference prices on the sale's day (or null);
- ``with_payout`` adds the retroactive payout share: the payout spreads ``share x price`` over the
  traced fine gold, i.e. exactly ``payout_share`` more of the final price per fine gram;
- ``below_reference_floor`` counts a stage's transfers that an open ``price_below_reference`` finding
  of the checks names (paid under ``ORETRAIL_PRICE_FLOOR`` of the reference; see ``/v1/findings``).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from decimal import Decimal
from typing import Any, Callable, Iterable

from sqlalchemy import Engine, select

from consumers.impact import tables as t
from consumers.impact.ancestry import load_ancestry
from consumers.impact.arithmetic import decimal, ratio, to_cents
from consumers.impact.cells import MIN_CELL
from consumers.lineage.ancestry import in_ancestry

MINER = "miner"


class ReferencePrices:
    """The reference prices of fine gold by currency, and the one in force on a day."""

    def __init__(self, rows: list[tuple[str, str, str, str]]):
        self.by_currency: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
        for day, key, price, currency in sorted(rows, key=lambda row: (row[0], row[1])):
            self.by_currency[currency].append((day, key, Decimal(price)))

    def on(self, day: str, currency: str) -> tuple[str, Decimal] | None:
        """The latest reference price in ``currency`` on or before ``day``: (its date, the price)."""
        prices = self.by_currency.get(currency, [])
        index = bisect.bisect_right(prices, (day, "\uffff"))
        if index == 0:
            return None
        found = prices[index - 1]
        return found[0], found[2]


def _ratio4(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 4))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(to_cents(value))


class ValueChainView:
    """The value chain of a product, from the impact read model."""

    def __init__(self, engine: Engine, payout_share: Decimal,
                 below_floor: Callable[[Iterable[str]], set[str]] = lambda transfer_ids: set()):
        self.engine = engine
        self.payout_share = payout_share
        #: which of these transfers an open ``price_below_reference`` finding names (the checks' read model)
        self.below_floor = below_floor

    def value_chain(self, product_id: str, reveal: bool) -> dict[str, Any] | None:
        """The value chain of a manufactured product; None if no such product."""
        with self.engine.connect() as connection:
            product = connection.execute(select(t.nodes).where(t.nodes.c.node_id == product_id)).mappings().first()
            if product is None or product["created_type"] != "product.manufactured":
                return None
            ancestry = load_ancestry(connection, product_id)
            x = t.transfers.c
            transfers = connection.execute(
                select(x.event_id, x.lot_id, x.from_id, x.to_id, x.mass_g, x.price_per_g, x.currency, x.occurred_at,
                       x.sort_key)
                .where(in_ancestry(x.lot_id, t.counted_edges(), [product_id]), x.event_id.not_in(t.refused_events()))
                .order_by(x.sort_key)).all()
            prices = ReferencePrices([tuple(row) for row in connection.execute(
                select(t.prices.c.date, t.prices.c.sort_key, t.prices.c.price_per_g_fine, t.prices.c.currency))])
            holders = {row.from_id for row in transfers}
            miners = set(connection.execute(select(t.miners.c.miner_id).where(t.miners.c.miner_id.in_(holders))).scalars()) \
                if holders else set()
            roles = dict(connection.execute(select(t.organisations.c.org_id, t.organisations.c.role)).all())
            sale = connection.execute(
                select(t.sales.c.price, t.sales.c.currency, t.sales.c.occurred_at, t.sales.c.event_id)
                .where(t.sales.c.product_id == product_id, t.sales.c.price.is_not(None),
                       t.sales.c.event_id.not_in(t.refused_events()))
                .order_by(t.sales.c.sort_key.desc()).limit(1)).first()
        fineness = ancestry.lineage.fineness
        below = self.below_floor([row.event_id for row in transfers if row.price_per_g is not None])
        stages, stage_prices = self._stages(transfers, fineness, miners, roles, prices, reveal, below)
        fine_g = decimal(product["mass_g"]) * decimal(product["declared_fineness"])
        final, final_per_fine = self._final(sale, fine_g, prices)
        return {
            "product_id": product_id,
            "fine_g": float(round(fine_g, 4)),
            "stages": stages,
            "final": final,
            "share_to_miners": self._share(stages, stage_prices, final, final_per_fine, prices),
            "method": __doc__.split("How it is computed:", 1)[1].strip(),
        }

    @staticmethod
    def _stages(transfers, fineness, miners, roles, prices: ReferencePrices, reveal: bool, below: set[str] = frozenset()
                ) -> tuple[list[dict[str, Any]], list[Decimal | None]]:
        """The stages as JSON, and each one's exact price per fine gram (None if hidden or unpriced)."""
        stages: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        for row in transfers:
            seller = MINER if row.from_id in miners else roles.get(row.from_id, "unregistered")
            buyer = MINER if row.to_id in miners else roles.get(row.to_id, "unregistered")
            stage = stages.setdefault((seller, buyer, row.currency), {
                "from": seller, "to": buyer, "currency": row.currency, "transfers": 0, "priced": 0,
                "first_at": row.occurred_at, "last_at": row.occurred_at, "sellers": set(), "grams": Decimal(0),
                "paid": Decimal(0), "fine_paid": Decimal(0), "reference_sum": Decimal(0), "reference_fine": Decimal(0),
                "below": 0,
            })
            stage["transfers"] += 1
            stage["below"] += row.event_id in below
            stage["last_at"] = row.occurred_at
            stage["sellers"].add(row.from_id)
            grams = decimal(row.mass_g)
            stage["grams"] += grams
            lot_fineness = fineness.get(row.lot_id)
            if row.price_per_g is None or lot_fineness is None:
                continue
            fine = grams * decimal(lot_fineness)
            stage["priced"] += 1
            stage["paid"] += grams * Decimal(row.price_per_g)
            stage["fine_paid"] += fine
            reference = prices.on(row.occurred_at[:10], row.currency)
            if reference is not None:
                stage["reference_sum"] += reference[1] * fine
                stage["reference_fine"] += fine
        out, exact = [], []
        for stage in stages.values():
            price = ratio(stage["paid"], stage["fine_paid"])
            reference = ratio(stage["reference_sum"], stage["reference_fine"])
            people = len(stage["sellers"])
            entry = {
                "from": stage["from"], "to": stage["to"], "currency": stage["currency"],
                "transfers": stage["transfers"], "priced_transfers": stage["priced"],
                "first_at": stage["first_at"], "last_at": stage["last_at"],
                "sellers": people, "grams": float(round(stage["grams"], 4)),
                "fine_g_priced": float(round(stage["fine_paid"], 4)),
                "price_per_g_fine": _money(price),
                "reference_per_g_fine": _money(reference),
                "ratio_to_reference": _ratio4(ratio(price, reference) if price is not None and reference else None),
                "below_reference_floor": stage["below"],
            }
            if stage["from"] == MINER and people < MIN_CELL and not reveal:
                entry.update(price_per_g_fine=None, ratio_to_reference=None, sellers=None, suppressed=True,
                             below_reference_floor=None)
                price = None
            out.append(entry)
            exact.append(price)
        return out, exact

    @staticmethod
    def _final(sale, fine_g: Decimal, prices: ReferencePrices) -> tuple[dict[str, Any] | None, Decimal | None]:
        """The latest priced sale as JSON, and its exact price per fine gram."""
        if sale is None or not fine_g:
            return None, None
        price = Decimal(sale.price)
        per_fine = price / fine_g
        reference = prices.on(sale.occurred_at[:10], sale.currency)
        return {
            "sale_event_id": sale.event_id, "sold_at": sale.occurred_at, "price": sale.price, "currency": sale.currency,
            "price_per_g_fine": _money(per_fine),
            "reference_per_g_fine": _money(reference[1]) if reference else None,
            "ratio_to_reference": _ratio4(per_fine / reference[1]) if reference else None,
        }, per_fine

    def _share(self, stages: list[dict[str, Any]], stage_prices: list[Decimal | None], final: dict[str, Any] | None,
               final_per_fine: Decimal | None, prices: ReferencePrices) -> dict[str, Any]:
        """The miners' price per fine gram over the final price per fine gram (see the module's docstring)."""
        result: dict[str, Any] = {"value": None, "with_payout": None, "payout_share": float(self.payout_share),
                                  "reason": None}
        miner_stages = [(stage, price) for stage, price in zip(stages, stage_prices)
                        if stage["from"] == MINER and stage["priced_transfers"]]
        if final is None or final_per_fine is None:
            result["reason"] = "the piece has no recorded sale price"
            return result
        if not miner_stages:
            result["reason"] = "no priced purchase from a registered miner in the piece's ancestry"
            return result
        stage, miner_price = max(miner_stages, key=lambda pair: pair[0]["fine_g_priced"])  # the main currency
        if miner_price is None:
            result["reason"] = f"fewer than {MIN_CELL} miners sold this gold: suppressed"
            return result
        if stage["currency"] != final["currency"]:
            day = final["sold_at"][:10]
            ours, theirs = prices.on(day, stage["currency"]), prices.on(day, final["currency"])
            if ours is None or theirs is None:
                result["reason"] = (f"the sale is in {final['currency']} and the miners were paid in "
                                    f"{stage['currency']}: no reference prices in both to convert")
                return result
            final_per_fine = final_per_fine * ours[1] / theirs[1]
            result["converted"] = {"from": final["currency"], "to": stage["currency"],
                                   "rate": float(round(ours[1] / theirs[1], 6)),
                                   "basis": "ratio of the two reference prices on the sale's day"}
        share = miner_price / final_per_fine
        result["value"] = _ratio4(share)
        result["with_payout"] = _ratio4(share + self.payout_share)
        return result
