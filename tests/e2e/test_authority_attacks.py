"""Attacks with ordinary keys: each organisation records only for itself, with a key of a role allowed to
record the event type; each attack now changes nothing of the honest record and leaves a finding.

Runs through the API on the SQLite log with read models on SQLite and on PostgreSQL; one story runs
end to end on Kafka with PostgreSQL too (``test_on_kafka_*``).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from composition.bootstrap import build_platform
from tests import factories as f
from tests.conftest import bearer

RING = "LUMEN-RING-0005"
GTIN, SERIAL = "03760123450010", "000005"
ROLES = {"coop-mambasa": "cooperative", "refiner-x": "refiner", "atelier": "manufacturer",
         "coop-other": "cooperative", "maker-other": "manufacturer", "shop-x": "retailer",
         "ngo-watch": "ngo", "audit-co": "auditor"}
COUNTRIES = {"coop-mambasa": "CD", "coop-other": "CD", "refiner-x": "CH"}
BACK_THEN = datetime(2020, 1, 1, tzinfo=timezone.utc)


def honest_story() -> list[dict]:
    """From the Mabanga pit to a ring of Atelier Lumen, each step recorded by the organisation that did it."""
    orgs = [f.organisation(org, role, COUNTRIES.get(org, "FR"),
                           **({"gs1_company_prefixes": ["376012345"]} if org == "atelier" else {}))
            for org, role in ROLES.items()]
    site = f.event("site.registered", {"site_id": "site-mabanga", "name": "Mabanga", "country": "CD", "region": "Ituri",
                                       "mineral": "gold"})
    return [
        *orgs, site, f.pit("pit-a", "site-mabanga"), f.miner("m-1", "site-mabanga", photo_id_sha256="a1" * 32),
        f.miner("m-2", "site-mabanga", gender="male", photo_id_sha256="b2" * 32),
        f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}, recorded_by="ngo-watch"),
        f.production("lot-1", "pit-a", 40.0, 0.85, miners=("m-1",)),
        f.production("lot-2", "pit-a", 60.0, 0.88, miners=("m-2",)),
        f.merge("coop-1", {"lot-1": 40.0, "lot-2": 60.0}),
        f.event("lot.exported", {"lot_id": "coop-1", "export_permit": "CEEC-2026-7", "destination_country": "CH",
                                 "royalties_paid": "305.00", "currency": "USD"}),
        f.hand_over("coop-1", "coop-mambasa", "refiner-x", 100.0),
        f.refine({"coop-1": 100.0}, {"bar-1": (86.0, 0.9999)}),
        f.hand_over("bar-1", "refiner-x", "atelier", 86.0),
        f.event("product.manufactured", {"product_id": RING, "gtin": GTIN, "serial": SERIAL,
                                         "description": "Ituri gold ring, 18 ct", "inputs": [{"lot_id": "bar-1", "mass_g": 3.0}],
                                         "mass_g": 4.0, "fineness": 0.75}, recorded_by="atelier"),
        f.event("product.sold", {"product_id": RING, "price": "450.00", "currency": "EUR"}, recorded_by="atelier"),
    ]


def fake_site() -> dict:
    """A second cooperative registers the ring's site as a street in Zurich."""
    return f.event("site.registered", {"site_id": "site-mabanga", "name": "Bahnhofstrasse", "country": "CH",
                                       "region": "Zurich", "mineral": "gold"}, recorded_by="coop-other")


def fake_ring() -> dict:
    """Another maker records the ring's making, back-dated to 2020, from its own brass."""
    return f.event("product.manufactured", {
        "product_id": RING, "description": "Brass ring, gold-plated", "inputs": [{"lot_id": "brass-1", "mass_g": 3.0}],
        "mass_g": 4.0, "fineness": 0.375}, recorded_by="maker-other", at=BACK_THEN)


