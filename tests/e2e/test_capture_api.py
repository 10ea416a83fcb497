"""POST /v1/events: authenticated, validated, all-or-nothing, idempotent, bounded."""
from __future__ import annotations

import json

from tests import factories as f
from tests.conftest import bearer


def post(client, key, events, **kwargs):
    return client.post("/v1/events", json={"events": events}, headers=bearer(key) if key else {}, **kwargs)


def test_accepted_events_get_positions(client, admin_key, platform):
    events = f.two_site_ring_chain()
    response = post(client, admin_key, events)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert {r["status"] for r in results} == {"accepted"}
    assert [r["position"] for r in results] == list(range(1, len(events) + 1))
    assert platform.log.end_position() == len(events)


def test_a_retried_upload_answers_duplicate_and_records_nothing_new(client, admin_key, platform):
    events = f.two_site_ring_chain()
    post(client, admin_key, events)
    again = post(client, admin_key, events)
    assert again.status_code == 200
    assert {r["status"] for r in again.get_json()["results"]} == {"duplicate"}
    assert platform.log.end_position() == len(events)


def test_no_key_unknown_key_and_revoked_key_are_401(client, platform):
    assert post(client, None, [f.site("a")]).status_code == 401
    assert post(client, "ot_nope", [f.site("a")]).status_code == 401
    key = platform.keys.create("coop-mambasa", "cooperative")
    platform.keys.revoke(key.split("_")[1])
    response = post(client, key, [f.site("a")])
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert platform.log.end_position() == 0


def test_a_key_records_only_for_its_own_organisation(client, platform):
    key = platform.keys.create("coop-mambasa", "cooperative")
    own = f.production("lot-1", "pit-a", 10.0, recorded_by="coop-mambasa")
    other = f.production("lot-2", "pit-a", 10.0, recorded_by="coop-elsewhere")
    response = post(client, key, [own, other])
    assert response.status_code == 403
    assert list(response.get_json()["error"]["details"]) == ["events.1.recorded_by"]
    assert platform.log.end_position() == 0
    assert post(client, key, [own]).status_code == 200


def test_reference_prices_are_for_admins_only(client, platform):
    key = platform.keys.create("coop-mambasa", "cooperative")
    price = f.event("market.price_recorded", {"date": "2026-03-02", "price_per_g_fine": "98.40", "currency": "USD"})
    assert post(client, key, [price]).status_code == 403


def test_one_bad_event_rejects_the_batch_with_the_path_of_each_error(client, admin_key, platform):
    good = f.site("a")
    bad = f.production("lot-1", "pit-a", -3.0)
    worse = f.merge("m", {"a": 1.0})
    worse["data"]["inputs"][0]["mass_g"] = "1"
    response = post(client, admin_key, [good, bad, worse])
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert body["code"] == "invalid"
    assert set(body["details"]) == {"events.1.data.mass_g", "events.2.data.inputs.0.mass_g"}
    assert platform.log.end_position() == 0


def test_malformed_bodies_are_422(client, admin_key):
    headers = {**bearer(admin_key), "Content-Type": "application/json"}
    assert client.post("/v1/events", data="{not json", headers=headers).status_code == 422
    assert client.post("/v1/events", json=[1, 2], headers=bearer(admin_key)).status_code == 422
    assert client.post("/v1/events", json={"events": []}, headers=bearer(admin_key)).status_code == 422
    response = client.post("/v1/events", json={"events": [f.site("a")], "extra": 1}, headers=bearer(admin_key))
    assert response.get_json()["error"]["details"] == {"extra": ["Unknown field."]}
    nan = client.post("/v1/events", data='{"events": [' + json.dumps(f.production("l", "p", 1.0)).replace("1.0", "NaN") + "]}",
                      headers=headers)
    assert nan.status_code == 422


def test_more_than_1000_events_is_413(client, admin_key, platform):
    events = [f.site(f"s-{n}") for n in range(1001)]
    response = post(client, admin_key, events)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert platform.log.end_position() == 0


def test_more_than_5_mb_is_413(client, admin_key, platform):
    body = json.dumps({"events": [f.site("a")], "padding": "x" * (5 * 1024 * 1024)})
    response = client.post("/v1/events", data=body, headers={**bearer(admin_key), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert platform.log.end_position() == 0


def test_reusing_an_event_id_for_other_content_is_409(client, admin_key, platform):
    original = f.production("lot-1", "pit-a", 10.0)
    post(client, admin_key, [original])
    forged = {**original, "data": {**original["data"], "mass_g": 12.0}}
    response = post(client, admin_key, [f.site("b"), forged])
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["event_ids"] == [original["event_id"]]
    assert platform.log.end_position() == 1


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/v1/nothing").get_json()["error"]["code"] == "not_found"
    assert client.delete("/v1/events").status_code == 405  # recorded with POST, read with GET


def test_a_nul_character_or_a_lone_surrogate_in_text_is_422_and_changes_nothing(client, admin_key, platform):
    # PostgreSQL cannot store U+0000 in text: accepted, it would become a dead letter there only;
    # a lone surrogate cannot be encoded (nor hashed) at all
    events = [f.site("site-a", licence="PE\u0000123"), f.site("site-b", region="Ituri")]
    response = post(client, admin_key, events)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["details"]) == ["events.0.data.licence"]
    events[0]["data"]["licence"] = "PE-123"
    events[1]["data"]["region"] = "Ituri\ud800"
    body = json.dumps({"events": events})  # escapes the surrogate as \ud800, which no UTF-8 text can hold
    response = client.post("/v1/events", data=body, headers={**bearer(admin_key), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert platform.log.end_position() == 0
