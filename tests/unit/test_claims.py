"""What the public page may claim, from a provenance: pure functions, no database."""
from __future__ import annotations

import json

from consumers.provenance.claims import MinerFact, build_story, miner_summary, people_count

ORGS = {
    "coop": {"name": "Coop Ituri", "role": "cooperative", "country": "CD"},
    "exporter": {"name": "Bunia Metals", "role": "exporter", "country": "CD"},
    "refiner": {"name": "Lucerne Gold", "role": "refiner", "country": "CH"},
    "atelier": {"name": "Atelier Lumen", "role": "manufacturer", "country": "FR"},
}


def ev(kind: str, by: str, data: dict, day: int, evidence=None) -> dict:
    """A timeline entry as the provenance view serves it."""
    event = {"event_id": f"e-{kind}-{day}-{json.dumps(data, sort_keys=True)[:20]}", "type": kind,
             "occurred_at": f"2026-03-{day:02d}T10:00:00+01:00", "recorded_by": by, "data": data,
             "recorded_at": f"2026-04-{day:02d}T10:00:00+00:00", "position": day, "hash": f"{day:064x}"}
    if evidence:
        event["evidence"] = evidence
    return event


def node(node_id: str, kind: str = "lot", created_by: str = "coop", source: str | None = "declared", **extra) -> dict:
    return {"id": node_id, "kind": kind, "recorded": True, "created_by": created_by, "fineness_source": source, **extra}


def provenance(timeline, nodes, edges, origin, basis="fine_gold", **sections) -> dict:
    return {
        "product": {"product_id": "ring-1", "description": "Ring", "gtin": "03760123450010", "serial": "1",
                    "mass_g": 10.0, "fineness": 0.75, "fine_g": 7.5, "manufactured_by": "atelier",
                    "manufactured_at": "2026-03-20T10:00:00+01:00", "holder_id": "atelier", "sales": []},
        "origin": origin, "origin_basis": basis,
        "lineage": {"nodes": nodes, "edges": [{"from": a, "to": b, "mass_g": m, "event_id": "x"} for a, b, m in edges]},
        "timeline": timeline, **sections,
    }


def site(site_id: str, share: float, region: str = "Ituri") -> dict:
    return {"site_id": site_id, "registered": True, "name": site_id.title(), "country": "CD", "region": region,
            "mineral": "gold", "share": share, "fine_g": None}


def clean_chain(**sections) -> dict:
    """Two pits' lots bought, merged and assayed by the cooperative, weighed by the exporter, refined, made."""
    timeline = [
        ev("production.recorded", "coop", {"lot_id": "lot-a", "pit_id": "pit-a", "miner_ids": ["m-1"], "mass_g": 10}, 1),
        ev("production.recorded", "coop", {"lot_id": "lot-b", "pit_id": "pit-b", "miner_ids": ["m-2"], "mass_g": 10}, 1),
        ev("lot.transferred", "coop", {"lot_id": "lot-a", "from_id": "m-1", "to_id": "coop", "mass_g": 10}, 2,
           evidence=[{"kind": "purchase_receipt", "sha256": "0" * 64}]),
        ev("lot.transferred", "coop", {"lot_id": "lot-b", "from_id": "m-2", "to_id": "coop", "mass_g": 10}, 2),
        ev("lots.merged", "coop", {"lot_id": "coop-1", "inputs": [{"lot_id": "lot-a", "mass_g": 10}, {"lot_id": "lot-b", "mass_g": 10}]}, 3),
        ev("lot.assayed", "coop", {"lot_id": "coop-1", "fineness": 0.88}, 4),
        ev("lot.transferred", "coop", {"lot_id": "coop-1", "from_id": "coop", "to_id": "exporter", "mass_g": 20}, 5),
        ev("lot.received", "exporter", {"lot_id": "coop-1", "mass_g": 20}, 6),
        ev("lot.transferred", "exporter", {"lot_id": "coop-1", "from_id": "exporter", "to_id": "refiner", "mass_g": 20}, 7),
        ev("lot.received", "refiner", {"lot_id": "coop-1", "mass_g": 20}, 8),
        ev("lot.refined", "refiner", {"inputs": [{"lot_id": "coop-1", "mass_g": 20}],
                                      "outputs": [{"lot_id": "bar-1", "mass_g": 17, "fineness": 0.999}]}, 9),
        ev("lot.transferred", "refiner", {"lot_id": "bar-1", "from_id": "refiner", "to_id": "atelier", "mass_g": 17}, 10),
        ev("lot.received", "atelier", {"lot_id": "bar-1", "mass_g": 17}, 11),
        ev("product.manufactured", "atelier", {"product_id": "ring-1", "inputs": [{"lot_id": "bar-1", "mass_g": 7.5}]}, 12),
        ev("product.manufactured", "atelier", {"product_id": "ring-2", "inputs": [{"lot_id": "bar-1", "mass_g": 7.5}]}, 13),
    ]
    nodes = [node("lot-a", pit_id="pit-a", site_id="site-a"), node("lot-b", pit_id="pit-b", site_id="site-b"),
             node("coop-1", source="assay"), node("refining/x", kind="refining", created_by="refiner", source=None),
             node("bar-1", created_by="refiner"), node("ring-1", kind="product", created_by="atelier")]
    edges = [("lot-a", "coop-1", 10), ("lot-b", "coop-1", 10), ("coop-1", "refining/x", 20),
             ("refining/x", "bar-1", 17), ("bar-1", "ring-1", 7.5)]
    return provenance(timeline, nodes, edges, [site("site-a", 0.5), site("site-b", 0.5)], **sections)