def fake_label() -> dict:
    """Another maker records a piece of its own with the ring's GTIN and serial, back-dated to 2020."""
    return f.event("product.manufactured", {
        "product_id": "FAKE-RING-1", "gtin": GTIN, "serial": SERIAL, "description": "Brass ring, gold-plated",
        "inputs": [{"lot_id": "brass-2", "mass_g": 3.0}], "mass_g": 4.0, "fineness": 0.375},
        recorded_by="maker-other", at=BACK_THEN)


def fake_sale() -> dict:
    """A retailer that never held the ring sells it for 999,999 EUR."""
    return f.event("product.sold", {"product_id": RING, "price": "999999.00", "currency": "EUR"}, recorded_by="shop-x")


def armed_group_flag(flag_id: str = "flag-armed-1", subject: str = "coop-mambasa") -> dict:
    """An NGO reports an armed group taxing the cooperative's gold (high severity: the ring turns red)."""
    return f.event("risk.flagged", {"flag_id": flag_id, "subject_id": subject, "category": "armed_group",
                                    "severity": "high", "description": "Armed group levies at the Mabanga pits."},
                   recorded_by="ngo-watch")


def resolved(flag_id: str, by: str, resolution: str = "unfounded", **kw) -> dict:
    return f.event("risk.resolved", {"flag_id": flag_id, "resolution": resolution, "note": f"closed by {by}"},
                   recorded_by=by, **kw)


class Organisations:
    """One API key per organisation, of its own role; each posts only what it records itself."""

    def __init__(self, platform, client):
        self.client = client
        self.keys = {"admin": platform.keys.create("oretrail-admin", "admin")}
        self.keys.update({org: platform.keys.create(org, role) for org, role in ROLES.items()})

    def record(self, events: list[dict]) -> None:
        runs: list[list[dict]] = []
        for event in events:  # consecutive events of one organisation go in one batch, with its key
            if runs and runs[-1][0]["recorded_by"] == event["recorded_by"]:
                runs[-1].append(event)
            else:
                runs.append([event])
        for run in runs:
            response = self.client.post("/v1/events", json={"events": run}, headers=bearer(self.keys[run[0]["recorded_by"]]))
            assert response.status_code == 200, response.get_data(as_text=True)

    def get(self, path: str, as_: str = "admin"):
        response = self.client.get(path, headers=bearer(self.keys[as_]))
        return response


@pytest.fixture
def chain(platform, client):
    organisations = Organisations(platform, client)
    organisations.record(honest_story())
    platform.catch_up()
    return organisations


def open_findings(chain, kind: str, subject: str) -> list[dict]:
    body = chain.get(f"/v1/findings?status=open&kind={kind}&subject={subject}").get_json()
    return body["items"] if "items" in body else body["findings"]


def snapshot(chain) -> dict:
    """What a buyer, a consumer and the miners' cooperative see of the ring."""
    provenance = chain.get(f"/v1/products/{RING}/provenance").get_json()
    return {
        "product": provenance["product"],
        "origin": provenance["origin"],
        "lineage": provenance["lineage"],
        "timeline": [event["event_id"] for event in provenance["timeline"]],
        "payouts": chain.get("/v1/payouts?cooperative_id=coop-mambasa").get_json(),
        "link": chain.client.get(f"/01/{GTIN}/21/{SERIAL}").headers.get("Location"),
    }


def test_the_honest_story_is_clear(chain):
    before = snapshot(chain)
    assert before["product"]["manufactured_by"] == "atelier" and before["origin"][0]["country"] == "CD"
    assert before["link"].endswith(f"/p/{RING}")
    found = chain.get("/v1/findings?status=open").get_json()
    assert found["total"] == 0, found
    assert chain.get(f"/v1/products/{RING}/due-diligence").get_json()["status"] == "clear"


@pytest.mark.parametrize("attack, kind, subject", [
    (fake_site, "conflicting_claim", "site-mabanga"),
    (fake_ring, "conflicting_claim", RING),
    (fake_label, "gtin_not_owned", "FAKE-RING-1"),
    (fake_sale, "not_holder", RING),
], ids=["site_moved_to_zurich", "ring_made_again_in_2020", "gtin_and_serial_taken", "sale_by_a_shop_that_never_held_it"])
def test_an_attack_changes_nothing_and_leaves_a_finding(chain, platform, attack, kind, subject):
    before = snapshot(chain)
    lie = attack()
    chain.record([lie])
    platform.catch_up()
    assert snapshot(chain) == before
    [finding] = open_findings(chain, kind, subject)
    assert lie["event_id"] in finding["proof"]


