"""The pure rules of the checks: facts in, findings out, no database."""
from __future__ import annotations

import pytest

from consumers.checks import balance, custody, pits
from consumers.checks.facts import (
    Capacity, Consumption, Creation, Inspection, LotFacts, Production, Receipt, RetractedStep, Side, Transfer,
    Transformation,
)
from consumers.diligence.record import status_of


def at(day: int, event_id: str) -> str:
    return f"2026-03-{day:02d}T08:00:00.000000Z|{event_id}"


BAR = Creation("e-refine", "lot.refined", at(1, "e-refine"), "refiner", "bar-1", 100.0, 0.9999)


def use(event_id: str, event_type: str, day: int, grams: float, by: str = "atelier") -> Consumption:
    return Consumption(event_id, event_type, at(day, event_id), by, "bar-1", grams)


def test_a_jeweller_may_cut_many_pieces_from_one_bar_within_its_grams():
    lot = LotFacts("bar-1", (BAR,), tuple(use(f"e-ring-{i}", "product.manufactured", 2 + i, 9.0) for i in range(10)))
    assert custody.double_use(lot, 0.005) == []


def test_a_lot_used_up_and_then_used_again_is_a_double_use():
    lot = LotFacts("bar-1", (BAR,), (use("e-merge", "lots.merged", 2, 95.0),
                                     use("e-ring", "product.manufactured", 3, 5.0)))
    [finding] = custody.double_use(lot, 0.005)
    assert finding.proof == ("e-merge", "e-ring") and finding.key == "reused"


def test_the_remainder_of_a_bar_may_be_merged_after_pieces_were_cut():
    lot = LotFacts("bar-1", (BAR,), (use("e-ring", "product.manufactured", 2, 5.0), use("e-merge", "lots.merged", 3, 95.0)))
    assert custody.double_use(lot, 0.005) == []


def test_consuming_more_grams_than_a_lot_holds_is_a_double_use_with_the_excess():
    lot = LotFacts("bar-1", (BAR,), (use("e-a", "product.manufactured", 2, 60.0), use("e-b", "product.manufactured", 3, 41.0)))
    [finding] = custody.double_use(lot, 0.005)
    assert finding.key == "overdrawn" and finding.detail["excess_g"] == pytest.approx(1.0)
    assert finding.proof == ("e-refine", "e-a", "e-b")


def test_a_receipt_is_compared_with_the_transfer_to_its_receiver():
    transfers = (Transfer("t1", at(2, "t1"), "lot", "coop", "exporter", 100.0),
                 Transfer("t2", at(4, "t2"), "lot", "exporter", "refiner", 99.0))
    receipts = (Receipt("r1", at(3, "r1"), "lot", 99.8, "exporter"), Receipt("r2", at(5, "r2"), "lot", 97.0, "refiner"))
    [finding] = custody.transit_discrepancy(LotFacts("lot", transfers=transfers, receipts=receipts), 0.005)
    assert finding.proof == ("t2", "r2") and finding.severity == "medium"
    assert finding.detail["difference_g"] == pytest.approx(-2.0)


def test_a_transfer_by_someone_who_no_longer_holds_the_lot_breaks_custody():
    creation = Creation("p", "production.recorded", at(1, "p"), "coop", "lot", 10.0, 0.9, ("m-1",))
    transfers = (Transfer("t1", at(2, "t1"), "lot", "m-1", "coop", 10.0),
                 Transfer("t2", at(3, "t2"), "lot", "m-1", "trader", 10.0))  # sold twice by the miner
    [finding] = custody.custody_break(LotFacts("lot", (creation,), transfers=transfers))
    assert finding.proof == ("t1", "t2")


def test_a_step_retracted_after_others_relied_on_it_is_a_dispute_and_before_it_a_correction():
    acted = RetractedStep("t1", "lot.transferred", "r1", at(2, "t1"), "lot-1", "coop", (("e-refine", "refiner"),))
    [finding] = custody.retracted_after_use(LotFacts("lot-1", retracted=(acted,)))
    assert (finding.kind, finding.subject_id, finding.severity) == ("retracted_after_use", "lot-1", "high")
    assert finding.proof == ("t1", "r1", "e-refine") and finding.detail["relying"] == ["refiner"]
    assert finding.detail["retracted_by"] == "coop" and "hand-over" in finding.message
    untouched = RetractedStep("t1", "lot.transferred", "r1", at(2, "t1"), "lot-1", "coop")
    assert custody.retracted_after_use(LotFacts("lot-1", retracted=(untouched,))) == []


def test_a_making_retracted_after_others_used_the_lot_is_a_dispute_unless_made_again_from_the_same_lots():
    merge = RetractedStep("m1", "lots.merged", "r1", at(2, "m1"), "bar-1", "coop", (("e-refine", "refiner"),))
    [finding] = custody.retracted_after_use(LotFacts("bar-1", retracted=(merge,)))
    assert finding.detail["retracted_type"] == "lots.merged" and finding.proof == ("m1", "r1", "e-refine")
    remade = RetractedStep("m1", "lots.merged", "r1", at(2, "m1"), "bar-1", "coop", (("e-refine", "refiner"),), True)
    made_again = LotFacts("bar-1", (Creation("m2", "lots.merged", at(2, "m2"), "coop", "bar-1", 100.0, None),),
                          retracted=(remade,))
    assert custody.retracted_after_use(made_again) == []


def test_a_lot_from_outside_the_chain_is_not_a_custody_break_on_its_first_transfer():
    transfers = (Transfer("t1", at(2, "t1"), "scrap", "recycler", "refiner", 60.0),)
    assert custody.custody_break(LotFacts("scrap", transfers=transfers)) == []


