"""Order tolerance of the impact read model, payouts included: a piece sold before it is recorded as
made, gold produced after it was merged, an assay after the sale: any interleaving of streams that
keeps each stream's own order gives the same tables and the same ledger."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from consumers.impact.ledger import PayoutsView
from consumers.impact.projector import ImpactProjector
from tests import factories as f
from tests.impact_orders import StoryStreams
from tests.readmodel import dump_tables


def story() -> list[dict]:
    """Two sites, six miners, lots merged, assayed and refined with recycled gold into two sold pieces."""
    events = [f.organisation("coop-mambasa"), f.site("site-a"), f.site("site-b"),
              f.pit("pit-a", "site-a"), f.pit("pit-b", "site-b")]
    for number in range(6):
        events.append(f.miner(f"m-{number}", "site-a" if number < 3 else "site-b",
                              gender="female" if number % 2 else "male"))
    for number in range(4):
        team = (f"m-{number}", f"m-{number + 2}") if number % 2 else (f"m-{number}",)
        events.append(f.production(f"lot-{number}", "pit-a" if number < 2 else "pit-b", 10.0 + number,
                                   0.85 + number / 100, miners=team))
        events.append(f.event("lot.transferred", {"lot_id": f"lot-{number}", "from_id": team[0],
                                                  "to_id": "coop-mambasa", "mass_g": 10.0 + number,
                                                  "price_per_g": "70.00", "currency": "USD"}))
    events += [
        f.merge("coop-1", {f"lot-{i}": 10.0 + i for i in range(4)}),
        f.assay("coop-1", 0.87),
        f.split("coop-1", {"coop-1a": 30.0, "coop-1b": 16.0}),
        f.hand_over("coop-1a", "coop-mambasa", "refiner-x", 30.0),
        f.hand_over("scrap-1", "recycler", "refiner-x", 20.0),
        f.refine({"coop-1a": 30.0, "scrap-1": 20.0}, {"bar-1": (20.0, 0.9999), "bar-2": (20.0, 0.9999)}),
        f.hand_over("bar-1", "refiner-x", "atelier", 20.0),
        f.hand_over("bar-2", "refiner-x", "atelier", 20.0),
        f.hand_over("coop-1b", "coop-mambasa", "atelier", 16.0),
        f.manufacture("ring-1", {"bar-1": 3.0}, mass_g=4.0),
        f.manufacture("pendant-1", {"bar-2": 1.5, "coop-1b": 1.0}, mass_g=3.0),
        f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}, recorded_by="atelier"),
        f.event("product.sold", {"product_id": "pendant-1", "price": "333.33", "currency": "EUR"}, recorded_by="atelier"),
        # attacks, recorded last by the server's clock: a sale by a shop that never held the ring, a fake
        # ring back-dated to 2020, a miner re-registered by another cooperative
        f.event("product.sold", {"product_id": "ring-1", "price": "999999.00", "currency": "EUR"}, recorded_by="shop-x"),
        f.manufacture("ring-1", {"scrap-9": 3.0}, mass_g=4.0, fineness=0.375, recorded_by="coop-other",
                      at=datetime(2020, 1, 1, tzinfo=timezone.utc)),
        f.event("miner.registered", {"miner_id": "m-0", "cooperative_id": "coop-other", "site_id": "site-b",
                                     "gender": "male", "birth_year": 1970, "work_role": "trader"},
                recorded_by="coop-other"),
        # and an assay of a lot of the pendant by a rival refiner that never held it
        RIVAL_ASSAY,
        f.event("vsla.registered", {"group_id": "vsla-1", "site_id": "site-a", "members_female": 20,
                                    "members_male": 6, "committee_female": 4, "committee_male": 1}),
        f.event("vsla.reported", {"group_id": "vsla-1", "period": "2026-03", "savings": "112.00", "loans": "40.00",
                                  "currency": "USD", "solidarity_assists": 1}),
        f.event("leadership.recorded", {"person_id": "p-1", "gender": "female", "position": "team lead",
                                        "organisation_id": "coop-mambasa", "site_id": "site-a"}),
    ]
    return events


#: a rival refiner assays a lot of the pendant, which it never held, at 0.20: refused, it changes no share
RIVAL_ASSAY = f.assay("coop-1b", 0.20, recorded_by="refiner-rival", at=f.BASE_TIME + timedelta(days=1))
CHAIN = story()
STORY = StoryStreams(CHAIN, "2026-03-02")
project = STORY.project_impact


def ledger(engine):
    return PayoutsView(engine, Decimal("0.01")).ledger("coop-mambasa")


REFERENCE = project(CHAIN)
REFERENCE_TABLES = dump_tables(REFERENCE, ImpactProjector().metadata, frozenset({"position"}))
REFERENCE_LEDGER = ledger(REFERENCE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(STORY.labels))
def test_any_interleaving_of_streams_gives_the_same_impact_tables_and_ledger(interleaving):
    engine = project(STORY.interleaved(interleaving))
    assert dump_tables(engine, ImpactProjector().metadata, frozenset({"position"})) == REFERENCE_TABLES
    assert ledger(engine) == REFERENCE_LEDGER


def test_the_rival_assay_changes_no_payout():
    assert ledger(project([event for event in CHAIN if event is not RIVAL_ASSAY])) == REFERENCE_LEDGER


def test_a_sale_recorded_before_the_piece_was_made_converges_once_it_is():
    sold_first = [e for e in CHAIN if e["type"] == "product.sold"] + [e for e in CHAIN if e["type"] != "product.sold"]
    assert ledger(project(sold_first)) == REFERENCE_LEDGER


def test_the_reference_ledger_adds_up_and_pays_the_miners_of_the_lots_in_each_piece():
    sales = {sale["product_id"]: sale for sale in REFERENCE_LEDGER["sales"]}
    assert len(REFERENCE_LEDGER["sales"]) == 2  # the shop's sale of a ring it never held is no sale
    assert sales["ring-1"]["payout"] == "4.50" and sales["pendant-1"]["payout"] == "3.33"
    for sale in sales.values():
        assert Decimal(sale["to_cooperative"]) + Decimal(sale["untraced"]) + Decimal(sale["to_others"]) == \
            Decimal(sale["payout"])
    assert Decimal(sales["ring-1"]["untraced"]) > 0  # the recycled gold in the bar is owed to nobody
    # lots 0 to 3 were produced by m-0; m-1 and m-3; m-2; m-3 and m-5 (m-4 produced nothing)
    assert {entry["miner_id"] for entry in REFERENCE_LEDGER["by_miner"]} == {"m-0", "m-1", "m-2", "m-3", "m-5"}
