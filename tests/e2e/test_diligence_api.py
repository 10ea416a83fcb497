"""Findings and due diligence through HTTP: a buyer sees what taints a piece, and why, and its record."""
from __future__ import annotations

import pytest

from events.catalogue.diligence import inspection_flag_id
from tests import custody_stories as stories
from tests import factories as f
from tests.conftest import bearer


def record(client, key, events, platform):
    response = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    platform.catch_up()
    assert all(runner.dead_letter_count() == 0 for runner in platform.runners.values())  # no event failed


def test_an_honest_ring_is_clear_and_its_record_lists_actors_recovery_and_hashes(client, admin_key, buyer_key, platform):
    story = stories.honest_chain()
    record(client, admin_key, story.events, platform)
    provenance = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()
    assert provenance["flags"] == []
    assert provenance["due_diligence"]["status"] == "clear"
    [refining] = provenance["due_diligence"]["refinings"]
    assert refining["recovery"] == pytest.approx(0.996, abs=1e-4) and refining["basis"] == "fine_gold"

    body = client.get("/v1/products/ring-1/due-diligence", headers=bearer(buyer_key)).get_json()
    assert body["status"] == "clear" and body["reasons"] == []
    organisations = {org["org_id"]: org for org in body["actors"]["organisations"]}
    assert organisations["refiner-x"]["country"] == "CH" and organisations["refiner-x"]["role"] == "refiner"
    assert organisations["exporter"]["registered"] is True
    assert body["actors"]["miners"] == {"count": 2, "registered": 2, "unregistered_ids": []}
    custody_ids = [event["event_id"] for event in body["chain_of_custody"]]
    assert story.id("export") in custody_ids and story.id("ring") in custody_ids
    hashes = {entry["event_id"]: entry["hash"] for entry in body["integrity"]["events"]}
    served = client.get("/v1/lots/coop-1/events", headers=bearer(buyer_key)).get_json()["events"]
    assert all(hashes[event["event_id"]] == event["hash"] for event in served)


def test_a_ring_from_a_child_miners_lot_is_red_and_says_why(client, admin_key, buyer_key, platform):
    from tests.sourcing_stories import problem_child_labour

    story, kind, proof, correction = problem_child_labour()
    record(client, admin_key, story.events, platform)
    provenance = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()
    assert provenance["due_diligence"]["status"] == "red"
    [flag] = [flag for flag in provenance["flags"] if flag["kind"] == kind]
    assert set(flag["proof"]) == set(proof) and flag["lots"] == ["lot-1"]
    assert [reason["kind"] for reason in provenance["due_diligence"]["reasons"] if reason["red"]] == [kind]

    record(client, admin_key, correction, platform)  # the birth year was mistyped: 1994
    body = client.get("/v1/products/ring-1/due-diligence", headers=bearer(buyer_key)).get_json()
    assert body["status"] == "clear", body["reasons"]


def test_a_ring_from_a_double_used_lot_is_red_with_the_proof(client, admin_key, buyer_key, platform):
    story, kind, proof = stories.lie_double_use()
    record(client, admin_key, story.events, platform)
    provenance = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()
    assert provenance["due_diligence"]["status"] == "red"
    [flag] = [flag for flag in provenance["flags"] if flag["kind"] == kind and set(flag["proof"]) == set(proof)]
    assert flag["subject_id"] == "lot-1" and flag["status"] == "open" and flag["severity"] == "high"
    red = [reason["id"] for reason in provenance["due_diligence"]["reasons"] if reason["red"]]
    assert flag["finding_id"] in red


def test_a_ring_turns_from_red_to_clear_as_the_child_labour_risk_is_resolved(client, admin_key, buyer_key, platform):
    story = stories.honest_chain()
    inspection = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active", "children_present": True})
    record(client, admin_key, story.events + [inspection], platform)
    dd = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()["due_diligence"]
    assert dd["status"] == "red"
    flag_id = inspection_flag_id(inspection["event_id"], "child_labour")
    assert [(r["id"], r["kind"], r["red"]) for r in dd["reasons"]] == [(flag_id, "child_labour", True)]

    reported = f.event("risk.flagged", {"flag_id": "risk-7", "subject_id": "exporter", "category": "bribery",
                                        "severity": "medium", "description": "A customs officer asked for a fee."},
                       recorded_by="ngo-x")
    resolved = f.event("risk.resolved", {"flag_id": flag_id, "resolution": "mitigated",
                                         "note": "The children were enrolled at the site school; verified twice."},
                       recorded_by="ngo-x")
    record(client, admin_key, [reported, resolved], platform)
    dd = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()["due_diligence"]
    assert dd["status"] == "attention"
    assert [r["id"] for r in dd["reasons"]] == ["risk-7"]

    record(client, admin_key, [f.event("risk.resolved", {"flag_id": "risk-7", "resolution": "unfounded",
                                                         "note": "The fee was the official one, receipted."},
                                       recorded_by="ngo-x")], platform)
    body = client.get("/v1/products/ring-1/due-diligence", headers=bearer(buyer_key)).get_json()
    assert body["status"] == "clear"
    handled = {risk["flag_id"]: risk for risk in body["risks"]}
    assert handled[flag_id]["status"] == "resolved" and handled[flag_id]["source"] == "inspection"
    assert handled[flag_id]["resolution"]["resolution"] == "mitigated"
    assert handled["risk-7"]["resolution"]["resolution"] == "unfounded"
    listed = {entry["event_id"] for entry in body["integrity"]["events"]}
    assert {inspection["event_id"], reported["event_id"], resolved["event_id"]} <= listed