def miners(n_women: int, n_men: int, leads: tuple[str, ...] = ()) -> list[MinerFact]:
    facts = [MinerFact("lot-a", f"w-{i}", "female", "team_lead" if f"w-{i}" in leads else "digger") for i in range(n_women)]
    facts += [MinerFact("lot-b", f"m-{i}", "male", "team_lead" if f"m-{i}" in leads else "digger") for i in range(n_men)]
    return facts


def test_a_clean_chain_supports_the_strongest_claim_but_says_no_check_has_run():
    story = build_story(clean_chain(), ORGS, miners(6, 6))
    claim = story["claim"]
    assert claim == {"traced_share": 1.0, "sites": 2, "regions": ["Ituri"], "countries": ["CD"], "all_weighed": True,
                     "all_assayed": True, "no_gap": True, "flags": "unchecked", "open_flags": 0}
    assert [u["code"] for u in story["unknowns"]] == ["unchecked"]


def test_the_journey_groups_steps_in_order_and_skips_sibling_pieces():
    story = build_story(clean_chain(), ORGS, [])
    kinds = [stage["kind"] for stage in story["journey"]]
    assert kinds == ["mined", "bought", "merged", "assayed", "handed", "received", "handed", "received", "refined",
                     "handed", "received", "made"]
    bought = story["journey"][1]
    assert bought["actor"] == "Coop Ituri" and bought["count"] == 2 and bought["evidence"] == 1
    assert story["journey"][0]["sites"] == ["Site-A", "Site-B"]
    assert story["journey"][-1]["first"] == "2026-03-12"  # ring-2's making is not this piece's story


def test_a_hand_over_without_a_weighing_on_arrival_is_listed_as_unknown():
    chain = clean_chain()
    chain["timeline"] = [e for e in chain["timeline"] if not (e["type"] == "lot.received" and e["recorded_by"] == "refiner")]
    story = build_story(chain, ORGS, [])
    assert story["claim"]["all_weighed"] is False
    assert {"code": "unweighed", "from": "Bunia Metals", "to": "Lucerne Gold", "count": 1} in story["unknowns"]


def test_a_lot_that_reaches_the_piece_without_any_assay_is_listed():
    chain = clean_chain()
    for item in chain["lineage"]["nodes"]:
        if item["id"] == "coop-1":
            item["fineness_source"] = "derived"
    # the cooperative's lot goes straight into the ring: no refining, no assay anywhere on the way
    chain["lineage"]["nodes"] = [n for n in chain["lineage"]["nodes"] if n["id"] not in ("refining/x", "bar-1")]
    chain["lineage"]["edges"] = [e for e in chain["lineage"]["edges"] if e["to"] != "refining/x"
                                 and e["from"] not in ("refining/x", "bar-1")] + [{"from": "coop-1", "to": "ring-1", "mass_g": 7.5}]
    story = build_story(chain, ORGS, [])
    assert story["checks"]["assay"] == {"sources": 2, "unassayed": 2}
    assert {"code": "unassayed", "count": 2, "of": 2} in story["unknowns"]
    assert story["claim"]["all_assayed"] is False


