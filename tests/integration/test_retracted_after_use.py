"""``retracted_after_use`` through the real runner (retractions sorted, undo, rebuild), in the arrival orders
and batches the test chooses: the disputes it must name, and the corrections it must leave alone (found by
two reviews of the rule)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests import factories as f
from tests.e2e.test_authority_attacks import honest_story
from tests.runner_harness import open_of_kind, run_checks, times_in_order


def retraction(event: dict, by: str, event_id: str | None = None) -> dict:
    return f.event("event.retracted", {"event_id": event["event_id"], "reason": "entered in error"}, recorded_by=by,
                   event_id=event_id)


def retried_retraction_story():
    """coop-mambasa hands coop-1 to refiner-x by mistake and retracts it at once (R1); the refiner, unaware,
    receives and refines coop-1 after it (its own not_holder); coop-mambasa's client retries the retraction
    (R2: a new id, sorting before R1's)."""
    events = [e for e in honest_story() if e["type"] not in ("lot.refined", "product.manufactured", "product.sold")
              and not (e["type"] == "lot.transferred" and e["data"]["lot_id"] == "bar-1")]
    slip = next(e for e in events if e["type"] == "lot.transferred" and e["data"]["lot_id"] == "coop-1")
    first = retraction(slip, "coop-mambasa", "ffffffff-0000-4000-8000-000000000001")
    after = [f.event("lot.received", {"lot_id": "coop-1", "mass_g": 100.0}, recorded_by="refiner-x"),
             f.refine({"coop-1": 100.0}, {"bar-1": (86.0, 0.9999)})]
    retried = retraction(slip, "coop-mambasa", "00000000-0000-4000-8000-000000000002")
    return events, first, after, retried


def test_a_retried_retraction_is_judged_by_the_first_whatever_the_batches_and_rebuilds(tmp_path):
    """The retraction that counts is the first its author recorded (the runner keeps the lowest id it knows):
    steps recorded between the two never relied on the hand-over."""
    events, first, after, retried = retried_retraction_story()
    times = times_in_order(events + [first] + after + [retried])
    staged, runner = run_checks([events, [first], after, [retried]], times, tmp_path / "staged.db")
    assert open_of_kind(staged, "retracted_after_use") == []
    runner.rebuild()
    assert open_of_kind(staged, "retracted_after_use") == []
    at_once, _ = run_checks([events + [first] + after + [retried]], times, tmp_path / "at_once.db")
    assert open_of_kind(at_once, "retracted_after_use") == []


@pytest.mark.parametrize("batch", [500, 1])
def test_a_merge_taken_back_and_made_again_from_other_gold_after_the_refiner_refined_it_is_named(tmp_path, batch):
    """coop-mambasa retracts its merge of lot-1 and lot-2 into coop-1 after refiner-x refined coop-1, makes
    coop-1 again from lot-3 and sells lot-1 and lot-2 to coop-other: the refined gold is sold twice and the
    refiner's bar changes its mine. Made again, but not from the same lots: named."""
    story = honest_story()
    merge = next(e for e in story if e["type"] == "lots.merged")
    at = story.index(merge)
    when = datetime.fromisoformat(merge["occurred_at"])
    lot_3 = f.production("lot-3", "pit-a", 100.0, 0.85, miners=("m-1",), at=when - timedelta(minutes=5))
    before = story[:at] + [lot_3] + story[at:]
    later = [retraction(merge, "coop-mambasa"), f.merge("coop-1", {"lot-3": 100.0}, at=when),
             f.hand_over("lot-1", "coop-mambasa", "coop-other", 40.0),
             f.hand_over("lot-2", "coop-mambasa", "coop-other", 60.0)]
    engine, _ = run_checks([before, later], times_in_order(before + later), tmp_path / "swap.db", batch=batch)
    [finding] = open_of_kind(engine, "retracted_after_use")
    assert finding[2] == "coop-1" and finding[5][:1] == (merge["event_id"],)


def test_a_merge_corrected_and_made_again_from_the_same_lots_is_no_dispute(tmp_path):
    """The same merge retracted and recorded again from lot-1 and lot-2 (its grams corrected): a correction."""
    story = honest_story()
    merge = next(e for e in story if e["type"] == "lots.merged")
    again = f.merge("coop-1", {lot["lot_id"]: lot["mass_g"] for lot in merge["data"]["inputs"]},
                    at=datetime.fromisoformat(merge["occurred_at"]))
    later = [retraction(merge, "coop-mambasa"), again]
    engine, _ = run_checks([story, later], times_in_order(story + later), tmp_path / "same.db")
    assert open_of_kind(engine, "retracted_after_use") == []


def test_retracting_a_hand_over_that_never_counted_is_no_dispute(tmp_path):
    """coop-mambasa had handed coop-1 to refiner-x; by mistake it records a later hand-over of coop-1 to
    coop-other (refused: not its holder any more), which coop-other receives (refused too), then retracts the
    mistake. The receipt counted neither before nor after: nobody was left without a holder."""
    story = honest_story()
    wrong = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0)
    received = f.event("lot.received", {"lot_id": "coop-1", "mass_g": 100.0}, recorded_by="coop-other")
    before = story + [wrong, received]
    later = [retraction(wrong, "coop-mambasa")]
    engine, _ = run_checks([before, later], times_in_order(before + later), tmp_path / "void.db")
    assert open_of_kind(engine, "retracted_after_use") == []


