"""Capacity findings over a busy month: the proof is the month's first facts up to the one that takes the
total over, however many, whatever the arrival order and batch size (the prefix is read page by page)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from consumers.checks import tables as t
from consumers.checks.sourcing_store import SourcingStore
from consumers.checks.store import refused_events
from tests import factories as f
from tests.checks_harness import open_findings, open_signature, project_checks
from tests.databases import fresh_postgres_database, postgres_server_url

#: grams a month the pit can give; every lot weighs one gram, so the proof holds 81 lots (more than a page)
CAPACITY_G = 80.0
LOTS = 150
#: the stories' month: every event is dated in it (the factories' own clock moves with every event the
#: test session made before, and would carry a story into another month)
MARCH = datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))


def in_march(event: dict, minutes: int) -> dict:
    """``event``, dated ``minutes`` into the stories' month."""
    return {**event, "occurred_at": (MARCH + timedelta(minutes=minutes)).isoformat()}


def busy_month(miner_id: str = "m-1") -> tuple[list[dict], dict, list[dict], list[dict]]:
    """A cooperative buys 150 one-gram lots in March from a pit that can give 80 g a month, all dug by one miner."""
    pit = in_march(f.pit("pit-a", "site-a", capacity=CAPACITY_G), 3)
    registry = [in_march(f.organisation("coop-mambasa", "cooperative", "CD"), 1), in_march(f.site("site-a"), 2), pit,
                in_march(f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}), 4),
                in_march(f.miner(miner_id, "site-a", photo_id_sha256="a1" * 32), 5)]
    productions, purchases = [], []
    for number in range(LOTS):
        productions.append(in_march(f.production(f"lot-{number}", "pit-a", 1.0, 0.85, miners=(miner_id,)), 10 + 2 * number))
        purchases.append(in_march(f.transfer(f"lot-{number}", miner_id, "coop-mambasa", 1.0), 11 + 2 * number))
    return registry + [event for pair in zip(productions, purchases) for event in pair], pit, productions, purchases


def _finding(engine, kind: str, subject: str) -> dict:
    [finding] = [x for x in open_findings(engine) if x["kind"] == kind and x["subject_id"] == subject]
    return finding


def test_a_busy_months_proofs_hold_its_first_facts_up_to_the_one_over(read_models):
    events, pit, productions, purchases = busy_month()
    engine = project_checks(events, engine=read_models)
    first = int(CAPACITY_G) + 1  # the total before each of the first 81 is at most 80 g
    assert _finding(engine, "over_capacity", "pit-a")["proof"] == [pit["event_id"]] + [e["event_id"] for e in productions[:first]]
    assert _finding(engine, "over_capacity", "m-1")["proof"] == [pit["event_id"]] + [e["event_id"] for e in productions[:first]]
    assert _finding(engine, "cooperative_over_capacity", "coop-mambasa")["proof"] == (
        [pit["event_id"]] + [e["event_id"] for e in purchases[:first]])


@pytest.mark.parametrize("batch", [1000, 7])
def test_a_miner_bearing_the_pits_id_does_not_hide_the_pits_finding(read_models, batch):
    """Ids are chosen by whoever registers: a miner registered as "pit-a" and over capacity in the pit's
    month has a finding of its own beside the pit's (they shared a finding id: the last scope recomputed
    replaced the other's, in either order)."""
    events, pit, productions, _purchases = busy_month(miner_id="pit-a")
    shuffled = list(events)
    random.Random(batch).shuffle(shuffled)
    engine = project_checks(shuffled, batch=batch, engine=read_models)
    found = [x for x in open_findings(engine) if x["kind"] == "over_capacity" and x["subject_id"] == "pit-a"]
    assert sorted(x["message"].split()[0] for x in found) == ["Miner", "Pit"]
    assert len({x["finding_id"] for x in found}) == 2
    proof = [pit["event_id"]] + [e["event_id"] for e in productions[:int(CAPACITY_G) + 1]]
    assert [x["proof"] for x in found] == [proof, proof]