def test_refining_is_checked_on_fine_gold_and_manufacturing_may_add_alloy():
    refine = Transformation("e", "lot.refined", "refiner", (Side("a", 100.0, 0.87),), (Side("bar", 86.6, 0.9999),))
    result = balance.mass_balance(refine)
    assert result.basis == "fine_gold" and result.recovery == pytest.approx(86.6 * 0.9999 / 87)
    assert balance.mass_gain(refine, result, 0.005) == []
    ring = Transformation("r", "product.manufactured", "atelier", (Side("bar", 7.5, 0.9999),), (Side("ring", 10.0, 0.75),))
    assert balance.mass_gain(ring, balance.mass_balance(ring), 0.005) == []
    unknown = Transformation("r", "product.manufactured", "atelier", (Side("bar", 7.5, None),), (Side("ring", 10.0, 0.75),))
    bound = balance.mass_balance(unknown)  # 7.5 g of fine gold out of at most 7.5 g in: possible
    assert (bound.basis, bound.fine_in_g, bound.recovery) == ("fine_gold_bound", 7.5, 1.0)
    assert balance.mass_gain(unknown, bound, 0.005) == []
    unstated = Transformation("r", "product.manufactured", "atelier", (Side("bar", 7.5, None),), (Side("ring", 10.0, None),))
    assert balance.mass_balance(unstated).basis is None  # no fineness out: nothing to hold it to


def test_a_pinch_of_gold_of_unknown_fineness_does_not_leave_a_manufacturing_unchecked():
    """500 g of a 0.999 piece from 7.5 g of a bar and 0.01 g of scrap nobody recorded: whatever the scrap's
    fineness, at most 7.51 g of fine gold went in."""
    ring = Transformation("r", "product.manufactured", "atelier", (Side("bar", 7.5, 0.9999), Side("scrap", 0.01, None)),
                          (Side("ring", 500.0, 0.999),))
    [finding] = balance.mass_gain(ring, balance.mass_balance(ring), 0.005)
    assert finding.detail["basis"] == "fine_gold_bound" and finding.detail["input_g"] == pytest.approx(7.509, abs=1e-3)
    assert "at most 7.509 g in" in finding.message and finding.detail["gain_g"] == pytest.approx(492.0, abs=0.1)


def test_a_split_heavier_than_its_lot_is_a_mass_gain_on_gross_grams():
    split = Transformation("s", "lot.split", "coop", (Side("a", 120.0, None),),
                           (Side("a1", 60.0, None), Side("a2", 60.0, None)), input_lot_g=100.0)
    [finding] = balance.mass_gain(split, balance.mass_balance(split), 0.005)
    assert finding.detail["basis"] == "gross" and finding.detail["gain_g"] == pytest.approx(20.0)


def test_the_capacity_in_force_is_the_latest_stated_by_that_month():
    statements = [Capacity("c1", at(1, "c1"), "2026-01", "pit", 300.0), Capacity("c2", at(1, "c2"), "2026-03", "pit", 100.0)]
    assert pits.capacity_in("2026-02", statements).capacity_g == 300.0
    assert pits.capacity_in("2026-04", statements).capacity_g == 100.0
    assert pits.capacity_in("2025-12", statements).capacity_g == 300.0


def test_production_after_an_abandoned_verdict_but_not_before_it():
    inspections = [Inspection("i", at(10, "i"), "pit", "abandoned")]
    before = Production("p1", at(5, "p1"), "lot-1", "pit", 10.0, "2026-03")
    after = Production("p2", at(12, "p2"), "lot-2", "pit", 10.0, "2026-03")
    assert pits.inactive_pit(before, inspections) == []
    assert pits.inactive_pit(after, inspections)[0].proof == ("i", "p2")


def test_an_unregistered_miner_and_pit_of_one_name_are_two_findings():
    """Names are chosen by whoever records: a lot dug "by x at x", neither registered, is two unknown actors."""
    production = Production("p1", at(5, "p1"), "lot-1", "x", 10.0, "2026-03", ("x",))
    found = pits.unknown_producers(production, miner_registered=lambda _miner: False, pit_registered=False)
    assert sorted(finding.detail["role"] for finding in found) == ["miner", "pit"]
    assert len({finding.finding_id for finding in found}) == 2


def test_status_is_red_for_a_high_risk_or_a_red_kind_and_attention_for_the_rest():
    finding = {"finding_id": "f", "kind": "unknown_actor", "subject_id": "m", "severity": "medium",
               "status": "open", "message": "m"}
    risk = {"flag_id": "r", "category": "child_labour", "subject_id": "pit", "severity": "high", "status": "open",
            "description": "children"}
    assert status_of([], [])[0] == "clear"
    assert status_of([finding], [])[0] == "attention"
    assert status_of([{**finding, "kind": "custody_break"}], [])[0] == "red"
    assert status_of([finding], [risk])[0] == "red"
    assert status_of([finding], [{**risk, "status": "resolved"}])[0] == "attention"
    assert status_of([{**finding, "status": "withdrawn"}], [{**risk, "severity": "medium"}])[0] == "attention"
    audit = {"event_id": "a", "subject_id": "refiner", "auditor": "x", "result": "fail"}
    status, reasons = status_of([], [], [audit])
    assert status == "attention" and reasons[0]["kind"] == "audit_failed"
    assert status_of([], [], [audit, {**audit, "event_id": "b", "result": "pass"}])[0] == "clear"
