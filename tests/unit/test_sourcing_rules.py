"""The sourcing rules as pure functions: facts in, findings out, no database."""
from __future__ import annotations

from decimal import Decimal

from consumers.checks import miners, pits, trade
from consumers.checks.facts import Capacity, Creation, Inspection, Miner, Pit, Production, Purchase, Stamp, Transfer
from consumers.impact.value_chain import ReferencePrices


def key(day: str, event_id: str) -> str:
    return f"{day}T08:00:00.000000Z|{event_id}"


PRODUCTION = Production("prod", key("2026-03-02", "prod"), "lot-1", "pit-a", 40.0, "2026-03", ("m-1",))
PIT = Pit("pit-a", "site-a", "pit-reg")


def miner(**changes) -> Miner:
    return Miner(**{"miner_id": "m-1", "cooperative_id": "coop", "site_id": "site-a", "birth_year": 1990,
                    "photo_id": True, "event_id": "m-reg", **changes})


def test_a_miner_certainly_under_18_is_a_child_and_one_who_may_be_18_is_not():
    [found] = miners.child_labour(PRODUCTION, {"m-1": miner(birth_year=2009)})  # 17 at most that year
    assert found.detail == {"year": int(PRODUCTION.month[:4]), "under_age": 18} and "2009" not in found.message
    assert miners.child_labour(PRODUCTION, {"m-1": miner(birth_year=2008)}) == []
    assert miners.child_labour(PRODUCTION, {}) == []  # unregistered: unknown_actor's business


def test_an_inspection_within_the_window_either_side_vouches_for_the_production():
    before = Inspection("old", key("2025-03-01", "old"), "pit-a", "active")
    assert [f.proof for f in pits.stale_inspection(PRODUCTION, PIT, [before], 365)] == [("old", "prod")]
    after = Inspection("late", key("2026-09-01", "late"), "pit-a", "active")
    assert pits.stale_inspection(PRODUCTION, PIT, [before, after], 365) == []
    assert pits.stale_inspection(PRODUCTION, None, [], 365) == []  # an unregistered pit is unknown_actor's


def test_the_head_count_in_force_is_the_latest_that_counted_by_that_month():
    counted = [Inspection("a", key("2026-01-05", "a"), "pit-a", "active", "2026-01", 4),
               Inspection("b", key("2026-02-05", "b"), "pit-a", "active", "2026-02", None),
               Inspection("c", key("2026-04-05", "c"), "pit-a", "active", "2026-04", 9)]
    assert pits.observed_in("2026-03", counted).event_id == "a"
    assert pits.observed_in("2025-12", counted).event_id == "a"  # none by then: the earliest
    five = [(f"m-{n}", f"p-{n}") for n in range(5)]
    assert pits.workers_mismatch("pit-a", "2026-03", five[:4], counted[0], 0.2) == []  # 4 <= 4.8
    [finding] = pits.workers_mismatch("pit-a", "2026-03", five, counted[0], 0.2)
    assert finding.detail["miners"] == 5 and finding.links == ("pitmonth:2026-03:pit-a",)


def test_a_purchase_is_judged_per_gram_of_fine_gold_against_the_reference_of_its_day():
    prices = ReferencePrices([("2026-03-01", key("2026-03-01", "ref"), "100.00", "USD")])
    events = {("USD", "2026-03-01"): "ref"}
    paid = Transfer("buy", key("2026-03-02", "buy"), "lot-1", "m-1", "coop", 40.0, "60.00", "USD", "2026-03-02")
    # 60 a gram of 0.9 gold is 66.67 a gram of fine gold: 67 % of the reference
    assert trade.price_below_reference(paid, (0.9, "assay"), prices, events, Decimal("0.6")) == []
    [finding] = trade.price_below_reference(paid, (0.9, "assay"), prices, events, Decimal("0.7"))
    assert finding.proof == ("buy", "assay", "ref") and finding.detail["price_per_g_fine"] == "66.67"
    assert trade.price_below_reference(paid, None, prices, events, Decimal("0.8")) == []  # fineness unknown
    earlier = Transfer("buy0", key("2026-02-02", "buy0"), "lot-1", "m-1", "coop", 40.0, "1.00", "USD", "2026-02-02")
    assert trade.price_below_reference(earlier, (0.9, "assay"), prices, events, Decimal("0.8")) == []  # no reference yet


