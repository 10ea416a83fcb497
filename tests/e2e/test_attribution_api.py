"""Who recorded what: every event keeps ``attested_by``, the key it was recorded with, shown in the lot's
events, the product's timeline and the due-diligence record; a client cannot supply it.

Each test runs on the embedded deployment (SQLite log) and on Kafka, each with read models on SQLite
and on PostgreSQL.
"""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from tests import factories as f
from tests.conftest import bearer
from tests.waiting import wait_until


@pytest.fixture(params=["embedded", "kafka"])
def deployment(request, database):
    """A platform on the SQLite log or on a Kafka topic of its own (read models on ``database``)."""
    if request.param == "embedded":
        yield request.getfixturevalue("platform")
        return
    platform = build_platform(request.getfixturevalue("kafka_settings"))
    yield platform
    platform.close()


def key_id(key: str) -> str:
    """The public id in a key ``ot_<key_id>_<secret>``."""
    return key.split("_")[1]


def post(client, key, events):
    return client.post("/v1/events", json={"events": events}, headers=bearer(key))


@pytest.fixture
def keys(deployment):
    """One key per organisation of the ring's story, and the platform's admin key."""
    return {
        "admin": deployment.keys.create("oretrail-admin", "admin"),
        "coop": deployment.keys.create("coop-mambasa", "cooperative"),
        "refiner": deployment.keys.create("refiner-x", "refiner"),
        "atelier": deployment.keys.create("atelier", "manufacturer"),
    }


def attested(keys, name: str, organisation: str, role: str) -> dict[str, str]:
    return {"organisation": organisation, "role": role, "key_id": key_id(keys[name])}


@pytest.fixture
def ring(deployment, keys):
    """The two-site ring, each step recorded with the key of the organisation that did it
    (the registry with the admin key), and the ring's client."""
    client = deployment.create_app().test_client()
    chain = f.two_site_ring_chain()
    registry, custody = chain[:5], chain[5:]
    assert post(client, keys["admin"], registry).status_code == 200
    by_recorder = {"coop-mambasa": "coop", "refiner-x": "refiner", "atelier": "atelier"}
    for envelope in custody:
        assert post(client, keys[by_recorder[envelope["recorded_by"]]], [envelope]).status_code == 200
    deployment.catch_up()
    return client


def test_a_cooperatives_event_shows_its_key_in_the_lots_events(deployment, keys, ring):
    events = ring.get("/v1/lots/lot-a/events", headers=bearer(keys["atelier"])).get_json()["events"]
    [production] = [event for event in events if event["type"] == "production.recorded"]
    assert production["recorded_by"] == "coop-mambasa"
    assert production["attested_by"] == attested(keys, "coop", "coop-mambasa", "cooperative")


def test_an_admin_recording_for_a_cooperative_is_visible_as_such(deployment, keys, ring):
    on_behalf = f.transfer("lot-a", "coop-mambasa", "refiner-x", 100.0, recorded_by="coop-mambasa")
    assert post(ring, keys["admin"], [on_behalf]).status_code == 200
    deployment.catch_up()
    events = ring.get("/v1/lots/lot-a/events", headers=bearer(keys["atelier"])).get_json()["events"]
    [transfer] = [event for event in events if event["event_id"] == on_behalf["event_id"]]
    assert transfer["recorded_by"] == "coop-mambasa"
    assert transfer["attested_by"] == attested(keys, "admin", "oretrail-admin", "admin")


def test_the_timeline_and_the_due_diligence_record_name_each_steps_key(deployment, keys, ring):
    by_recorder = {
        "coop-mambasa": attested(keys, "coop", "coop-mambasa", "cooperative"),
        "refiner-x": attested(keys, "refiner", "refiner-x", "refiner"),
        "atelier": attested(keys, "atelier", "atelier", "manufacturer"),
    }
    timeline = ring.get("/v1/products/ring-1/provenance", headers=bearer(keys["atelier"])).get_json()["timeline"]
    # two productions, the merge, two hand-overs, the refining and the making
    assert sorted(event["type"] for event in timeline) == sorted(
        ["production.recorded"] * 2 + ["lots.merged", "lot.refined", "product.manufactured"] + ["lot.transferred"] * 2)
    assert all(event["attested_by"] == by_recorder[event["recorded_by"]] for event in timeline)

    record = ring.get("/v1/products/ring-1/due-diligence", headers=bearer(keys["atelier"])).get_json()
    chain = record["chain_of_custody"]
    assert [event["event_id"] for event in chain] == [event["event_id"] for event in timeline]
    assert all(event["attested_by"] == by_recorder[event["recorded_by"]] for event in chain)
    html = ring.get("/v1/products/ring-1/due-diligence?format=html", headers=bearer(keys["atelier"])).get_data(as_text=True)
    assert f"refiner-x (refiner, key <code>{key_id(keys['refiner'])}</code>)" in html
    assert f"coop-mambasa (cooperative, key <code>{key_id(keys['coop'])}</code>)" in html


def test_a_client_supplied_attested_by_is_refused_and_nothing_is_recorded(deployment, keys):
    client = deployment.create_app().test_client()
    before = deployment.log.end()
    honest = f.production("lot-z", "pit-a", 10.0)
    forged = {**f.production("lot-y", "pit-a", 10.0),
              "attested_by": {"organisation": "oretrail-admin", "role": "admin", "key_id": key_id(keys["admin"])}}
    response = post(client, keys["coop"], [honest, forged])
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"events.1.attested_by": ["Unknown field."]}
    assert deployment.log.end() == before
    deployment.catch_up()
    assert client.get("/v1/lots/lot-y/events", headers=bearer(keys["coop"])).status_code == 404
    assert client.get("/v1/lots/lot-z/events", headers=bearer(keys["coop"])).status_code == 404


def test_the_public_page_claims_own_keys_only_where_attested_by_matches_the_recorder(deployment, keys, ring):
    page = ring.get("/p/ring-1", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Each of its 7 steps was recorded with the key of the organisation that did it." in page
    assert "on an organisation" not in page
    # the platform's operator enters the ring's sale for the maker
    sale = f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}, recorded_by="atelier")
    assert post(ring, keys["admin"], [sale]).status_code == 200
    deployment.catch_up()

    def page_now() -> str:
        return ring.get("/p/ring-1", headers={"Accept-Language": "en"}).get_data(as_text=True)

    wait_until(lambda: "Each of its" not in page_now(), 10, "the page to show the operator's step")
    page = page_now()
    assert "7 steps were recorded with the key of the organisation that did them." in page
    assert "1 step was entered by the platform&#39;s operator on an organisation&#39;s behalf." in page
