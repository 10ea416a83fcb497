"""The payouts ledger: what each miner of a cooperative is owed from the sales of pieces with their gold,
what their cooperative paid them, and what is outstanding.

The projector keeps each sale's exact weights (``imp_payout_weights``) and the policy in force for
it in each scope (``imp_sale_policies``, fixed when the sale is recorded: ``consumers.impact.policies``);
amounts are computed here. A miner's line uses their cooperative's policy, else the ``all`` policy,
else the configured default share. Every sale is allocated whole (all its recipients, so its lines
add up to its payout to the cent) before the lines of the cooperative's miners are kept. A payment
counts when it was recorded by the miner's own cooperative.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from sqlalchemy import Connection, Engine, select

from consumers.impact import tables as t
from consumers.impact.payouts import UNTRACED, allocate_by_share
from events.catalogue.impact import EVERY_COOPERATIVE

ROUNDING = ("Each sale's payout is its price times the payout share, rounded half up to the cent. It is "
            "split by exact fractions (each production lot's share of the piece's fine gold, equally among "
            "the lot's miners); each recipient gets its exact part rounded down to the cent, and the cents "
            "left over go one each to the largest remainders (ties: the smaller id), so the lines of a sale "
            "add up to its payout exactly. Gold not traced to a miner is the line 'untraced', owed to nobody.")

ZERO = Decimal("0.00")
_CHUNK = 500


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


@dataclass
class Account:
    """One miner's account in one currency: each obligation (a sale's line) and each payment that counts."""

    miner_id: str
    currency: str
    #: (sold_at, amount, sale event id, product id, policy id or None, share), in order of sale
    owed: list[tuple[str, Decimal, str, str, str | None, Decimal]] = field(default_factory=list)
    #: (paid_at, amount, payment event id, payment id, channel, reference), in order of payment
    paid: list[tuple[str, Decimal, str, str, str, str]] = field(default_factory=list)

    @property
    def amount_due(self) -> Decimal:
        """All the sales owe this miner."""
        return sum((line[1] for line in self.owed), ZERO)

    @property
    def amount_paid(self) -> Decimal:
        """All that was paid to this miner (by their cooperative)."""
        return sum((line[1] for line in self.paid), ZERO)


class PayoutsView:
    """Amounts due to miners and paid to them, from the impact read model and the default payout share."""

    def __init__(self, engine: Engine, payout_share: Decimal):
        self.engine = engine
        self.payout_share = payout_share

    # -- obligations ------------------------------------------------------------------------
    def sale_allocations(self, sale_event_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every priced sale (or those named) with its payout, every line of it, and each line's policy."""
        with self.engine.connect() as connection:
            return self._allocations(connection, sale_event_ids)

    def _allocations(self, connection: Connection, sale_event_ids: list[str] | None) -> list[dict[str, Any]]:
        # a refused sale (by someone who did not hold the piece) is no sale
        query = (select(t.sales).where(t.sales.c.price.is_not(None), t.sales.c.event_id.not_in(t.refused_events()))
                 .order_by(t.sales.c.sort_key))
        sales = []
        if sale_event_ids is None:
            sales = list(connection.execute(query).mappings())
        else:
            for chunk in _chunks(sale_event_ids):
                sales += connection.execute(query.where(t.sales.c.event_id.in_(chunk))).mappings().all()
            sales.sort(key=lambda sale: sale["sort_key"])
        ids = [sale["event_id"] for sale in sales]
        weights: dict[str, dict[str, tuple[Fraction, float]]] = defaultdict(dict)
        fixed: dict[str, dict[str, tuple[str, Decimal]]] = defaultdict(dict)
        for chunk in _chunks(ids):
            for row in connection.execute(select(t.payout_weights).where(t.payout_weights.c.sale_event_id.in_(chunk))):
                weights[row.sale_event_id][row.recipient_id] = (Fraction(row.weight), row.fine_g)
            for row in connection.execute(select(t.sale_policies).where(t.sale_policies.c.sale_event_id.in_(chunk))):
                fixed[row.sale_event_id][row.applies_to] = (row.policy_id, Decimal(row.share))
        recipients = sorted({recipient for lines in weights.values() for recipient in lines if recipient != UNTRACED})
        cooperative_of: dict[str, str] = {}
        for chunk in _chunks(recipients):
            cooperative_of.update(connection.execute(
                select(t.miners.c.miner_id, t.miners.c.cooperative_id).where(t.miners.c.miner_id.in_(chunk))).all())
        out = []
        for sale in sales:
            lines = weights.get(sale["event_id"], {})
            scopes = fixed.get(sale["event_id"], {})
            policy = {recipient: self._policy(scopes, cooperative_of.get(recipient)) for recipient in lines}
            policy.setdefault(UNTRACED, self._policy(scopes, None))
            pool, amounts = allocate_by_share(Decimal(sale["price"]), {r: share for r, (_, share) in policy.items()},
                                              {recipient: weight for recipient, (weight, _) in lines.items()},
                                              self.payout_share)
            out.append({**dict(sale), "pool": pool, "lines": amounts, "policy": policy,
                        "fine_g": {recipient: fine for recipient, (_, fine) in lines.items()}})
        return out

    def _policy(self, scopes: dict[str, tuple[str, Decimal]], cooperative_id: str | None) -> tuple[str | None, Decimal]:
        """The policy of a line: its cooperative's, else the one for all, else the default (no policy id)."""
        if cooperative_id is not None and cooperative_id in scopes:
            return scopes[cooperative_id]
        if EVERY_COOPERATIVE in scopes:
            return scopes[EVERY_COOPERATIVE]
        return None, self.payout_share

    # -- accounts ---------------------------------------------------------------------------
    def accounts(self, miner_ids: list[str] | None = None) -> dict[tuple[str, str], Account]:
        """Every miner's account by (miner, currency), all time (or only those of ``miner_ids``)."""
        with self.engine.connect() as connection:
            return self.accounts_on(connection, miner_ids)

    def accounts_on(self, connection: Connection, miner_ids: list[str] | None) -> dict[tuple[str, str], Account]:
        """:meth:`accounts` on an open connection (a view that reads more in the same snapshot)."""
        if miner_ids is None:
            sale_ids = None
        else:
            sale_ids = []
            for chunk in _chunks(sorted(set(miner_ids))):
                sale_ids += connection.execute(select(t.payout_weights.c.sale_event_id).where(
                    t.payout_weights.c.recipient_id.in_(chunk)).distinct()).scalars().all()
        accounts: dict[tuple[str, str], Account] = {}
        wanted = None if miner_ids is None else set(miner_ids)
        for sale in self._allocations(connection, sale_ids) if sale_ids != [] else []:
            for recipient, amount in sorted(sale["lines"].items()):
                if recipient == UNTRACED or (wanted is not None and recipient not in wanted):
                    continue
                policy_id, share = sale["policy"][recipient]
                account = accounts.setdefault((recipient, sale["currency"]), Account(recipient, sale["currency"]))
                account.owed.append((sale["occurred_at"], amount, sale["event_id"], sale["product_id"], policy_id, share))
        for payment in self.counted_payments(connection, miner_ids):
            account = accounts.setdefault((payment["miner_id"], payment["currency"]),
                                          Account(payment["miner_id"], payment["currency"]))
            account.paid.append((payment["occurred_at"], Decimal(payment["amount"]), payment["event_id"],
                                 payment["payment_id"], payment["channel"], payment["reference"]))
        return accounts

    @staticmethod
    def counted_payments(connection: Connection, miner_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """The payments that count: recorded by the miner's own cooperative, once per ``payment_id``."""
        p = t.payments.c
        query = (select(t.payments).join(t.miners, t.miners.c.miner_id == p.miner_id)
                 .where(p.recorded_by == t.miners.c.cooperative_id).order_by(p.sort_key))
        rows = []
        if miner_ids is None:
            rows = connection.execute(query).mappings().all()
        else:
            for chunk in _chunks(sorted(set(miner_ids))):
                rows += connection.execute(query.where(p.miner_id.in_(chunk))).mappings().all()
            rows.sort(key=lambda row: row["sort_key"])
        seen: set[tuple[str, str]] = set()
        counted = []
        for row in rows:  # a payment recorded twice (a retried upload under a new event id) is paid once
            if (row["recorded_by"], row["payment_id"]) not in seen:
                seen.add((row["recorded_by"], row["payment_id"]))
                counted.append(dict(row))
        return counted

    @staticmethod
    def uncounted_payments(connection: Connection) -> list[dict[str, Any]]:
        """Payments recorded by someone other than the miner's cooperative (or for no registered miner)."""
        p = t.payments.c
        return [dict(row) for row in connection.execute(
            select(t.payments, t.miners.c.cooperative_id).outerjoin(t.miners, t.miners.c.miner_id == p.miner_id)
            .where((t.miners.c.cooperative_id.is_(None)) | (p.recorded_by != t.miners.c.cooperative_id))
            .order_by(p.sort_key)).mappings()]

    def policies(self, cooperative_id: str) -> list[dict[str, Any]]:
        """The policies decided for ``cooperative_id`` and for all, in the order they take effect."""
        p = t.payout_policies.c
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.payout_policies).where(p.applies_to.in_([cooperative_id, EVERY_COOPERATIVE]))
                                      .order_by(p.effective_from, p.recorded_at, p.event_id)).mappings().all()
        return [{"policy_id": row["policy_id"], "share": row["share"], "applies_to": row["applies_to"],
                 "effective_from": row["effective_from"], "decided_by": row["decided_by"],
                 "evidence": json.loads(row["evidence"]), "recorded_at": row["recorded_at"], "event_id": row["event_id"]}
                for row in rows]

    # -- the ledger of a cooperative ----------------------------------------------------------
    def ledger(self, cooperative_id: str, first: str | None = None, last: str | None = None) -> dict[str, Any]:
        """What the miners of ``cooperative_id`` are owed and were paid, by miner, by period and in total."""
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
            sales = self._allocations(connection, sale_ids) if sale_ids else []
            payments = [payment for payment in self.counted_payments(connection, list(members))
                        if (not first or payment["month"] >= first) and (not last or payment["month"] <= last)]
        ledger = _Ledger(members)
        sales_out = [ledger.add_sale(sale, self._policy({}, None)) for sale in sales]
        for payment in payments:
            ledger.add_payment(payment)
        return {
            "cooperative_id": cooperative_id,
            "payout_share": str(self.payout_share),
            "from": first, "to": last,
            "rounding": ROUNDING,
            "policies": self.policies(cooperative_id),
            **ledger.out(),
            "sales": sales_out,
            "payments": [{"payment_id": payment["payment_id"], "miner_id": payment["miner_id"],
                          "amount": payment["amount"], "currency": payment["currency"], "channel": payment["channel"],
                          "reference": payment["reference"], "paid_at": payment["occurred_at"],
                          "event_id": payment["event_id"]} for payment in payments],
        }