def test_a_moved_site_flags_the_ring_and_asks_for_attention_but_its_origin_stands(chain, platform):
    chain.record([fake_site()])
    platform.catch_up()
    provenance = chain.get(f"/v1/products/{RING}/provenance").get_json()
    assert [(o["name"], o["country"], o["region"]) for o in provenance["origin"]] == [("Mabanga", "CD", "Ituri")]
    assert "conflicting_claim" in {flag["kind"] for flag in provenance["flags"]}
    assert provenance["due_diligence"]["status"] == "attention"
    page = chain.client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Zurich" not in page and "Ituri" in page


def test_a_fake_sale_owes_the_miners_nothing_and_is_no_sale_of_the_ring(chain, platform):
    chain.record([fake_sale()])
    platform.catch_up()
    ledger = chain.get("/v1/payouts?cooperative_id=coop-mambasa").get_json()
    assert "999999" not in str(ledger)
    sales = chain.get(f"/v1/products/{RING}/provenance").get_json()["product"]["sales"]
    assert [sale["recorded_by"] for sale in sales] == ["atelier"]
    [finding] = open_findings(chain, "not_holder", RING)
    assert finding["detail"]["holder"] == "atelier" and finding["detail"]["recorded_by"] == "shop-x"


def test_a_seller_back_dating_a_second_hand_over_does_not_take_the_lot_from_its_buyer(chain, platform):
    """coop-mambasa handed coop-1 to refiner-x, who refined it into the ring's bar; later it records a
    hand-over of the same lot to coop-other dated a minute before the real one (a double sale). The
    buyer's record stands and the finding names the seller's second hand-over."""
    before = snapshot(chain)
    timeline = chain.get(f"/v1/products/{RING}/provenance").get_json()["timeline"]
    real = next(e for e in timeline if e["type"] == "lot.transferred" and e["data"]["lot_id"] == "coop-1")
    back_dated = datetime.fromisoformat(real["occurred_at"]) - timedelta(minutes=1)
    double_sale = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0, at=back_dated)
    chain.record([double_sale])
    platform.catch_up()
    assert snapshot(chain) | {"timeline": None} == before | {"timeline": None}
    [finding] = open_findings(chain, "not_holder", "coop-1")
    assert finding["proof"] == [double_sale["event_id"]]
    assert (finding["detail"]["recorded_by"], finding["detail"]["holder"]) == ("coop-mambasa", "refiner-x")


def test_a_seller_taking_back_a_lot_its_buyer_refined_by_retracting_the_hand_over_is_named(chain, platform):
    """The same double sale told another way: coop-mambasa retracts its hand-over of coop-1 (its own event,
    so the retraction counts) after refiner-x received and refined it, then hands coop-1 to coop-other.
    The log's correction stands (refiner-x's steps no longer count: ``not_holder``, and the ring loses its
    origin), but the dispute is never silent: a high finding names the retraction, the hand-over it took
    back and every step the receiver had recorded on the lot, and taints what coop-other makes of it."""
    timeline = chain.get(f"/v1/products/{RING}/provenance?include=timeline").get_json()["timeline"]
    real = next(e for e in timeline if e["type"] == "lot.transferred" and e["data"]["lot_id"] == "coop-1")
    by_refiner = sorted(e["event_id"] for e in timeline if e["recorded_by"] == "refiner-x" and "coop-1" in json.dumps(e["data"]))
    take_back = f.event("event.retracted", {"event_id": real["event_id"], "reason": "entered in error"},
                        recorded_by="coop-mambasa")
    resale = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0,
                         at=datetime.fromisoformat(real["occurred_at"]) + timedelta(minutes=1))
    chain.record([take_back])
    platform.catch_up()
    chain.record([resale])
    platform.catch_up()
    [finding] = open_findings(chain, "retracted_after_use", "coop-1")
    assert finding["severity"] == "high"
    assert finding["proof"][:2] == [real["event_id"], take_back["event_id"]] and sorted(finding["proof"][2:]) == by_refiner
    assert (finding["detail"]["retracted_by"], finding["detail"]["relying"]) == ("coop-mambasa", ["refiner-x"])
    named = chain.get("/v1/findings?status=open&organisation_id=coop-mambasa&kind=retracted_after_use").get_json()
    assert [x["finding_id"] for x in (named.get("items") or named["findings"])] == [finding["finding_id"]]


