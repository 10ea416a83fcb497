"""Sourcing stories for the checks: the honest chain with one sourcing problem in it (a child at work, a
miner paid a pittance, ...), the ids of the events that prove it, and the later events that resolve it.

Each ``problem_*`` function returns ``(story, kind, proof, resolution)``: the story tells the problem,
``proof`` are the events the finding must name, ``resolution`` the events recorded afterwards that
withdraw it (a registration with the photo ID, an inspection, a corrected price, ...).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from tests import custody_stories as stories
from tests import factories as f
from tests.custody_stories import Story

DAY = f.BASE_TIME.date().isoformat()


def later(story: Story, days: float) -> dict:
    """``at=``: a field time ``days`` after the last step of ``story`` (factories date events by a counter)."""
    return {"at": max(datetime.fromisoformat(event["occurred_at"]) for event in story.events) + timedelta(days=days)}


def registered_again(story: Story, miner_id: str, site_id: str, days: float, **fields) -> dict:
    """The cooperative registers a miner again ``days`` after the productions (the registration that now counts)."""
    data = {"miner_id": miner_id, "cooperative_id": "coop-mambasa", "site_id": site_id, "gender": "female",
            "birth_year": 1990, "work_role": "digger", **fields}
    return f.event("miner.registered", data, **later(story, days))


def problem_child_labour() -> tuple[Story, str, list[str], list[dict]]:
    """Miner m-1 is registered born in 2014 and produces lot-1 in 2026; the cooperative corrects the birth year."""
    s = stories.honest_chain()
    s.replace("m1", f.miner("m-1", "site-a", photo_id_sha256="a1" * 32, birth_year=2014))
    correction = registered_again(s, "m-1", "site-a", 1, photo_id_sha256="a1" * 32, birth_year=1994)
    return s, "child_labour_suspected", [s.id("m1"), s.id("prod1")], [correction]


def problem_price_below_reference() -> tuple[Story, str, list[str], list[dict]]:
    """The cooperative pays m-1 USD 4.25 a gram of 0.85 gold (5 a fine gram) on a day the reference is 99;
    the operator corrects the day's reference price (it had been entered wrong: 6.00)."""
    s = stories.honest_chain()
    s.add("fix", f.event("market.price_recorded", {"date": DAY, "price_per_g_fine": "99.00", "currency": "USD"},
                         recorded_by="admin", at=f.BASE_TIME - timedelta(hours=1)))
    s.replace("buy1", f.event("lot.transferred", {"lot_id": "lot-1", "from_id": "m-1", "to_id": "coop-mambasa",
                                                  "mass_g": 40.0, "price_per_g": "4.25", "currency": "USD"}))
    corrected = f.event("market.price_recorded", {"date": DAY, "price_per_g_fine": "6.00", "currency": "USD"},
                        recorded_by="admin", **later(s, 1))
    return s, "price_below_reference", [s.id("buy1"), s.id("prod1"), s.id("fix")], [corrected]


def problem_foreign_cooperative() -> tuple[Story, str, list[str], list[dict]]:
    """Miner m-1 is a member of coop-kivu, yet coop-mambasa records and buys their gold; m-1 then registers
    with coop-mambasa."""
    s = stories.honest_chain()
    s.add("kivu", f.organisation("coop-kivu", "cooperative", "CD"))
    s.replace("m1", f.event("miner.registered", {"miner_id": "m-1", "cooperative_id": "coop-kivu", "site_id": "site-a",
                                                 "gender": "female", "birth_year": 1990, "work_role": "digger",
                                                 "photo_id_sha256": "a1" * 32}))
    joined = registered_again(s, "m-1", "site-a", 1, photo_id_sha256="a1" * 32)
    return s, "foreign_cooperative", [s.id("m1"), s.id("prod1"), s.id("buy1")], [joined]


def problem_pit_outside_site() -> tuple[Story, str, list[str], list[dict]]:
    """Miner m-1 is registered at site-b and named in production at pit-a of site-a; re-registered at site-a."""
    s = stories.honest_chain()
    s.add("site_b", f.site("site-b"))
    s.replace("m1", f.miner("m-1", "site-b", photo_id_sha256="a1" * 32))
    moved = registered_again(s, "m-1", "site-a", 1, photo_id_sha256="a1" * 32)
    return s, "pit_outside_site", [s.id("m1"), s.id("pit"), s.id("prod1")], [moved]


def problem_unverified_miner() -> tuple[Story, str, list[str], list[dict]]:
    """Miner m-1 is registered without a photo ID; a new registration carries it."""
    s = stories.honest_chain()
    s.replace("m1", f.miner("m-1", "site-a"))
    verified = registered_again(s, "m-1", "site-a", 1, photo_id_sha256="a1" * 32)
    return s, "unverified_miner", [s.id("m1"), s.id("prod1")], [verified]


def problem_capacity_unknown() -> tuple[Story, str, list[str], list[dict]]:
    """Pit-a is registered with no capacity; an inspection states it."""
    s = stories.honest_chain(capacity=None)
    stated = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "capacity_g_per_month": 300.0}, **later(s, 2))
    return s, "capacity_unknown", [s.id("pit"), s.id("prod1")], [stated]


def problem_stale_inspection() -> tuple[Story, str, list[str], list[dict]]:
    """Pit-a was last inspected 400 days before it produced; an inspector visits a week later."""
    s = stories.honest_chain()
    s.replace("inspection", f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}))
    s["inspection"]["occurred_at"] = (f.BASE_TIME - timedelta(days=400)).isoformat()
    visit = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}, **later(s, 7))
    return s, "stale_inspection", [s.id("inspection"), s.id("prod1")], [visit]


def problem_workers_mismatch() -> tuple[Story, str, list[str], list[dict]]:
    """The inspection saw one person working pit-a; two miners produce there that month. A recount sees two."""
    s = stories.honest_chain()
    s.replace("inspection", f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "workers_observed": 1}))
    recount = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "workers_observed": 2}, **later(s, 1 / 24))
    return s, "workers_mismatch", [s.id("inspection"), s.id("prod1"), s.id("prod2")], [recount]


def problem_cooperative_over_capacity() -> tuple[Story, str, list[str], list[dict]]:
    """The cooperative buys 100 g in a month from a pit that can give 80; an inspection finds it can give 120."""
    s = stories.honest_chain(capacity=80.0)
    bigger = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "capacity_g_per_month": 120.0}, **later(s, 1 / 24))
    return s, "cooperative_over_capacity", [s.id("pit"), s.id("buy1"), s.id("buy2")], [bigger]


def problem_royalties_unrecorded() -> tuple[Story, str, list[str], list[dict]]:
    """The exporter exports coop-1 with no royalties; later it records that export again (same field time,
    while it still held the lot) with the royalties paid."""
    s = stories.honest_chain()
    s.replace("export", f.event("lot.exported", {"lot_id": "coop-1", "export_permit": "CEEC-2026-1",
                                                 "destination_country": "CH"}, recorded_by="exporter"))
    again = f.event("lot.exported", {"lot_id": "coop-1", "export_permit": "CEEC-2026-1", "destination_country": "CH",
                                     "royalties_paid": "304.70", "currency": "USD"}, recorded_by="exporter")
    again["occurred_at"] = s["export"]["occurred_at"]
    return s, "royalties_unrecorded", [s.id("export")], [again]


PROBLEMS = [problem_child_labour, problem_price_below_reference, problem_foreign_cooperative,
            problem_pit_outside_site, problem_unverified_miner, problem_capacity_unknown, problem_stale_inspection,
            problem_workers_mismatch, problem_cooperative_over_capacity, problem_royalties_unrecorded]
