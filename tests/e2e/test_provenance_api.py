"""From capture to provenance, through HTTP."""
from __future__ import annotations

import hashlib

import pytest

from events.canonical import canonical_json
from tests import factories as f
from tests.conftest import bearer
from tests.waiting import wait_until


@pytest.fixture
def ring_chain(client, admin_key, platform):
    events = f.two_site_ring_chain()
    assert client.post("/v1/events", json={"events": events}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    return events


def test_the_provenance_of_a_ring_names_its_sites_and_their_shares(client, buyer_key, ring_chain):
    response = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key))
    assert response.status_code == 200
    body = response.get_json()
    assert body["product"]["product_id"] == "ring-1"
    assert body["product"]["fine_g"] == 7.5
    origin = {entry["site_id"]: entry for entry in body["origin"]}
    assert origin["site-a"]["share"] == pytest.approx(0.6)
    assert origin["site-b"]["share"] == pytest.approx(0.4)
    assert origin["site-a"]["fine_g"] == pytest.approx(4.5)
    assert origin["site-a"]["region"] == "Ituri"
    assert body["origin_basis"] == "fine_gold"


def test_the_lineage_has_grams_on_every_edge(client, buyer_key, ring_chain):
    lineage = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()["lineage"]
    ids = {node["id"] for node in lineage["nodes"]}
    assert {"ring-1", "bar-1", "coop-1", "lot-a", "lot-b"} <= ids
    assert any(node["kind"] == "refining" for node in lineage["nodes"])
    edges = {(edge["from"], edge["to"]): edge["mass_g"] for edge in lineage["edges"]}
    assert edges[("bar-1", "ring-1")] == 7.5
    assert edges[("lot-a", "coop-1")] == 100.0


def test_the_timeline_holds_every_event_of_the_ancestry_with_verifiable_hashes(client, buyer_key, ring_chain):
    timeline = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()["timeline"]
    custody = [e for e in ring_chain if e["type"] in ("production.recorded", "lots.merged", "lot.transferred",
                                                      "lot.refined", "product.manufactured")]
    assert [e["event_id"] for e in timeline] == [e["event_id"] for e in custody]
    for served in timeline:
        submitted = {k: v for k, v in served.items() if k not in ("recorded_at", "position", "hash", "attested_by")}
        assert hashlib.sha256(canonical_json(submitted)).hexdigest() == served["hash"]


def test_restricted_fields_never_reach_a_buyer(client, buyer_key, admin_key, ring_chain):
    for path in ("/v1/products/ring-1/provenance", "/v1/lots/lot-a", "/v1/lots/lot-a/events", "/v1/lots/coop-1"):
        text = client.get(path, headers=bearer(buyer_key)).get_data(as_text=True)
        assert "Esther" not in text and "abab" not in text and "latitude" not in text, path


def test_coordinates_are_shown_to_an_admin(client, admin_key, platform):
    events = [f.site("site-a", latitude=1.54, longitude=30.27), f.pit("pit-a", "site-a"),
              f.production("lot-a", "pit-a", 10.0, 0.9), f.hand_over("lot-a", "coop-mambasa", "atelier", 10.0),
              f.manufacture("ring-1", {"lot-a": 5.0}, mass_g=6.0)]
    client.post("/v1/events", json={"events": events}, headers=bearer(admin_key))
    platform.catch_up()
    buyer = platform.keys.create("atelier", "manufacturer")
    assert client.get("/v1/products/ring-1/provenance", headers=bearer(admin_key)).get_json()["origin"][0]["latitude"] == 1.54
    assert "latitude" not in client.get("/v1/products/ring-1/provenance", headers=bearer(buyer)).get_json()["origin"][0]


def test_a_lot_shows_holder_inputs_uses_and_events(client, buyer_key, admin_key, platform, ring_chain):
    # the assay by coop-1's holder then (refiner-x): an assay counts only from the holder or an independent party
    extra = [f.transfer("lot-a", "m-1", "coop-mambasa", 100.0), f.assay("coop-1", 0.857, recorded_by="refiner-x")]
    client.post("/v1/events", json={"events": extra}, headers=bearer(admin_key))
    platform.catch_up()
    lot = client.get("/v1/lots/lot-a", headers=bearer(buyer_key)).get_json()
    assert lot["holder_id"] == "coop-mambasa"
    assert lot["status"] == "consumed"
    assert lot["consumed_into"] == [{"node_id": "coop-1", "mass_g": 100.0, "event_id": ring_chain[7]["event_id"]}]
    assert lot["miner_ids"] == ["m-1"]
    merged = client.get("/v1/lots/coop-1", headers=bearer(buyer_key)).get_json()
    assert merged["fineness"] == 0.857 and merged["fineness_source"] == "assay"
    assert [i["lot_id"] for i in merged["inputs"]] == ["lot-a", "lot-b"]
    events = client.get("/v1/lots/lot-a/events", headers=bearer(buyer_key)).get_json()["events"]
    assert [e["type"] for e in events] == ["production.recorded", "lots.merged", "lot.transferred"]


def test_unknown_ids_are_404_and_reads_need_a_key(client, buyer_key, ring_chain):
    assert client.get("/v1/products/nope/provenance", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/products/lot-a/provenance", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/lots/nope", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/lots/ring-1/events", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/products/ring-1/provenance").status_code == 401


def test_health_and_readiness_report_projector_lag(client, admin_key, platform):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    client.post("/v1/events", json={"events": [f.site("a"), f.site("b")]}, headers=bearer(admin_key))
    report = client.get("/readyz").get_json()
    assert report["status"] == "ready"
    assert report["log"]["end_position"] == 2
    assert report["projectors"]["provenance"]["lag"] == 2
    platform.catch_up()
    assert client.get("/readyz").get_json()["projectors"]["provenance"] == {"position": 2, "lag": 0, "dead_letters": 0}


def test_in_process_projector_threads_make_events_visible(client, admin_key, buyer_key, platform):
    platform.start_projectors()
    client.post("/v1/events", json={"events": f.two_site_ring_chain()}, headers=bearer(admin_key))
    wait_until(lambda: client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).status_code == 200,
               10, "the projector thread to catch up", interval=0.02)