@pytest.mark.parametrize("batch", [500, 3, 1])
def test_a_hand_over_taken_back_after_the_refining_is_named_in_any_batches(tmp_path, batch):
    """The dispute itself, met at once or in small batches (the retraction then reaches a read model that
    applied the hand-over: it is rebuilt)."""
    story = honest_story()
    real = next(e for e in story if e["type"] == "lot.transferred" and e["data"]["lot_id"] == "coop-1")
    take_back = retraction(real, "coop-mambasa")
    resale = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0,
                         at=datetime.fromisoformat(real["occurred_at"]) + timedelta(minutes=1))
    times = times_in_order(story + [take_back, resale])
    staged, _ = run_checks([story, [take_back], [resale]], times, tmp_path / "staged.db", batch=batch)
    at_once, _ = run_checks([story + [take_back, resale]], times, tmp_path / "at_once.db", batch=batch)
    [finding] = open_of_kind(staged, "retracted_after_use")
    assert finding[2] == "coop-1" and finding[5][:2] == (real["event_id"], take_back["event_id"])
    assert open_of_kind(at_once, "retracted_after_use") == [finding]


def test_retracting_a_stray_second_making_of_a_lot_whose_first_making_stands_is_no_dispute(tmp_path):
    """coop-mambasa merges lot-3 into a new lot but types the id of coop-1 (merged earlier, handed to refiner-x
    and refined), notices and retracts the stray merge: coop-1's making that counts (the earliest) never
    changed, nothing the refiner did relied on the stray one (found by a third review)."""
    story = honest_story()
    merge = next(e for e in story if e["type"] == "lots.merged")
    lot_3 = f.production("lot-3", "pit-a", 50.0, 0.85, miners=("m-1",))
    stray = f.merge("coop-1", {"lot-3": 50.0})  # meant "coop-2"
    assert stray["occurred_at"] > merge["occurred_at"]
    before = story + [lot_3, stray]
    later = [retraction(stray, "coop-mambasa"), f.merge("coop-2", {"lot-3": 50.0})]
    engine, _ = run_checks([before, later], times_in_order(before + later), tmp_path / "stray.db")
    assert open_of_kind(engine, "retracted_after_use") == []


@pytest.mark.parametrize("first_to_retract", ["coop-mambasa", "coop-other"])
def test_two_retractions_along_a_chain_cannot_each_find_the_other_never_counted(tmp_path, first_to_retract):
    """coop-mambasa hands coop-1 to coop-other, which hands it on to refiner-x; the refiner receives and refines
    it; then both givers retract their hand-overs, in either order. Each is judged on the record as it stood just
    before it (the other hand-over still standing if retracted later): the refiner's steps relied on the chain."""
    story = [e for e in honest_story() if e["type"] not in ("lot.refined", "product.manufactured", "product.sold")
             and not (e["type"] == "lot.transferred" and e["data"]["lot_id"] in ("coop-1", "bar-1"))]
    first = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0)
    second = f.hand_over("coop-1", "coop-other", "refiner-x", 100.0)
    relied = [f.event("lot.received", {"lot_id": "coop-1", "mass_g": 100.0}, recorded_by="refiner-x"),
              f.refine({"coop-1": 100.0}, {"bar-1": (86.0, 0.9999)})]
    before = story + [first, second, *relied]
    takes = {"coop-mambasa": retraction(first, "coop-mambasa"), "coop-other": retraction(second, "coop-other")}
    order = [takes[first_to_retract], *(take for by, take in takes.items() if by != first_to_retract)]
    engine, _ = run_checks([before, order], times_in_order(before + order), tmp_path / "chain.db")
    [finding] = open_of_kind(engine, "retracted_after_use")
    assert finding[2] == "coop-1" and finding[5][1] == takes[first_to_retract]["event_id"]


def test_a_production_taken_back_and_recorded_again_at_another_pit_after_the_refining_is_named(tmp_path):
    """A production is made from its pit: recorded again at another pit (another site's) after the refiner
    refined the lot, the bar changes its mine, as with a merge made again from other gold (found by a third
    review); recorded again at the same pit, it is a correction."""
    story = [e for e in honest_story() if e["type"] not in ("lots.merged", "lot.exported", "lot.transferred",
                                                           "lot.refined", "product.manufactured", "product.sold")]
    other_site = [f.event("site.registered", {"site_id": "site-b", "name": "B", "country": "CD", "region": "Ituri",
                                              "mineral": "gold"}), f.pit("pit-b", "site-b")]
    production = f.production("lot-9", "pit-a", 50.0, 0.85, miners=("m-1",))
    used = [f.hand_over("lot-9", "coop-mambasa", "refiner-x", 50.0), f.refine({"lot-9": 50.0}, {"bar-9": (42.0, 0.9999)})]
    before = story + other_site + [production, *used]
    taken_back = retraction(production, "coop-mambasa")
    at = datetime.fromisoformat(production["occurred_at"])
    for pit, named in (("pit-b", ["lot-9"]), ("pit-a", [])):
        later = [taken_back, f.production("lot-9", pit, 50.0, 0.85, miners=("m-1",), at=at)]
        engine, _ = run_checks([before, later], times_in_order(before + later), tmp_path / f"{pit}.db")
        assert [row[2] for row in open_of_kind(engine, "retracted_after_use")] == named, pit