class _Ledger:
    """Sums of one cooperative's ledger, by miner, period, gender and currency."""

    def __init__(self, members: dict[str, str]):
        self.members = members
        self.by_miner: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_period: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.by_gender: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.due: dict[str, Decimal] = defaultdict(Decimal)
        self.paid: dict[str, Decimal] = defaultdict(Decimal)

    def _miner(self, miner_id: str, currency: str) -> dict[str, Any]:
        return self.by_miner.setdefault((miner_id, currency), {
            "miner_id": miner_id, "gender": self.members[miner_id], "currency": currency,
            "amount_due": Decimal(0), "amount_paid": Decimal(0), "fine_g": 0.0, "sales": 0, "payments": 0,
            "last_paid_at": None, "by_period": defaultdict(Decimal)})

    def add_sale(self, sale: dict[str, Any], default: tuple[str | None, Decimal]) -> dict[str, Any]:
        """Count the lines of the cooperative's miners; the sale as the ledger shows it."""
        currency, month = sale["currency"], sale["month"]
        ours = Decimal(0)
        policy = default
        for recipient, amount in sorted(sale["lines"].items()):
            if recipient not in self.members:
                continue
            ours += amount
            policy = sale["policy"][recipient]
            entry = self._miner(recipient, currency)
            entry["amount_due"] += amount
            entry["fine_g"] += sale["fine_g"].get(recipient, 0.0)
            entry["sales"] += 1
            entry["by_period"][month] += amount
            self.by_period[(month, currency)] += amount
            self.by_gender[(self.members[recipient], currency)] += amount
        self.due[currency] += ours
        untraced = sale["lines"].get(UNTRACED, ZERO)
        return {
            "sale_event_id": sale["event_id"], "product_id": sale["product_id"], "sold_at": sale["occurred_at"],
            "price": sale["price"], "currency": currency, "payout": str(sale["pool"]),
            "to_cooperative": str(ours), "untraced": str(untraced),
            "to_others": str(sale["pool"] - ours - untraced),
            "recipients": sum(1 for recipient in sale["lines"] if recipient in self.members),
            "policy_id": policy[0], "share": str(policy[1]),
        }

    def add_payment(self, payment: dict[str, Any]) -> None:
        """Count a payment to one of the cooperative's miners."""
        entry = self._miner(payment["miner_id"], payment["currency"])
        entry["amount_paid"] += Decimal(payment["amount"])
        entry["payments"] += 1
        entry["last_paid_at"] = max(entry["last_paid_at"] or "", payment["occurred_at"])
        self.paid[payment["currency"]] += Decimal(payment["amount"])

    def out(self) -> dict[str, Any]:
        """The sums as the API shows them (exact decimal strings)."""
        currencies = sorted(set(self.due) | set(self.paid))
        return {
            "totals": [{"currency": currency, "amount_due": str(self.due[currency] + ZERO),
                        "amount_paid": str(self.paid[currency] + ZERO),
                        "outstanding": str(self.due[currency] - self.paid[currency] + ZERO)} for currency in currencies],
            "by_period": [{"period": month, "currency": currency, "amount_due": str(amount)}
                          for (month, currency), amount in sorted(self.by_period.items())],
            "by_gender": [{"gender": gender, "currency": currency, "amount_due": str(amount)}
                          for (gender, currency), amount in sorted(self.by_gender.items())],
            "by_miner": [{**entry, "amount_due": str(entry["amount_due"] + ZERO),
                          "amount_paid": str(entry["amount_paid"] + ZERO),
                          "outstanding": str(entry["amount_due"] - entry["amount_paid"] + ZERO),
                          "fine_g": round(entry["fine_g"], 6),
                          "by_period": {month: str(amount) for month, amount in sorted(entry["by_period"].items())}}
                         for _, entry in sorted(self.by_miner.items())],
        }