def test_the_proofs_do_not_depend_on_arrival_order_or_batch_size(read_models):
    events = busy_month()[0]
    in_order = open_signature(project_checks(events, batch=1000))
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    assert open_signature(project_checks(shuffled, batch=7, engine=read_models)) == in_order


def test_month_totals_kept_as_written_are_the_sums_of_the_productions(read_models):
    """``chk_pit_months`` and ``chk_miner_months`` equal what summing ``chk_productions`` gives, whatever
    the order, the batches and the duplicates delivered (a miner named twice on a lot is credited once)."""
    events = busy_month()[0] + [in_march(f.production("lot-team", "pit-a", 2.5, miners=("m-1", "m-2", "m-1")), 400),
                                f.production("lot-april", "pit-a", 3.0, at=MARCH.replace(month=4))]
    delivered = events + events[::3]  # a third of them delivered twice
    random.Random(11).shuffle(delivered)
    engine = project_checks(delivered, batch=13, engine=read_models)
    p, pm = t.productions.c, t.production_miners.c
    with engine.connect() as tx:
        pits = {tuple(row) for row in tx.execute(select(t.pit_months))}
        summed = {tuple(row) for row in tx.execute(
            select(p.pit_id, p.month, func.sum(p.mass_mg), func.count()).group_by(p.pit_id, p.month))}
        miners = {tuple(row) for row in tx.execute(select(t.miner_months))}
        credited = {tuple(row) for row in tx.execute(
            select(pm.miner_id, pm.month, p.pit_id, func.sum(p.mass_mg), func.count())
            .join(t.productions, p.event_id == pm.event_id).group_by(pm.miner_id, pm.month, p.pit_id))}
    assert pits == summed == {("pit-a", "2026-03", LOTS * 1000 + 2500, LOTS + 1), ("pit-a", "2026-04", 3000, 1)}
    assert miners == credited
    assert ("m-1", "2026-03", "pit-a", LOTS * 1000 + 2500, LOTS + 1) in miners


def window_purchases(tx, buyer: str, month: str, pits: set[str], limit_g: float) -> list[tuple]:
    """The proof as one window sum over the whole month (the way it was read before): the oracle."""
    x, p = t.transfers.c, t.productions.c
    running = func.sum(x.mass_mg).over(order_by=(x.sort_key, x.event_id))
    inner = (select(x.event_id, p.pit_id, x.mass_mg.label("mg"), x.sort_key, running.label("running"))
             .join(t.productions, p.lot_id == x.lot_id)
             .where(x.to_id == buyer, x.month == month, p.pit_id.in_(pits),
                    x.event_id.not_in(refused_events()), p.event_id.not_in(refused_events()))).subquery()
    return [(row.event_id, row.pit_id) for row in tx.execute(
        select(inner).where(inner.c.running - inner.c.mg <= limit_g * 1000).order_by(inner.c.sort_key, inner.c.pit_id))]


