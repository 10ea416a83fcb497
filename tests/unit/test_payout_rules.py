"""The pure rules of payouts: the policy in force, a sale split under several shares, overdue parts."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from consumers.impact.ledger import Account
from consumers.impact.payout_findings import overdue_lines
from consumers.impact.payouts import UNTRACED, allocate, allocate_by_share
from consumers.impact.policies import Policy, in_force


def policy(event_id, share, effective_from, recorded_at):
    return Policy(event_id, event_id, share, "all", effective_from, recorded_at)


def test_the_policy_in_force_is_the_latest_effective_on_the_day_among_those_decided_before_the_sale():
    policies = [policy("a", "0.01", "2026-01-01", "2026-01-01T00:00:00Z"),
                policy("b", "0.02", "2026-03-01", "2026-02-15T00:00:00Z"),
                policy("late", "0.09", "2026-01-01", "2026-06-01T00:00:00Z")]  # decided after, dated back
    assert in_force(policies, "2026-02-10", "2026-05-01T00:00:00Z").event_id == "a"
    assert in_force(policies, "2026-04-10", "2026-05-01T00:00:00Z").event_id == "b"
    assert in_force(policies, "2026-04-10", "2026-07-01T00:00:00Z").event_id == "b"  # b's day is later than late's
    assert in_force(policies, "2025-12-31", "2026-05-01T00:00:00Z") is None


def test_one_share_for_all_splits_as_before_and_several_shares_add_up_to_the_cent():
    weights = {"m-1": Fraction(1, 3), "m-2": Fraction(1, 3), UNTRACED: Fraction(1, 3)}
    assert allocate_by_share(Decimal("100.00"), {}, weights, Decimal("0.01")) == \
        allocate(Decimal("100.00"), Decimal("0.01"), weights)
    pool, lines = allocate_by_share(Decimal("100.00"), {"m-1": Decimal("0.05"), "m-2": Decimal("0.02"),
                                                        UNTRACED: Decimal("0.02")}, weights, Decimal("0.01"))
    assert pool == Decimal("3.00") and sum(lines.values()) == pool
    # m-2 and the untraced line tie for the last cent: the smaller id ("/untraced") gets it
    assert lines == {"m-1": Decimal("1.67"), "m-2": Decimal("0.66"), UNTRACED: Decimal("0.67")}
    assert allocate_by_share(Decimal("10.00"), {"m-1": Decimal("0"), "m-2": Decimal("0")},
                             {"m-1": Fraction(1, 2), "m-2": Fraction(1, 2)}, Decimal("0.01"))[0] == Decimal("0.00")


def test_payments_settle_the_oldest_obligations_first_and_only_a_decided_policy_makes_a_debt():
    share = Decimal("0.02")
    account = Account("m-1", "EUR", owed=[("2026-01-10T09:00:00+01:00", Decimal("5.00"), "s1", "p", "pol", share),
                                          ("2026-03-10T09:00:00+01:00", Decimal("4.00"), "s2", "p", "pol", share),
                                          ("2026-03-20T09:00:00+01:00", Decimal("2.00"), "s3", "p", None, share)],
                      paid=[("2026-02-01", Decimal("6.00"), "e", "pay", "cash", "r")])
    # s3 owes 2.00 under the default share alone: an estimate, never overdue
    assert overdue_lines(account, "2026-06-01") == [("2026-03-10T09:00:00+01:00", Decimal("3.00"), "s2")]
    assert overdue_lines(account, "2026-02-01") == []  # s2 is not old enough yet
