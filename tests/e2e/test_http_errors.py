"""HTTP errors (a wrong method, an unknown URL) answer the contract's JSON error body with their headers."""
from __future__ import annotations


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


def test_a_wrong_method_is_405_with_allow_and_a_json_body(client):
    response = client.put("/v1/events")  # recorded with POST, read (the feed) with GET
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert allowed(response) == {"GET", "HEAD", "POST", "OPTIONS"}

    response = client.delete("/v1/lots/lot-1")
    assert response.status_code == 405
    assert allowed(response) == {"GET", "HEAD", "OPTIONS"}


def test_an_unknown_url_is_a_json_404_without_allow(client):
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "Allow" not in response.headers