def test_gold_from_outside_the_chain_is_its_own_share_never_spread_over_the_sites():
    chain = clean_chain()
    chain["origin"] = [site("site-a", 0.6), {"site_id": None, "untraced": "no_production_record", "share": 0.4}]
    story = build_story(chain, ORGS, [])
    assert story["claim"]["traced_share"] == 0.6
    assert {"code": "untraced", "reason": "no_production_record", "share": 0.4} in story["unknowns"]


def test_a_lot_used_by_someone_who_never_received_it_is_a_custody_gap():
    chain = clean_chain()
    chain["timeline"] = [e for e in chain["timeline"] if not (e["type"] == "lot.transferred" and e["data"]["to_id"] == "refiner")]
    story = build_story(chain, ORGS, [])
    assert story["checks"]["custody_gaps"] == [{"holder": "Bunia Metals", "user": "Lucerne Gold", "count": 1}]
    assert story["claim"]["no_gap"] is False


def test_open_red_flags_show_by_category_and_never_their_text():
    flags = [{"flag_id": "f1", "category": "double_use", "severity": "high", "status": "open",
              "subject_id": "m-1", "description": "Esther Lokana sold lot-a twice"},
             {"flag_id": "f2", "category": "unpaid_taxes", "severity": "low", "status": "resolved"}]
    story = build_story(clean_chain(flags=flags, due_diligence={"status": "attention", "audits": [{"result": "pass"}]}),
                        ORGS, [])
    assert story["claim"]["flags"] == "open" and story["claim"]["open_flags"] == 1
    assert story["checks"]["flags"] == {"open": [{"category": "double_use", "severity": "high"}], "closed": 1}
    assert story["checks"]["due_diligence"] == {"status": "attention", "audits_passed": 1, "audits_failed": 0}
    assert "unchecked" not in [u["code"] for u in story["unknowns"]]
    assert "Esther" not in json.dumps(story) and "m-1" not in json.dumps(story)


def test_no_open_flag_is_claimed_only_when_the_checks_ran():
    assert build_story(clean_chain(flags=[]), ORGS, [])["claim"]["flags"] == "clear"
    assert build_story(clean_chain(), ORGS, [])["claim"]["flags"] == "unchecked"


def test_a_group_of_fewer_than_5_people_is_never_a_number():
    assert people_count(0) == {"n": 0, "few": False}
    assert people_count(4) == {"n": None, "few": True}
    assert people_count(5) == {"n": 5, "few": False}
    small = miner_summary(miners(2, 1))
    assert small["people"] == {"n": None, "few": True} and small["women_share"] is None
    few_women = miner_summary(miners(3, 10))
    assert few_women["women_share"] is None and few_women["women_few"] is True
    few_men = miner_summary(miners(12, 2))  # 86 % women would reveal 2 men
    assert few_men["women_share"] is None and few_men["others_few"] is True
    balanced = miner_summary(miners(5, 7))
    assert balanced["people"]["n"] == 12 and balanced["women_share"] == round(5 / 12, 4)


def test_women_led_teams_are_counted_only_with_at_least_5_women_leads():
    few = miner_summary(miners(6, 6, leads=("w-0", "m-0")))
    assert few["teams_with_lead"] == 2 and few["women_led_teams"] is None
    many = [MinerFact(f"lot-{i}", f"w-{i}", "female", "team_lead") for i in range(5)]
    many += [MinerFact(f"lot-{i}", f"m-{i}", "male", "digger") for i in range(5)]
    assert miner_summary(many)["women_led_teams"] == 5


def test_unregistered_sellers_are_counted_as_unknown_without_a_small_number():
    facts = miners(5, 5) + [MinerFact("lot-a", "ghost-1", None, None)]
    story = build_story(clean_chain(), ORGS, facts)
    assert {"code": "unregistered_miners", "people": {"n": None, "few": True}} in story["unknowns"]


def test_the_story_never_carries_a_miner_identifier():
    text = json.dumps(build_story(clean_chain(), ORGS, miners(6, 6)))
    for secret in ("w-0", "m-1", "m-2", "pit-a"):
        assert f'"{secret}"' not in text


def test_the_fingerprint_is_the_hash_of_the_event_hashes_in_order():
    import hashlib

    chain = clean_chain()
    expected = hashlib.sha256("\n".join(e["hash"] for e in chain["timeline"]).encode()).hexdigest()
    integrity = build_story(chain, ORGS, [])["integrity"]
    assert integrity["fingerprint"] == expected and integrity["events"] == len(chain["timeline"])
