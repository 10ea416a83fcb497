"""Payout policies: which decision fixes the share a sale owes its miners, and keeping that fixed.

A policy (``payout.policy_set``) applies to one cooperative or to ``all``. The policy in force for a
sale, in one scope, is the one with the latest ``effective_from`` on or before the sale's day
(its field day), among the policies *recorded before the sale was* (the server's clock, which no
client can back-date; ties by the later decision). So a policy decided after a sale, even one
dated back before it, never changes what that sale owes; and the answer is the same whatever order
the two events reach the projector in. A miner's line uses their cooperative's policy, else the
``all`` policy, else the ``ORETRAIL_PAYOUT_SHARE`` setting (read when the ledger is asked).
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from sqlalchemy import Connection, and_, delete, select

from consumers.impact import tables as t


class Policy(NamedTuple):
    """A decided policy, as the read model keeps it."""

    event_id: str
    policy_id: str
    share: str
    applies_to: str
    effective_from: str
    recorded_at: str


def in_force(policies: Iterable[Policy], day: str, sale_recorded_at: str) -> Policy | None:
    """The policy in force on ``day`` for a sale recorded at ``sale_recorded_at``; None if none was decided."""
    candidates = [policy for policy in policies
                  if policy.effective_from <= day and policy.recorded_at <= sale_recorded_at]
    if not candidates:
        return None
    return max(candidates, key=lambda policy: (policy.effective_from, policy.recorded_at, policy.event_id))


def _policies(tx: Connection, scope: str) -> list[Policy]:
    p = t.payout_policies.c
    return [Policy(*row) for row in tx.execute(
        select(p.event_id, p.policy_id, p.share, p.applies_to, p.effective_from, p.recorded_at)
        .where(p.applies_to == scope))]


def fix_sale(tx: Connection, sale_event_id: str, day: str, recorded_at: str, scopes: Iterable[str]) -> None:
    """(Re)write the policy in force for one sale in each of ``scopes``."""
    scopes = sorted(set(scopes))
    tx.execute(delete(t.sale_policies).where(t.sale_policies.c.sale_event_id == sale_event_id,
                                             t.sale_policies.c.applies_to.in_(scopes)))
    rows = []
    for scope in scopes:
        policy = in_force(_policies(tx, scope), day, recorded_at)
        if policy is not None:
            rows.append({"sale_event_id": sale_event_id, "applies_to": scope, "policy_event_id": policy.event_id,
                         "policy_id": policy.policy_id, "share": policy.share})
    if rows:
        tx.execute(t.sale_policies.insert(), rows)


def fix_new_sale(tx: Connection, sale_event_id: str, day: str, recorded_at: str) -> None:
    """Fix the policies in force for a sale just recorded, in every scope that has a policy."""
    scopes = tx.execute(select(t.payout_policies.c.applies_to).distinct()).scalars()
    fix_sale(tx, sale_event_id, day, recorded_at, scopes)


def refix_after_policy(tx: Connection, scope: str, effective_from: str, recorded_at: str) -> None:
    """Re-fix, in ``scope``, the sales a policy could apply to: on or after its day and recorded after it.

    In the order the server recorded them, there are none: a new policy changes no past obligation.
    A sale seen first only because events reached the projector out of order gets the same policy it
    would have got in order.
    """
    s = t.sales.c
    for sale_event_id, occurred_at, sale_recorded_at in tx.execute(
            select(s.event_id, s.occurred_at, s.recorded_at)
            .where(and_(s.recorded_at >= recorded_at, s.occurred_at >= effective_from))).all():
        fix_sale(tx, sale_event_id, occurred_at[:10], sale_recorded_at, [scope])