def test_a_hand_over_taken_back_before_the_receiver_acted_is_a_plain_correction(chain, platform):
    """A hand-over recorded by mistake and taken back before its receiver did anything with the lot raises
    nothing: that is what retractions are for."""
    slip = f.hand_over("coop-1", "coop-mambasa", "coop-other", 100.0)
    chain.record([slip])
    platform.catch_up()
    chain.record([f.event("event.retracted", {"event_id": slip["event_id"], "reason": "wrong buyer"},
                          recorded_by="coop-mambasa")])
    platform.catch_up()
    assert open_findings(chain, "retracted_after_use", "coop-1") == []


def _retraction(event: dict, by: str, reason: str = "entered in error") -> dict:
    return f.event("event.retracted", {"event_id": event["event_id"], "reason": reason}, recorded_by=by)


def _all_open(chain) -> list[dict]:
    body = chain.get("/v1/findings?status=open&limit=200").get_json()
    return body["items"] if "items" in body else body["findings"]


def test_a_hand_over_retracted_and_recorded_again_to_the_same_buyer_is_no_dispute(chain, platform):
    """The correction the README gives ("retract, then record again"): coop-mambasa typed the wrong grams on
    its hand-over of coop-1 to refiner-x after the refiner refined it, retracts it and records it again, same
    buyer, same time. Nobody disagrees on who held the lot (found by a review of the first rule)."""
    timeline = chain.get(f"/v1/products/{RING}/provenance?include=timeline").get_json()["timeline"]
    real = next(e for e in timeline if e["type"] == "lot.transferred" and e["data"]["lot_id"] == "coop-1")
    again = f.hand_over("coop-1", "coop-mambasa", "refiner-x", 100.0, at=datetime.fromisoformat(real["occurred_at"]))
    chain.record([_retraction(real, "coop-mambasa", "wrong grams"), again])
    platform.catch_up()
    assert open_findings(chain, "retracted_after_use", "coop-1") == []


def test_a_wrong_buyer_acting_after_the_retraction_cannot_raise_the_dispute(chain, platform):
    """coop-mambasa hands a new lot to coop-other by mistake and takes it back at once; coop-other then
    records a receipt dated after the hand-over: its own claim on a lot it never held (``not_holder``), not a
    step that relied on the hand-over (recorded after the retraction)."""
    produced = f.production("lot-9", "pit-a", 10.0, 0.85, miners=("m-1",))
    slip = f.hand_over("lot-9", "coop-mambasa", "coop-other", 10.0)
    chain.record([produced, slip])
    platform.catch_up()
    chain.record([_retraction(slip, "coop-mambasa", "wrong buyer")])
    platform.catch_up()
    chain.record([f.event("lot.received", {"lot_id": "lot-9", "mass_g": 10.0}, recorded_by="coop-other")])
    platform.catch_up()
    assert [x["kind"] for x in _all_open(chain) if x["subject_id"] == "lot-9"].count("not_holder") == 1
    assert open_findings(chain, "retracted_after_use", "lot-9") == []


