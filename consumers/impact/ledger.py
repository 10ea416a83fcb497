"""The payouts ledger: what each miner of a cooperative is owed from the sales of pieces with their gold.

The projector keeps each sale's exact weights (``imp_payout_weights``); amounts are computed here
with the configured payout share, so changing the share needs no rebuild. Every sale is allocated
whole (all its recipients, so its lines add up to its payout to the cent) before the lines of the
cooperative's miners are kept.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine, select

from consumers.impact import tables as t
from consumers.impact.payouts import UNTRACED, allocate

ROUNDING = ("Each sale's payout is its price times the payout share, rounded half up to the cent. It is "
            "split by exact fractions (each production lot's share of the piece's fine gold, equally among "
            "the lot's miners); each recipient gets its exact part rounded down to the cent, and the cents "
            "left over go one each to the largest remainders (ties: the smaller id), so the lines of a sale "
            "add up to its payout exactly. Gold not traced to a miner is the line 'untraced', owed to nobody.")


class PayoutsView:
    """Amounts due to miners, from the impact read model and the payout share setting."""

    def __init__(self, engine: Engine, payout_share: Decimal):
        self.engine = engine
        self.payout_share = payout_share

    def sale_allocations(self, sale_event_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every priced sale (or those named) with its payout and every line of it."""
        with self.engine.connect() as connection:
            # a refused sale (by someone who did not hold the piece) is no sale
            query = (select(t.sales).where(t.sales.c.price.is_not(None), t.sales.c.event_id.not_in(t.refused_events()))
                     .order_by(t.sales.c.sort_key))
            if sale_event_ids is not None:
                query = query.where(t.sales.c.event_id.in_(sale_event_ids))
            sales = list(connection.execute(query).mappings())
            weights: dict[str, dict[str, tuple[Fraction, float]]] = defaultdict(dict)
            ids = [sale["event_id"] for sale in sales]
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                for row in connection.execute(select(t.payout_weights).where(t.payout_weights.c.sale_event_id.in_(chunk))):
                    weights[row.sale_event_id][row.recipient_id] = (Fraction(row.weight), row.fine_g)
        out = []
        for sale in sales:
            recipients = weights.get(sale["event_id"], {})
            pool, lines = allocate(Decimal(sale["price"]), self.payout_share,
                                   {recipient: weight for recipient, (weight, _) in recipients.items()})
            out.append({**dict(sale), "pool": pool, "lines": lines,
                        "fine_g": {recipient: fine for recipient, (_, fine) in recipients.items()}})
        return out

    def ledger(self, cooperative_id: str, first: str | None = None, last: str | None = None) -> dict[str, Any]:
        """What the miners of ``cooperative_id`` are owed, by miner, by period (month of sale) and in total."""
        with self.engine.connect() as connection:
            members = {row.miner_id: row.gender for row in connection.execute(
                select(t.miners.c.miner_id, t.miners.c.gender).where(t.miners.c.cooperative_id == cooperative_id))}
            involved = select(t.payout_weights.c.sale_event_id).join(
                t.miners, t.miners.c.miner_id == t.payout_weights.c.recipient_id
            ).where(t.miners.c.cooperative_id == cooperative_id).distinct()
            query = select(t.sales.c.event_id).where(t.sales.c.event_id.in_(involved))
            if first:
                query = query.where(t.sales.c.month >= first)
            if last:
                query = query.where(t.sales.c.month <= last)
            sale_ids = list(connection.execute(query).scalars())
        by_miner: dict[tuple[str, str], dict[str, Any]] = {}
        by_period: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        by_gender: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        sales_out = []
        for sale in self.sale_allocations(sale_ids) if sale_ids else []:
            currency, month = sale["currency"], sale["month"]
            ours = Decimal(0)
            for recipient, amount in sorted(sale["lines"].items()):
                if recipient not in members:
                    continue
                ours += amount
                entry = by_miner.setdefault((recipient, currency), {
                    "miner_id": recipient, "gender": members[recipient], "currency": currency,
                    "amount_due": Decimal(0), "fine_g": 0.0, "sales": 0, "by_period": defaultdict(Decimal)})
                entry["amount_due"] += amount
                entry["fine_g"] += sale["fine_g"].get(recipient, 0.0)
                entry["sales"] += 1
                entry["by_period"][month] += amount
                by_period[(month, currency)] += amount
                by_gender[(members[recipient], currency)] += amount
            totals[currency] += ours
            sales_out.append({
                "sale_event_id": sale["event_id"], "product_id": sale["product_id"], "sold_at": sale["occurred_at"],
                "price": sale["price"], "currency": currency, "payout": str(sale["pool"]),
                "to_cooperative": str(ours), "untraced": str(sale["lines"].get(UNTRACED, Decimal("0.00"))),
                "to_others": str(sale["pool"] - ours - sale["lines"].get(UNTRACED, Decimal(0))),
                "recipients": sum(1 for recipient in sale["lines"] if recipient in members),
            })
        return {
            "cooperative_id": cooperative_id,
            "payout_share": str(self.payout_share),
            "from": first, "to": last,
            "rounding": ROUNDING,
            "totals": [{"currency": currency, "amount_due": str(amount)} for currency, amount in sorted(totals.items())],
            "by_period": [{"period": month, "currency": currency, "amount_due": str(amount)}
                          for (month, currency), amount in sorted(by_period.items())],
            "by_gender": [{"gender": gender, "currency": currency, "amount_due": str(amount)}
                          for (gender, currency), amount in sorted(by_gender.items())],
            "by_miner": [{**entry, "amount_due": str(entry["amount_due"]), "fine_g": round(entry["fine_g"], 6),
                          "by_period": {month: str(amount) for month, amount in sorted(entry["by_period"].items())}}
                         for _, entry in sorted(by_miner.items())],
            "sales": sales_out,
        }
