"""GS1 EPCIS 2.0 through the API: a ring's history out as a valid EPCIS document, a query over
every event a page at a time, and documents in (capture), whose events become v1 events through the
same capture as ``POST /v1/events`` or say why not.

Each test runs on the embedded deployment (SQLite log) and on Kafka, each with read models on SQLite
and on PostgreSQL.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from composition.bootstrap import build_platform
from services.epcis.documents import schema_errors
from services.epcis.event_hash import event_hash
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer

DATA = Path(__file__).resolve().parents[1] / "data" / "epcis"
BASE = "http://localhost:8000"
LOT_A = f"{BASE}/id/lot/lot-a"
RING_DL = f"{BASE}/01/03760123450010/21/000001"


@pytest.fixture(params=["embedded", "kafka"])
def deployment(request, database):
    """A platform on the SQLite log or on a Kafka topic of its own (read models on ``database``)."""
    if request.param == "embedded":
        yield request.getfixturevalue("platform")
        return
    platform = build_platform(request.getfixturevalue("kafka_settings"))
    platform.prepare()
    yield platform
    platform.close()


@pytest.fixture
def keys(deployment):
    return {"admin": deployment.keys.create("oretrail-admin", "admin"),
            "coop": deployment.keys.create("coop-mambasa", "cooperative"),
            "refiner": deployment.keys.create("refiner-x", "refiner"),
            "atelier": deployment.keys.create("atelier", "manufacturer")}


@pytest.fixture
def client(deployment, keys):
    """The API of a deployment where the two-site ring has been recorded (by the admin key)."""
    client = deployment.create_app().test_client()
    response = client.post("/v1/events", json={"events": f.two_site_ring_chain()}, headers=bearer(keys["admin"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    deployment.catch_up()
    return client


def ld(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/ld+json"
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0" and response.headers["GS1-CBV-Version"] == "2.0.0"
    document = orjson.loads(response.get_data())
    assert schema_errors(document) == []
    return document


def events_of(document: dict) -> list[dict]:
    body = document["epcisBody"]
    return body["eventList"] if "eventList" in body else body["queryResults"]["resultsBody"]["eventList"]


# -- export ----------------------------------------------------------------------------------------
def test_a_ring_s_history_is_a_valid_epcis_document_whose_ids_are_gs1_event_hashes(client, keys):
    document = ld(client.get("/v1/products/ring-1/epcis", headers=bearer(keys["atelier"])))
    assert document["type"] == "EPCISDocument"
    events = events_of(document)
    assert [(e["type"], e["bizStep"]) for e in events] == [
        ("ObjectEvent", "commissioning"), ("ObjectEvent", "commissioning"), ("TransformationEvent", "repackaging"),
        ("ObjectEvent", "shipping"), ("TransformationEvent", "commissioning"), ("ObjectEvent", "shipping"),
        ("TransformationEvent", "assembling")]
    for event in events:
        assert event["eventID"] == event_hash({k: v for k, v in event.items() if k != "eventID"}, document["@context"])
    assert events[-1]["outputEPCList"] == [RING_DL]
    assert {"epcClass": LOT_A, "quantity": 100.0, "uom": "GRM"} in events[2]["inputQuantityList"]
    missing = client.get("/v1/products/no-such-ring/epcis", headers=bearer(keys["atelier"]))
    assert missing.status_code == 404


def test_a_lot_s_uri_resolves_to_the_lot(client, keys):
    response = client.get("/id/lot/lot-a")
    assert response.status_code == 303
    lot = client.get(urlsplit(response.headers["Location"]).path, headers=bearer(keys["atelier"]))
    assert lot.status_code == 200 and lot.get_json()["lot_id"] == "lot-a"
    assert client.get("/id/lot/no-such-lot").status_code == 404


def test_the_query_filters_by_time_step_and_identifier(client, keys):
    def query(**params) -> list[dict]:
        return events_of(ld(client.get("/epcis/events", query_string=params, headers=bearer(keys["refiner"]))))

    assert len(query()) == 7
    shipping = query(EQ_bizStep="shipping")
    assert [e["sourceList"][0]["source"] for e in shipping] == [f"{BASE}/id/party/coop-mambasa", f"{BASE}/id/party/refiner-x"]
    assert len(query(EQ_bizStep="https://ref.gs1.org/cbv/BizStep-shipping|assembling")) == 3
    about_lot_a = query(MATCH_anyEPC=LOT_A)
    assert [e["bizStep"] for e in about_lot_a] == ["commissioning", "repackaging"]
    assert [e["bizStep"] for e in query(MATCH_anyEPC=RING_DL)] == ["assembling"]
    times = [e["eventTime"] for e in query()]
    assert [e["eventTime"] for e in query(GE_eventTime=times[2], LT_eventTime=times[5])] == times[2:5]


def test_the_query_walks_every_event_once_a_page_at_a_time(client, keys):
    seen, url = [], "/epcis/events?perPage=3"
    while url:
        response = client.get(url, headers=bearer(keys["refiner"]))
        seen.extend(e["eventID"] for e in events_of(ld(response)))
        link = response.headers.get("Link")
        url = urlsplit(link[1:link.index(">")])._replace(scheme="", netloc="").geturl() if link else None
    everything = [e["eventID"] for e in events_of(ld(client.get("/epcis/events?perPage=1000",
                                                                headers=bearer(keys["refiner"]))))]
    assert seen == everything and len(seen) == 7


@pytest.mark.parametrize("params", [{"perPage": "0"}, {"GE_eventTime": "yesterday"}, {"EQ_action": "ADD"},
                                    {"nextPageToken": "%%%"}])
def test_a_wrong_query_is_a_problem_saying_which_parameter(client, keys, params):
    response = client.get("/epcis/events", query_string=params, headers=bearer(keys["refiner"]))
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "epcisException:QueryParameterException"
    assert problem["errors"][0]["path"] in params


# -- capture ---------------------------------------------------------------------------------------
def capture(client, key: str, document) -> dict:
    body = document if isinstance(document, (bytes, str)) else json.dumps(document)
    response = client.post("/epcis/capture", data=body, content_type="application/ld+json", headers=bearer(key))
    assert response.status_code == 202, response.get_data(as_text=True)
    job = client.get(response.headers["Location"], headers=bearer(key))
    assert job.status_code == 200, job.get_data(as_text=True)
    return job.get_json()


def test_importing_a_ring_s_history_elsewhere_rebuilds_the_same_provenance(client, keys, deployment, tmp_path):
    exported = client.get("/v1/products/ring-1/epcis", headers=bearer(keys["admin"])).get_data()
    elsewhere = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "elsewhere"),
                                                  "ORETRAIL_PUBLIC_BASE_URL": "https://gold.example.org"}))
    try:
        other, admin = elsewhere.create_app().test_client(), elsewhere.keys.create("oretrail-admin", "admin")
        registry = [e for e in f.two_site_ring_chain() if e["type"].endswith(".registered")]
        assert other.post("/v1/events", json={"events": registry}, headers=bearer(admin)).status_code == 200
        job = capture(other, admin, exported)
        assert job["success"] and [e["status"] for e in job["events"]] == ["recorded"] * 7
        elsewhere.catch_up()
        here = client.get("/v1/products/ring-1/provenance", headers=bearer(keys["admin"])).get_json()
        there = other.get("/v1/products/ring-1/provenance", headers=bearer(admin)).get_json()
        assert there["origin"] == here["origin"]
        assert [e["event_id"] for e in there["timeline"]] == [e["event_id"] for e in here["timeline"]]
    finally:
        elsewhere.close()


def test_importing_its_own_export_again_records_nothing_new(client, keys):
    exported = client.get("/v1/products/ring-1/epcis", headers=bearer(keys["admin"])).get_data()
    job = capture(client, keys["admin"], exported)
    assert [e["status"] for e in job["events"]] == ["duplicate"] * 7
    assert all(len(e["v1_events"]) == 1 and "position" in e["v1_events"][0] for e in job["events"])


def test_an_event_the_key_may_not_record_is_refused_with_the_capture_s_reason(client, keys, deployment):
    exported = orjson.loads(client.get("/v1/products/ring-1/epcis", headers=bearer(keys["admin"])).get_data())
    manufacture = events_of(exported)[-1]
    sale = {"type": "ObjectEvent", "eventTime": "2026-03-03T10:00:00+01:00", "eventTimeZoneOffset": "+01:00",
            "action": "OBSERVE", "bizStep": "retail_selling", "disposition": "retail_sold", "epcList": [RING_DL],
            "oretrail:productId": "ring-1", "oretrail:price": "950.00", "oretrail:currency": "EUR"}
    exported["epcisBody"]["eventList"] = [manufacture, sale]
    job = capture(client, keys["coop"], exported)  # the cooperative's key: atelier's step, and a sale as itself
    assert [e["status"] for e in job["events"]] == ["refused", "refused"]
    assert job["events"][0]["reason"].startswith("forbidden")
    assert not job["success"] and len(job["errors"]) == 2
    by_atelier = capture(client, keys["atelier"], {**exported, "epcisBody": {"eventList": [sale]}})
    assert by_atelier["events"][0]["status"] == "recorded"
    assert by_atelier["events"][0]["v1_events"][0]["type"] == "product.sold"
    # another organisation does not see the job
    job_url = client.post("/epcis/capture", json=exported, headers=bearer(keys["coop"])).headers["Location"]
    assert client.get(job_url, headers=bearer(keys["refiner"])).status_code == 404


def test_every_official_example_is_accepted_mapped_or_said_not_mappable(client, keys):
    for path in sorted((DATA / "examples").glob("*.jsonld")):
        job = capture(client, keys["refiner"], path.read_bytes())
        assert job["events"], path.name
        for event in job["events"]:
            assert event["status"] == "not_mappable" and event["reason"], (path.name, event)


def test_every_invalid_document_is_refused_as_a_problem_saying_where(client, keys):
    for path in sorted((DATA / "invalid").glob("*.json")):
        response = client.post("/epcis/capture", data=path.read_bytes(), content_type="application/json",
                               headers=bearer(keys["refiner"]))
        assert response.status_code == 400, path.name
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "epcisException:ValidationException" and problem["errors"][0]["path"].startswith("$")
    not_json = client.post("/epcis/capture", data=b"{\"type\": ", headers=bearer(keys["refiner"]))
    assert not_json.status_code == 400 and not_json.mimetype == "application/problem+json"


def test_a_document_over_the_size_limit_is_refused_before_it_is_read(client, keys):
    too_big = b" " * (5 * 1024 * 1024 + 1)
    response = client.post("/epcis/capture", data=too_big, content_type="application/ld+json",
                           headers=bearer(keys["refiner"]))
    assert response.status_code == 413
    assert client.post("/epcis/capture", data=b"{}").status_code == 401


def test_a_retracted_step_is_exported_with_its_error_declaration_and_not_imported(client, keys, deployment):
    sale = f.event("product.sold", {"product_id": "ring-1", "price": "4500.00", "currency": "EUR"}, recorded_by="atelier")
    assert client.post("/v1/events", json={"events": [sale]}, headers=bearer(keys["atelier"])).status_code == 200
    deployment.catch_up()
    before = events_of(ld(client.get("/v1/products/ring-1/epcis", headers=bearer(keys["admin"]))))
    retraction = f.event("event.retracted", {"event_id": sale["event_id"], "reason": "sold twice by mistake"},
                         recorded_by="atelier")
    assert client.post("/v1/events", json={"events": [retraction]}, headers=bearer(keys["atelier"])).status_code == 200
    deployment.catch_up()
    deployment.catch_up()  # the read models that counted the sale are rebuilt beside the live ones
    document = ld(client.get("/v1/products/ring-1/epcis", headers=bearer(keys["admin"])))
    [declared] = [e for e in events_of(document) if "errorDeclaration" in e]
    assert declared["oretrail:eventId"] == sale["event_id"] and declared["bizStep"] == "retail_selling"
    # the declaration is not part of the event's hash: its eventID is the one exported before
    assert declared["eventID"] == before[-1]["eventID"]
    assert declared["errorDeclaration"]["declarationTime"] == retraction["occurred_at"]
    assert declared["errorDeclaration"]["oretrail:retraction"] == {"oretrail:eventId": retraction["event_id"],
                                                                    "oretrail:reason": "sold twice by mistake"}
    job = capture(client, keys["admin"], document)
    [status] = [e for e in job["events"] if e["eventID"] == declared["eventID"]]
    assert status["status"] == "not_mappable" and "errorDeclaration" in status["reason"]