def test_a_cooperative_correcting_the_price_of_its_own_purchase_is_no_dispute(platform, client):
    """The correction the README gives for ``price_below_reference``: retract the purchase, record the real
    one. The cooperative records its purchase from the miner (miners have no keys): it is the receiver, it
    cannot disagree with itself on who held the lot, though it merged the lot since."""
    story = honest_story()
    at = next(i for i, e in enumerate(story) if e["type"] == "lots.merged")
    when = datetime.fromisoformat(story[at]["occurred_at"]) - timedelta(seconds=30)

    def purchase(price: str) -> dict:
        return f.event("lot.transferred", {"lot_id": "lot-1", "from_id": "m-1", "to_id": "coop-mambasa", "mass_g": 40.0,
                                           "price_per_g": price, "currency": "USD"}, recorded_by="coop-mambasa", at=when)
    paid = purchase("10.00")
    chain = Organisations(platform, client)
    chain.record(story[:at] + [paid] + story[at:])
    platform.catch_up()
    chain.record([_retraction(paid, "coop-mambasa", "price typed wrong"), purchase("55.00")])
    platform.catch_up()
    assert open_findings(chain, "retracted_after_use", "lot-1") == []


def test_taking_back_refined_gold_by_retracting_the_merge_is_named(chain, platform):
    """The same double sale told with another retraction: coop-mambasa retracts its merge of lot-1 and
    lot-2 into coop-1 after refiner-x refined coop-1 into the ring's bar, then sells lot-1 and lot-2 again.
    The refiner's steps on coop-1 relied on that merge: the finding names it (found by a review)."""
    merge = next(e for e in chain.get(f"/v1/products/{RING}/provenance?include=timeline").get_json()["timeline"]
                 if e["type"] == "lots.merged")
    take_back = _retraction(merge, "coop-mambasa")
    chain.record([take_back])
    platform.catch_up()
    chain.record([f.hand_over("lot-1", "coop-mambasa", "coop-other", 40.0),
                  f.hand_over("lot-2", "coop-mambasa", "coop-other", 60.0)])
    platform.catch_up()
    [finding] = [x for x in _all_open(chain) if x["kind"] == "retracted_after_use"]
    assert finding["subject_id"] == merge["data"]["lot_id"] and finding["proof"][:2] == [merge["event_id"], take_back["event_id"]]
    assert finding["detail"]["relying"] == ["refiner-x"] and finding["detail"]["retracted_type"] == "lots.merged"


def test_a_receipt_by_a_shop_that_never_got_the_lot_changes_nothing_of_the_ring(chain, platform):
    """shop-x records receiving the ring's bar at 860 g; it never got it: not in the ring's story, no
    transit finding against the honest hand-over, a not_holder finding on the shop's claim."""
    before = snapshot(chain)
    lie = f.event("lot.received", {"lot_id": "bar-1", "mass_g": 860.0}, recorded_by="shop-x")
    chain.record([lie])
    platform.catch_up()
    assert snapshot(chain) == before
    assert chain.get("/v1/findings?status=open&kind=transit_discrepancy").get_json()["total"] == 0
    [finding] = open_findings(chain, "not_holder", "bar-1")
    assert finding["proof"] == [lie["event_id"]] and finding["detail"]["recorded_by"] == "shop-x"
    assert lie["event_id"] not in {r["event_id"] for r in chain.get("/v1/lots/bar-1").get_json()["receipts"]}
    page = chain.client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Shop-X" not in page and "shop-x" not in page.lower()


def _fineness(chain, lot_id: str) -> tuple[float, str]:
    [node] = [node for node in snapshot(chain)["lineage"]["nodes"] if node["id"] == lot_id]
    return node["fineness"], node["fineness_source"]


