"""A product's provenance in pages, with entity tags: the timeline's first page in the answer, the
rest through ``/v1/products/{id}/timeline``, and a 304 for a client holding the present answer."""
from __future__ import annotations

import pytest

from tests import factories as f
from tests.conftest import bearer


@pytest.fixture
def ring_chain(client, admin_key, platform):
    events = f.two_site_ring_chain()
    assert client.post("/v1/events", json={"events": events}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    return events


def _walk(client, key, first_page: dict) -> list[str]:
    """Every event id met walking the timeline from a provenance answer's first page."""
    seen = [event["event_id"] for event in first_page["timeline"]]
    cursor = first_page["timeline_next"]
    while cursor is not None:
        page = client.get(f"/v1/products/ring-1/timeline?after={cursor}&limit=2", headers=bearer(key)).get_json()
        assert page["product_id"] == "ring-1" and 0 < len(page["events"]) <= 2
        seen += [event["event_id"] for event in page["events"]]
        cursor = page["next"]
    return seen


def test_walking_the_timeline_visits_every_event_of_the_whole_answer_once_in_order(client, buyer_key, ring_chain):
    whole = client.get("/v1/products/ring-1/provenance?include=timeline", headers=bearer(buyer_key)).get_json()
    assert whole["timeline_next"] is None and len(whole["timeline"]) >= 5
    first = client.get("/v1/products/ring-1/provenance?timeline_limit=3", headers=bearer(buyer_key)).get_json()
    assert len(first["timeline"]) == 3 and first["timeline_next"] is not None
    assert _walk(client, buyer_key, first) == [event["event_id"] for event in whole["timeline"]]
    # the rest of the answer is the whole answer's
    assert {k: v for k, v in first.items() if not k.startswith("timeline")} == \
        {k: v for k, v in whole.items() if not k.startswith("timeline")}


def test_a_short_timeline_fits_the_first_page(client, buyer_key, ring_chain):
    body = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key)).get_json()
    whole = client.get("/v1/products/ring-1/provenance?include=timeline", headers=bearer(buyer_key)).get_json()
    assert body["timeline"] == whole["timeline"] and body["timeline_next"] is None


def test_a_client_holding_the_present_answer_gets_a_304_until_something_changes(client, buyer_key, admin_key,
                                                                               platform, ring_chain):
    first = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key))
    etag = first.headers["ETag"]
    again = client.get("/v1/products/ring-1/provenance", headers={**bearer(buyer_key), "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    sale = f.event("product.sold", {"product_id": "ring-1", "price": "450.00", "currency": "EUR"}, "atelier")
    assert client.post("/v1/events", json={"events": [sale]}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    changed = client.get("/v1/products/ring-1/provenance", headers={**bearer(buyer_key), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [s["event_id"] for s in changed.get_json()["product"]["sales"]] == [sale["event_id"]]


def test_cached_answers_keep_restricted_fields_to_those_who_may_see_them(client, buyer_key, admin_key, ring_chain):
    for _ in range(2):  # the second round is served from the cache
        buyer = client.get("/v1/products/ring-1/provenance", headers=bearer(buyer_key))
        admin = client.get("/v1/products/ring-1/provenance", headers=bearer(admin_key))
        assert "latitude" not in buyer.get_data(as_text=True)
        assert "latitude" in admin.get_data(as_text=True)
        assert buyer.headers["ETag"] != admin.headers["ETag"]
        # the admin's tag never gets the buyer a 304 of what the admin may see
        borrowed = client.get("/v1/products/ring-1/provenance", headers={
            **bearer(buyer_key), "If-None-Match": admin.headers["ETag"]})
        assert borrowed.status_code == 200 and "latitude" not in borrowed.get_data(as_text=True)


@pytest.mark.parametrize("query, field", [
    ("/provenance?include=everything", "include"),
    ("/provenance?timeline_limit=0", "timeline_limit"),
    ("/provenance?colour=red", "colour"),
    ("/timeline?after=not-a-cursor", "after"),
    ("/timeline?after=eyJ4IjoxfQ", "after"),
    ("/timeline?limit=1001", "limit"),
])
def test_a_bad_page_request_is_a_422_naming_the_parameter(client, buyer_key, ring_chain, query, field):
    response = client.get(f"/v1/products/ring-1{query}", headers=bearer(buyer_key))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]


def test_the_timeline_of_an_unknown_product_is_a_404(client, buyer_key, ring_chain):
    assert client.get("/v1/products/ring-9/timeline", headers=bearer(buyer_key)).status_code == 404
    assert client.get("/v1/products/lot-a/timeline", headers=bearer(buyer_key)).status_code == 404
