"""Order tolerance of payout policies and payments: whatever order the streams reach the projector in,
a sale owes what the policy in force when the server recorded it says, never a later policy."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from consumers.impact.ledger import PayoutsView
from consumers.impact.payout_findings import PayoutFindings
from consumers.impact.projector import ImpactProjector
from tests import factories as f
from tests.impact_story import at
from tests.payout_story import payment, policy
from tests.impact_orders import StoryStreams
from tests.readmodel import dump_tables


def story() -> list[dict]:
    """Three miners' lots made into a ring and a pendant, sold under the policies decided before each sale."""
    events = [f.organisation("coop-mambasa"), f.site("site-a"), f.pit("pit-a", "site-a"),
              policy("all-1", "0.02", effective_from="2026-01-01")]
    for number in range(3):
        events.append(f.miner(f"m-{number}", "site-a"))
        events.append(f.production(f"lot-{number}", "pit-a", 10.0, 0.9, miners=(f"m-{number}",)))
    events += [
        f.merge("coop-1", {f"lot-{n}": 10.0 for n in range(3)}),
        f.hand_over("coop-1", "coop-mambasa", "atelier", 30.0),
        f.manufacture("ring-1", {"coop-1": 6.0}, mass_g=8.0),
        f.event("product.sold", {"product_id": "ring-1", "price": "1000.00", "currency": "EUR"},
                recorded_by="atelier", at=at("2026-04-02")),
        # decided after the ring's sale, dated back before it: only the pendant's sale falls under it
        policy("coop-1", "0.05", applies_to="coop-mambasa", effective_from="2026-03-01"),
        f.event("product.manufactured", {"product_id": "pendant-1", "inputs": [{"lot_id": "coop-1", "mass_g": 3.0}],
                                         "mass_g": 4.0, "fineness": 0.75}, recorded_by="atelier"),
        f.event("product.sold", {"product_id": "pendant-1", "price": "600.00", "currency": "EUR"},
                recorded_by="atelier", at=at("2026-05-02")),
        payment("p-0", "m-0", "6.67"), payment("p-1", "m-1", "20.00"),
        payment("p-x", "m-2", "5.00", recorded_by="coop-other"),
    ]
    return events


CHAIN = story()
STORY = StoryStreams(CHAIN, "2026-06-01")
project = STORY.project_impact


def answers(engine):
    view = PayoutsView(engine, Decimal("0.01"))
    findings = PayoutFindings(view, 90, lambda: date(2026, 9, 1)).all()
    return view.ledger("coop-mambasa"), findings


REFERENCE = project(CHAIN)
REFERENCE_TABLES = dump_tables(REFERENCE, ImpactProjector().metadata, frozenset({"position"}))
REFERENCE_ANSWERS = answers(REFERENCE)


def test_each_sale_owes_the_policy_in_force_when_it_was_recorded():
    ledger, findings = REFERENCE_ANSWERS
    sales = {sale["product_id"]: sale for sale in ledger["sales"]}
    assert (sales["ring-1"]["policy_id"], sales["ring-1"]["payout"]) == ("all-1", "20.00")
    assert (sales["pendant-1"]["policy_id"], sales["pendant-1"]["payout"]) == ("coop-1", "30.00")
    owed = {row["miner_id"]: (row["amount_due"], row["amount_paid"], row["outstanding"]) for row in ledger["by_miner"]}
    assert owed == {"m-0": ("16.67", "6.67", "10.00"), "m-1": ("16.67", "20.00", "-3.33"),
                    "m-2": ("16.66", "0.00", "16.66")}
    kinds = sorted((finding["kind"], finding["subject_id"]) for finding in findings)
    assert kinds == [("payout_overdue", "coop-mambasa"), ("payout_overpaid", "m-1"), ("payout_unauthorised", "m-2")]
    [overdue] = [finding for finding in findings if finding["kind"] == "payout_overdue"]
    # m-0's payment settles the ring first (the oldest); m-1 is paid more than owed; m-2's pay went to another
    assert (overdue["detail"]["amount_overdue"], overdue["detail"]["miner_ids"]) == ("26.66", ["m-0", "m-2"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(STORY.labels))
def test_any_interleaving_of_streams_gives_the_same_obligations_payments_and_findings(interleaving):
    engine = project(STORY.interleaved(interleaving))
    assert dump_tables(engine, ImpactProjector().metadata, frozenset({"position"})) == REFERENCE_TABLES
    assert answers(engine) == REFERENCE_ANSWERS
