"""A miner paid a pittance, seen by a buyer through the API: the finding with its proof, the value chain's
stage that shows it, and the finding withdrawn when the cooperative corrects the price it recorded
(retracts its purchase and records the real one). On read models on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests import factories as f
from tests.e2e.test_authority_attacks import RING, Organisations, honest_story


def priced_purchase(price: str, after: dict) -> dict:
    """The cooperative buys lot-1 (0.85 fine) from miner m-1 at ``price`` USD a gram, just ``after`` an event."""
    return f.event("lot.transferred", {"lot_id": "lot-1", "from_id": "m-1", "to_id": "coop-mambasa", "mass_g": 40.0,
                                       "price_per_g": price, "currency": "USD"},
                   at=datetime.fromisoformat(after["occurred_at"]) + timedelta(seconds=30))


def miner_stage(chain, as_: str = "admin") -> dict:
    stages = chain.get(f"/v1/products/{RING}/value-chain", as_=as_).get_json()["stages"]
    [stage] = [stage for stage in stages if stage["from"] == "miner"]
    return stage


def test_a_pittance_is_a_finding_the_value_chain_shows_until_the_price_is_corrected(platform, client):
    chain = Organisations(platform, client)
    story = honest_story()
    production = next(i for i, event in enumerate(story) if event["data"].get("lot_id") == "lot-2")
    reference = f.event("market.price_recorded", {"date": f.BASE_TIME.date().isoformat(), "price_per_g_fine": "99.00",
                                                  "currency": "USD"}, recorded_by="admin", at=f.BASE_TIME)
    pittance = priced_purchase("4.25", story[production])  # 5.00 a gram of fine gold: 5 % of the reference
    chain.record([reference] + story[:production + 1] + [pittance] + story[production + 1:])
    platform.catch_up()

    [finding] = chain.get("/v1/findings?kind=price_below_reference&status=open").get_json()["findings"]
    assert finding["subject_id"] == "coop-mambasa" and finding["lots"] == ["lot-1"]
    assert pittance["event_id"] in finding["proof"] and reference["event_id"] in finding["proof"]
    assert finding["detail"]["price_per_g_fine"] == "5.00"
    assert miner_stage(chain)["below_reference_floor"] == 1  # an admin key sees a stage of one seller
    assert miner_stage(chain, "atelier")["below_reference_floor"] is None  # suppressed, as the price, under 5 sellers

    chain.record([f.event("event.retracted", {"event_id": pittance["event_id"], "reason": "typed 4.25 for 84.25"}),
                  priced_purchase("84.25", story[production])])
    platform.catch_up()
    # a retraction rebuilds the read models from the log, where the retracted purchase never counted
    assert chain.get("/v1/findings?kind=price_below_reference&status=open").get_json()["total"] == 0
    assert miner_stage(chain)["below_reference_floor"] == 0