def test_an_assay_by_a_rival_refiner_does_not_rewrite_the_fineness_of_someone_elses_lot(chain, platform):
    """refiner-rival (a refiner: allowed lot.assayed) never held coop-1. It records an assay of 0.20,
    dated a few minutes ago, after every real step. Were it counted, refiner-x's honest refining would
    put out 86 g of fine gold from 20 g in: a red mass_gain finding blaming the honest refiner. It is
    refused: the lineage, the ring's story and its payouts stay as they were; not_holder on the rival."""
    chain.keys["refiner-rival"] = platform.keys.create("refiner-rival", "refiner")
    before = snapshot(chain)
    lie = f.assay("coop-1", 0.20, recorded_by="refiner-rival", at=datetime.now(timezone.utc) - timedelta(minutes=5))
    chain.record([lie])
    platform.catch_up()
    assert snapshot(chain) == before
    # no mass_gain on the honest refining: the ring asks for attention to the rival's claim only, as for
    # any refused step in its ancestry
    record = diligence(chain)
    assert record["status"] == "attention" and {r["kind"] for r in record["reasons"]} == {"not_holder"}, record["reasons"]
    assert chain.get("/v1/findings?status=open&kind=mass_gain").get_json()["total"] == 0
    [finding] = open_findings(chain, "not_holder", "coop-1")
    assert finding["proof"] == [lie["event_id"]]
    assert (finding["detail"]["recorded_by"], finding["detail"]["holder"]) == ("refiner-rival", "refiner-x")


def test_an_auditors_assay_of_a_lot_it_never_held_counts(chain, platform):
    """audit-co (an auditor's key) never held coop-1: its assay is an independent measurement and counts;
    so does the holder's own, recorded by an admin on its behalf; neither is a finding."""
    assert _fineness(chain, "coop-1") == (0.868, "derived")
    lab = f.assay("coop-1", 0.9, recorded_by="audit-co")
    chain.record([lab])
    platform.catch_up()
    assert _fineness(chain, "coop-1") == (0.9, "assay")
    assert lab["event_id"] in snapshot(chain)["timeline"]
    on_behalf = f.assay("coop-1", 0.91, recorded_by="refiner-x")  # later in field time: the latest counts
    response = chain.client.post("/v1/events", json={"events": [on_behalf]}, headers=bearer(chain.keys["admin"]))
    assert response.status_code == 200, response.get_json()
    platform.catch_up()
    assert _fineness(chain, "coop-1") == (0.91, "assay")
    assert chain.get("/v1/findings?status=open").get_json()["total"] == 0
    assert diligence(chain)["status"] == "clear"


def test_a_piece_passed_on_to_a_shop_is_the_shops_to_sell(chain, platform):
    chain.record([f.hand_over(RING, "atelier", "shop-x", 4.0),
                  f.event("product.sold", {"product_id": RING, "price": "520.00", "currency": "EUR"}, recorded_by="shop-x")])
    platform.catch_up()
    product = chain.get(f"/v1/products/{RING}/provenance").get_json()["product"]
    assert product["holder_id"] == "shop-x"
    assert [sale["recorded_by"] for sale in product["sales"]] == ["atelier", "shop-x"]
    assert chain.get("/v1/findings?status=open&kind=not_holder").get_json()["total"] == 0


def test_on_kafka_every_attack_changes_nothing_and_leaves_its_finding(kafka_settings):
    """End to end on a Kafka log (read models on the test's backend: SQLite and PostgreSQL)."""
    platform = build_platform(kafka_settings)
    try:
        chain = Organisations(platform, platform.create_app().test_client())
        chain.record(honest_story())
        platform.catch_up()
        before = snapshot(chain)
        chain.record([fake_site(), fake_ring(), fake_label(), fake_sale(), armed_group_flag(),
                      resolved("flag-armed-1", "coop-mambasa")])
        chain.record([armed_group_flag(subject="coop-other")])  # a reuse racing the first flag's projection
        platform.catch_up()
        [risk] = diligence(chain)["risks"]
        assert risk["subject_id"] == "coop-mambasa" and risk["status"] == "open" and risk["conflicting_raisings"]
        assert {k: v for k, v in snapshot(chain).items()} == before
        assert diligence(chain)["status"] == "red"
        for kind, subject in (("conflicting_claim", "site-mabanga"), ("conflicting_claim", RING),
                              ("gtin_not_owned", "FAKE-RING-1"), ("not_holder", RING),
                              ("self_resolution", "coop-mambasa"), ("conflicting_claim", "coop-mambasa")):
            assert open_findings(chain, kind, subject), (kind, subject)
    finally:
        platform.close()


def diligence(chain) -> dict:
    return chain.get(f"/v1/products/{RING}/due-diligence").get_json()