def test_a_cooperative_over_capacity_leaves_pits_of_unknown_capacity_out():
    statements = {"pit-a": [Capacity("cap", key("2026-01-01", "cap"), "2026-01", "pit-a", 50.0)]}
    prefix = lambda pits_, limit: [Purchase("b1", "k1", "lot-1", "coop", "2026-03", 45.0, "pit-a"),  # noqa: E731
                                   Purchase("b2", "k2", "lot-2", "coop", "2026-03", 45.0, "pit-a")]
    assert trade.cooperative_over_capacity("coop", "2026-03", {"pit-a": (45.0, 1), "pit-x": (500.0, 9)},
                                           statements, prefix) == []
    [finding] = trade.cooperative_over_capacity("coop", "2026-03", {"pit-a": (90.0, 2), "pit-x": (500.0, 9)},
                                                statements, prefix)
    assert finding.proof == ("cap", "b1", "b2") and finding.detail["purchased_g"] == 90.0


def test_a_foreign_cooperative_is_only_a_registered_cooperative_other_than_the_miners():
    creation = Creation("prod", "production.recorded", key("2026-03-02", "prod"), "coop", "lot-1", 40.0, 0.85, ("m-1",))
    sale = Transfer("buy", key("2026-03-03", "buy"), "lot-1", "m-1", "coop-b", 40.0)
    roles = {"coop": "cooperative", "coop-b": "cooperative", "exporter": "exporter"}
    assert miners.foreign_cooperative(creation, (sale,), {"m-1": miner()}, roles)[0].proof == ("m-reg", "prod", "buy")
    to_exporter = Transfer("buy", key("2026-03-03", "buy"), "lot-1", "m-1", "exporter", 40.0)
    assert miners.foreign_cooperative(creation, (to_exporter,), {"m-1": miner()}, roles) == []


def test_a_production_recorded_by_an_exporter_for_another_cooperatives_miner_is_foreign():
    """An exporter may record production too: naming a member of a cooperative it is not, it launders gold
    of unknown origin as that member's (no purchase to judge: the exporter holds the lot from the start)."""
    roles = {"coop": "cooperative", "exporter": "exporter"}
    by_exporter = Creation("prod", "production.recorded", key("2026-03-02", "prod"), "exporter", "lot-1", 250.0, 0.85, ("m-1",))
    [finding] = miners.foreign_cooperative(by_exporter, (), {"m-1": miner()}, roles)
    assert finding.proof == ("m-reg", "prod") and "recorded by exporter" in finding.message
    assert finding.detail["recorded_by"] == "exporter"
    by_own = Creation("prod", "production.recorded", key("2026-03-02", "prod"), "coop", "lot-1", 250.0, 0.85, ("m-1",))
    assert miners.foreign_cooperative(by_own, (), {"m-1": miner()}, roles) == []
    by_unregistered = Creation("prod", "production.recorded", key("2026-03-02", "prod"), "x", "lot-1", 1.0, 0.85, ("m-1",))
    assert miners.foreign_cooperative(by_unregistered, (), {"m-1": miner()}, roles) == []  # judged once registered


def test_an_export_with_royalties_on_any_of_its_records_is_enough():
    bare = Stamp("exp", "lot.exported", "k1")
    assert [f.proof for f in trade.royalties_unrecorded("lot-1", [bare])] == [("exp",)]
    assert trade.royalties_unrecorded("lot-1", [bare, Stamp("exp2", "lot.exported", "k2", True)]) == []
    assert trade.royalties_unrecorded("lot-1", [Stamp("assay", "lot.assayed", "k0")]) == []
