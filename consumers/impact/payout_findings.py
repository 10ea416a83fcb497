"""Findings of the payouts ledger: a miner paid more than owed, obligations left unpaid too long, a
payment from someone who is not the miner's cooperative.

They are computed from the ledger when asked (an obligation becomes overdue with the passing of
days, not with an event), and merged into ``GET /v1/findings`` with those of the checks.
Overdue obligations are found first in, first out: a miner's payments settle the oldest sales first.
Only an obligation fixed by a decided payout policy (``payout.policy_set``) can be overdue: what the
operator's default share computes where nobody decided a policy is an estimate, not a debt.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import Connection, select

from consumers.checks.findings import finding_id
from consumers.impact import tables as t
from consumers.impact.ledger import ZERO, Account, PayoutsView

OVERPAID, OVERDUE, UNAUTHORISED = "payout_overpaid", "payout_overdue", "payout_unauthorised"
KINDS = (OVERDUE, OVERPAID, UNAUTHORISED)


def overdue_lines(account: Account, cutoff: str) -> list[tuple[str, Decimal, str]]:
    """The parts of ``account``'s obligations under a policy, from sales before ``cutoff`` (a day), that its
    payments do not cover.

    Payments settle the oldest obligations first (under a policy or not). Each part: (sold_at, amount
    unpaid, sale event id).
    """
    left = account.amount_paid
    unpaid = []
    for sold_at, amount, sale_event_id, _, policy_id, _ in sorted(account.owed, key=lambda line: line[:3]):
        covered = min(left, amount)
        left -= covered
        if amount - covered > 0 and sold_at[:10] < cutoff and policy_id is not None:
            unpaid.append((sold_at, amount - covered, sale_event_id))
    return unpaid


def _finding(kind: str, subject: str, key: str, severity: str, message: str, proof: list[str],
             detail: dict[str, Any]) -> dict[str, Any]:
    return {"finding_id": finding_id(kind, subject, key), "kind": kind, "subject_id": subject, "severity": severity,
            "status": "open", "message": message, "proof": proof, "detail": detail, "lots": []}


class PayoutFindings:
    """The payouts ledger's findings, as ``GET /v1/findings`` shows findings."""

    kinds = KINDS

    def __init__(self, payouts: PayoutsView, overdue_days: int, today: Callable[[], date] = date.today):
        self.payouts = payouts
        self.overdue_days = overdue_days
        self.today = today

    def all(self) -> list[dict[str, Any]]:
        """Every open finding of the ledger, ordered by kind, subject and id."""
        with self.payouts.engine.connect() as connection:
            accounts = self.payouts.accounts_on(connection, None)
            uncounted = self.payouts.uncounted_payments(connection)
            cooperative_of = self._cooperatives(connection, {miner for miner, _ in accounts})
        cutoff = (self.today() - timedelta(days=self.overdue_days)).isoformat()
        found = []
        overdue: dict[tuple[str, str], list[tuple[str, Decimal, str, str]]] = defaultdict(list)
        for (miner_id, currency), account in sorted(accounts.items()):
            due, paid = account.amount_due, account.amount_paid
            if paid > due:
                found.append(_finding(
                    OVERPAID, miner_id, currency, "medium",
                    f"{miner_id} was paid {paid} {currency}, {paid - due} more than the sales of their gold owe them "
                    f"({due} {currency}).",
                    [line[2] for line in account.paid] + [line[2] for line in account.owed],
                    {"currency": currency, "amount_due": str(due + ZERO), "amount_paid": str(paid + ZERO),
                     "excess": str(paid - due + ZERO)}))
            for sold_at, amount, sale_event_id in overdue_lines(account, cutoff):
                overdue[(cooperative_of.get(miner_id, "?"), currency)].append((sold_at, amount, sale_event_id, miner_id))
        for (cooperative_id, currency), lines in sorted(overdue.items()):
            total = sum((line[1] for line in lines), ZERO)
            oldest = min(line[0] for line in lines)[:10]
            miners = sorted({line[3] for line in lines})
            found.append(_finding(
                OVERDUE, cooperative_id, currency, "high",
                f"{cooperative_id} owes its miners {total} {currency} from sales more than {self.overdue_days} days "
                f"old, unpaid (the oldest sold on {oldest}).",
                sorted({line[2] for line in lines}),
                {"currency": currency, "amount_overdue": str(total), "miners": len(miners), "miner_ids": miners,
                 "oldest_sale": oldest, "overdue_days": self.overdue_days}))
        for payment in uncounted:
            found.append(_finding(
                UNAUTHORISED, payment["miner_id"], payment["event_id"], "medium",
                f"{payment['recorded_by']} recorded a payment of {payment['amount']} {payment['currency']} to "
                f"{payment['miner_id']}, who is not its miner: it counts for nothing.",
                [payment["event_id"]],
                {"payment_id": payment["payment_id"], "recorded_by": payment["recorded_by"],
                 "cooperative_id": payment["cooperative_id"], "amount": payment["amount"],
                 "currency": payment["currency"]}))
        return sorted(found, key=lambda item: (item["kind"], item["subject_id"], item["finding_id"]))

    @staticmethod
    def _cooperatives(connection: Connection, miner_ids: set[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        ordered = sorted(miner_ids)
        for start in range(0, len(ordered), 500):
            found.update(connection.execute(select(t.miners.c.miner_id, t.miners.c.cooperative_id)
                                            .where(t.miners.c.miner_id.in_(ordered[start:start + 500]))).all())
        return found

    def list(self, kind: str | None = None, subject: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """The findings matching the filters of ``GET /v1/findings`` (all open: a resolved one is gone)."""
        if kind is not None and kind not in KINDS or status == "withdrawn":
            return []
        return [item for item in self.all()
                if (kind is None or item["kind"] == kind) and (subject is None or item["subject_id"] == subject)]


__all__ = ["KINDS", "PayoutFindings", "overdue_lines"]