@pytest.mark.parametrize("limit_g", [0.0, 7.0, 63.0, 64.0, 100.5, 10_000.0])
def test_a_purchase_proof_counts_a_lot_made_twice_once_per_production_across_pages(read_models, limit_g):
    """A lot two counted productions made (two pits) is bought once: both rows of that purchase stand at
    one instant, in the same page or across two, as the window sum has them."""
    registry = [in_march(f.organisation("coop-mambasa", "cooperative", "CD"), 1), in_march(f.site("site-a"), 2),
                in_march(f.pit("pit-a", "site-a", capacity=1.0), 3), in_march(f.pit("pit-b", "site-a", capacity=1.0), 4),
                in_march(f.miner("m-1", "site-a", photo_id_sha256="a1" * 32), 5)]
    events = list(registry)
    for number in range(90):
        events.append(in_march(f.production(f"lot-{number}", "pit-a", 1.0, miners=("m-1",)), 10 + 3 * number))
        if number % 2:  # the same organisation records it again at the other pit: both count
            events.append(in_march(f.production(f"lot-{number}", "pit-b", 1.0, miners=("m-1",)), 11 + 3 * number))
        events.append(in_march(f.transfer(f"lot-{number}", "m-1", "coop-mambasa", 1.0), 12 + 3 * number))
    engine = project_checks(events, batch=50, engine=read_models)
    with engine.connect() as tx:
        store = SourcingStore(tx)
        paged = [(purchase.event_id, purchase.pit_id) for purchase in
                 store.purchase_prefix("coop-mambasa", "2026-03", {"pit-a", "pit-b"}, limit_g)]
        oracle = window_purchases(tx, "coop-mambasa", "2026-03", {"pit-a", "pit-b"}, limit_g)
    # the same purchases in the same order (the two rows of one purchase in either order)
    assert [event_id for event_id, _pit in paged] == [event_id for event_id, _pit in oracle]
    assert sorted(paged) == sorted(oracle)
    assert len({event_id for event_id, _pit in paged}) < len(paged) or limit_g < 2


def test_half_milligrams_round_alike_on_every_backend():
    """40.0625 g is 40,062.5 mg exactly: rounded once, in Python, both backends sum the same purchases."""
    def story() -> list[dict]:
        events = [f.organisation("coop-mambasa", "cooperative", "CD"), f.site("site-a"),
                  f.pit("pit-a", "site-a", capacity=80.0), f.miner("m-1", "site-a", photo_id_sha256="a1" * 32)]
        for number, grams in enumerate((40.0625, 60.0625)):
            events += [f.production(f"lot-{number}", "pit-a", grams, miners=("m-1",)),
                       f.transfer(f"lot-{number}", "m-1", "coop-mambasa", grams)]
        return events

    events = story()
    on_sqlite = project_checks(events)
    with fresh_postgres_database(postgres_server_url()) as url:
        engine = create_engine(url, poolclass=NullPool)
        try:
            on_postgresql = project_checks(events, engine=engine)
            assert open_signature(on_postgresql) == open_signature(on_sqlite)
        finally:
            engine.dispose()
    [coop] = [x for x in open_findings(on_sqlite) if x["kind"] == "cooperative_over_capacity"]
    assert coop["detail"]["purchased_g"] == 100.124  # 40,062 + 60,062 mg: halves to even, as Python rounds


def test_a_kept_proof_gives_way_to_a_production_that_happened_before_its_end(read_models):
    """Batches after the first keep the stored proof; a late report of an earlier production makes it
    read again: the same findings as the whole month at once."""
    events, pit, productions, purchases = busy_month()
    early = in_march(f.production("lot-early", "pit-a", 5.0, miners=("m-1",)), 8)
    batches = project_checks(events + [early], batch=len(events), engine=read_models)  # the early one alone, last
    assert open_signature(batches) == open_signature(project_checks([early] + events, batch=10_000))
    assert _finding(batches, "over_capacity", "pit-a")["proof"][:2] == [pit["event_id"], early["event_id"]]
    assert len(_finding(batches, "over_capacity", "pit-a")["proof"]) == 1 + 1 + 76  # 5 g, then 76 x 1 g


def test_a_kept_proof_gives_way_to_a_new_capacity(read_models):
    """A capacity stated in a batch with no production of the month changes the limit: read again."""
    events, pit, productions, purchases = busy_month()
    restated = in_march(f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "capacity_g_per_month": 120.0}),
                        20 * 24 * 60)  # later in March: in force for the month
    batches = project_checks(events + [restated], batch=len(events), engine=read_models)  # the statement alone, last
    assert open_signature(batches) == open_signature(project_checks([restated] + events, batch=10_000))
    proof = _finding(batches, "over_capacity", "pit-a")["proof"]
    assert proof[0] == restated["event_id"] and proof[1:] == [e["event_id"] for e in productions[:121]]