def test_a_failed_audit_of_the_refiner_needs_attention(client, admin_key, buyer_key, platform):
    audit = f.event("audit.completed", {"subject_id": "refiner-x", "auditor": "rcm", "result": "fail"}, recorded_by="rcm")
    record(client, admin_key, stories.honest_chain().events + [audit], platform)
    body = client.get("/v1/products/ring-1/due-diligence", headers=bearer(buyer_key)).get_json()
    assert body["status"] == "attention" and body["reasons"][0]["kind"] == "audit_failed"
    assert body["audits"][0]["result"] == "fail"


def test_the_record_prints_as_html(client, admin_key, buyer_key, platform):
    story, _, _ = stories.lie_transit()
    record(client, admin_key, story.events, platform)
    for response in (client.get("/v1/products/ring-1/due-diligence?format=html", headers=bearer(buyer_key)),
                     client.get("/v1/products/ring-1/due-diligence", headers={**bearer(buyer_key), "Accept": "text/html"})):
        assert response.status_code == 200 and response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "Due-diligence record" in page and "transit_discrepancy" in page and story["sell"]["event_id"] in page
        assert "status-attention" in page
    assert client.get("/v1/products/ring-1/due-diligence", headers=bearer(buyer_key)).mimetype == "application/json"


def test_findings_filter_and_page(client, admin_key, buyer_key, platform):
    story, _, _ = stories.lie_unknown_miner()
    record(client, admin_key, story.events, platform)
    everything = client.get("/v1/findings", headers=bearer(buyer_key)).get_json()
    assert everything["total"] == 2 and everything["next_offset"] is None
    by_subject = client.get("/v1/findings?subject=m-2&kind=unknown_actor&status=open", headers=bearer(buyer_key)).get_json()
    assert by_subject["total"] == 2 and {x["subject_id"] for x in by_subject["findings"]} == {"m-2"}
    by_lot = client.get("/v1/findings?subject=lot-2", headers=bearer(buyer_key)).get_json()
    assert by_lot["total"] == 2 and by_lot["findings"][0]["lots"] == ["lot-2"]
    first = client.get("/v1/findings?limit=1", headers=bearer(buyer_key)).get_json()
    second = client.get("/v1/findings?limit=1&offset=1", headers=bearer(buyer_key)).get_json()
    assert first["next_offset"] == 1 and second["next_offset"] is None
    assert first["findings"][0]["finding_id"] != second["findings"][0]["finding_id"]
    assert client.get("/v1/findings?status=withdrawn", headers=bearer(buyer_key)).get_json()["total"] == 0


@pytest.mark.parametrize("query, path", [
    ("kind=lie", "kind"), ("status=closed", "status"), ("limit=0", "limit"), ("limit=x", "limit"),
    ("offset=-1", "offset"), ("colour=red", "colour"),
])
def test_bad_filters_are_422_with_the_parameter(client, buyer_key, query, path):
    response = client.get(f"/v1/findings?{query}", headers=bearer(buyer_key))
    assert response.status_code == 422
    assert path in response.get_json()["error"]["details"]


def test_findings_and_records_need_a_key_and_an_existing_product(client, buyer_key):
    assert client.get("/v1/findings").status_code == 401
    assert client.get("/v1/products/ring-1/due-diligence").status_code == 401
    assert client.get("/v1/products/nope/due-diligence", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/products/nope/due-diligence?format=pdf", headers=bearer(buyer_key)).status_code == 422


def test_the_demo_chain_is_honest_and_its_pieces_are_clear(platform, client, buyer_key):
    from services.demo import seed_demo
    from services.demo_findings import PLANTED_COOPERATIVE

    products = seed_demo(platform)["products"]
    found = client.get("/v1/findings?status=open&limit=500", headers=bearer(buyer_key)).get_json()["findings"]
    # only the planted site (Makala) has findings: one of each sourcing kind at least
    assert all(finding["subject_id"].startswith(("makala-", "MAK-", PLANTED_COOPERATIVE))
               or all(lot.startswith("MAK-") or ":makala-" in lot for lot in finding["lots"]) for finding in found), found
    assert {finding["kind"] for finding in found} >= {
        "child_labour_suspected", "price_below_reference", "foreign_cooperative", "pit_outside_site",
        "unverified_miner", "capacity_unknown", "stale_inspection", "workers_mismatch",
        "cooperative_over_capacity", "royalties_unrecorded"}
    for product in products:
        body = client.get(f"/v1/products/{product}/due-diligence", headers=bearer(buyer_key)).get_json()
        assert body["status"] == "clear", (product, body["reasons"])
    assert body["risks"] and all(risk["status"] == "resolved" for risk in body["risks"])
    assert {audit["subject_id"] for audit in body["audits"]} == {"ref-lucerne", "coop-ituri-or"}
    [refining] = body["refinings"]
    assert refining["recovery"] == pytest.approx(0.996, abs=1e-3)


def test_a_ring_from_a_pit_over_its_capacity_that_month_needs_attention(client, admin_key, buyer_key, platform):
    story, _, proof = stories.lie_over_capacity()
    record(client, admin_key, story.events, platform)
    provenance = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()
    # the cooperative bought those 100 g in the month too: more than the pit can give
    assert sorted(flag["kind"] for flag in provenance["flags"]) == ["cooperative_over_capacity", "over_capacity"]
    [flag] = [flag for flag in provenance["flags"] if flag["kind"] == "over_capacity"]
    assert flag["subject_id"] == "pit-a" and set(flag["proof"]) == set(proof)
    assert flag["detail"]["produced_g"] == 100.0 and flag["detail"]["capacity_g"] == 80.0
    assert provenance["due_diligence"]["status"] == "attention"
    assert client.get("/v1/findings?subject=pit-a", headers=bearer(buyer_key)).get_json()["total"] == 1