def test_a_flagged_cooperative_cannot_clear_its_own_red_flag(chain, platform):
    chain.record([armed_group_flag()])
    platform.catch_up()
    assert diligence(chain)["status"] == "red"
    self_resolution = resolved("flag-armed-1", "coop-mambasa")
    chain.record([self_resolution])
    platform.catch_up()
    record = diligence(chain)
    assert record["status"] == "red"
    [risk] = record["risks"]
    assert risk["status"] == "open" and risk["resolution"] is None
    assert [(r["event_id"], r["reason"]) for r in risk["refused_resolutions"]] == [(self_resolution["event_id"], "self_resolution")]
    [finding] = open_findings(chain, "self_resolution", "coop-mambasa")
    assert self_resolution["event_id"] in finding["proof"] and finding["severity"] == "high"
    assert finding["finding_id"] in {f["finding_id"] for f in record["findings"]}
    # the page behind the QR code says the risk is open
    page = chain.client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "armed" in page.lower() and "No red flag is open" not in page


def test_another_cooperative_cannot_resolve_a_flag_but_an_auditor_can(chain, platform):
    chain.record([armed_group_flag(), resolved("flag-armed-1", "coop-other")])
    platform.catch_up()
    assert diligence(chain)["status"] == "red"
    assert open_findings(chain, "unauthorised_resolution", "coop-mambasa")
    chain.record([resolved("flag-armed-1", "audit-co", resolution="mitigated")])
    platform.catch_up()
    [risk] = diligence(chain)["risks"]
    assert risk["status"] == "resolved" and risk["resolution"]["recorded_by"] == "audit-co"


def test_a_flag_id_already_used_answers_409_and_records_nothing(chain, platform):
    chain.record([armed_group_flag()])
    platform.catch_up()
    before = platform.log.end()
    reuse = armed_group_flag(subject="coop-other")
    response = chain.client.post("/v1/events", json={"events": [reuse]}, headers=bearer(chain.keys["ngo-watch"]))
    assert response.status_code == 409
    assert list(response.get_json()["error"]["details"]) == ["events.0.data.flag_id"]
    assert platform.log.end() == before
    twice = [armed_group_flag("flag-new"), armed_group_flag("flag-new", subject="coop-other")]
    response = chain.client.post("/v1/events", json={"events": twice}, headers=bearer(chain.keys["ngo-watch"]))
    assert response.status_code == 409 and list(response.get_json()["error"]["details"]) == ["events.1.data.flag_id"]
    assert platform.log.end() == before


def test_a_flag_reused_on_another_subject_in_a_race_erases_nothing(chain, platform):
    """Capture checks reuse against the read model; a reuse appended before the first raising was
    projected (two API processes, a lagging projector) is recorded, counts for nothing and is a finding."""
    first, reuse = armed_group_flag(), armed_group_flag(subject="coop-other")
    chain.record([first])
    chain.record([reuse])  # the projectors have not caught up: capture cannot know yet
    platform.catch_up()
    [risk] = diligence(chain)["risks"]
    assert risk["subject_id"] == "coop-mambasa" and risk["status"] == "open"
    assert risk["conflicting_raisings"] == [reuse["event_id"]]
    assert diligence(chain)["status"] == "red"
    [finding] = open_findings(chain, "conflicting_claim", "coop-mambasa")
    assert finding["proof"] == [first["event_id"], reuse["event_id"]]


def test_a_resolution_at_the_flags_own_instant_resolves_it_whatever_the_event_ids(chain, platform):
    moment = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    flag = armed_group_flag()
    flag.update(event_id="ffffffff-ffff-4fff-bfff-ffffffffffff", occurred_at=moment.isoformat())
    resolution = resolved("flag-armed-1", "ngo-watch", resolution="mitigated", at=moment,
                          event_id="00000000-0000-4000-8000-000000000000")
    chain.record([flag, resolution])
    platform.catch_up()
    [risk] = diligence(chain)["risks"]
    assert risk["status"] == "resolved" and risk["resolution"]["event_id"] == resolution["event_id"]
