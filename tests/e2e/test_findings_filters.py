"""An NGO monitoring many sites reads ``/v1/findings`` by site, organisation, kind, severity and time,
page by page with a cursor. Runs with the read models on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests import custody_stories as stories
from tests import factories as f
from tests.conftest import bearer

MAY = datetime(2026, 5, 10, 9, 0, tzinfo=timezone.utc)


def second_site() -> dict[str, dict]:
    """A second site whose cooperative records gold in May from a miner it never registered."""
    return {
        "coop": f.organisation("coop-b", "cooperative"),
        "site": f.site("site-b", region="Haut-Uele"),
        "pit": f.pit("pit-b", "site-b"),
        "prod": f.production("lot-9", "pit-b", 30.0, 0.8, miners=("m-9",), recorded_by="coop-b", at=MAY),
    }


@pytest.fixture
def logged(client, admin_key, platform):
    """Two sites: site-a's chain with a double use at the cooperative and a transit gap at the exporter,
    and site-b with an unregistered miner."""
    story, _, _ = stories.lie_double_use()
    story.replace("arrive", f.event("lot.received", {"lot_id": "coop-1", "mass_g": 101.0}, recorded_by="exporter"))
    other = second_site()
    response = client.post("/v1/events", json={"events": story.events + list(other.values())}, headers=bearer(admin_key))
    assert response.status_code == 200
    platform.catch_up()
    return story, other


def findings(client, key, query: str = "") -> dict:
    response = client.get(f"/v1/findings?{query}", headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def walk(client, key, query: str, limit: int) -> list[str]:
    """Every finding id of a filtered list, page by page with the cursor."""
    seen: list[str] = []
    page = findings(client, key, f"{query}&limit={limit}")
    while True:
        assert len(page["findings"]) <= limit
        seen += [finding["finding_id"] for finding in page["findings"]]
        if page["next"] is None:
            return seen
        page = findings(client, key, f"{query}&limit={limit}&after={page['next']}")


def ids(page: dict) -> set[str]:
    return {finding["finding_id"] for finding in page["findings"]}


def test_findings_of_a_site_and_of_an_organisation(client, buyer_key, logged):
    story, other = logged
    everything = findings(client, buyer_key, "limit=1000")["findings"]
    by_id = {finding["finding_id"]: finding for finding in everything}
    site_b = findings(client, buyer_key, "site_id=site-b")
    assert site_b["total"] >= 1 and ids(site_b) == {i for i, x in by_id.items() if other["prod"]["event_id"] in x["proof"]}
    # an unregistered miner at a pit never inspected
    assert {"unknown_actor", "stale_inspection"} == {by_id[i]["kind"] for i in ids(site_b)}
    site_a = findings(client, buyer_key, "site_id=site-a")
    assert "double_use" in {x["kind"] for x in site_a["findings"]} and not ids(site_a) & ids(site_b)
    # the exporter weighed in more than was sent: its finding, not site-a's (coop-1 is a merge, not a production)
    exporter = findings(client, buyer_key, "organisation_id=exporter")
    assert {x["kind"] for x in exporter["findings"]} == {"transit_discrepancy"}
    [transit] = exporter["findings"]
    assert story.id("arrive") in transit["proof"] and transit["finding_id"] not in ids(site_a)
    coop = findings(client, buyer_key, "organisation_id=coop-mambasa&kind=double_use&severity=high")
    assert ids(coop) == {i for i, x in by_id.items() if x["kind"] == "double_use" and x["severity"] == "high"} != set()
    assert findings(client, buyer_key, "organisation_id=coop-b&site_id=site-a")["total"] == 0


def test_findings_by_time_use_the_latest_field_time_of_their_proof(client, buyer_key, logged):
    _, other = logged
    everything = findings(client, buyer_key, "limit=1000")["findings"]
    assert all(finding["at"] for finding in everything)
    may = findings(client, buyer_key, "since=2026-05-01T00:00:00Z&limit=1000")
    march = findings(client, buyer_key, "until=2026-05-01T02:00:00%2B02:00&limit=1000")  # the same instant
    assert ids(may) == ids(findings(client, buyer_key, "site_id=site-b&limit=1000"))
    assert ids(may) | ids(march) == {x["finding_id"] for x in everything} and not ids(may) & ids(march)
    [first] = may["findings"][:1]
    assert first["at"] == "2026-05-10T09:00:00.000000Z"
    assert findings(client, buyer_key, "since=2026-05-10T09:00:00Z&until=2026-05-10T09:00:00.000001Z")["total"] == len(may["findings"])
    assert findings(client, buyer_key, "since=2026-05-10T09:00:00.000001Z")["total"] == 0


@pytest.mark.parametrize("query", ["", "site_id=site-a", "organisation_id=coop-mambasa", "severity=medium"])
def test_the_cursor_walks_every_finding_exactly_once(client, buyer_key, logged, query):
    expected = [x["finding_id"] for x in findings(client, buyer_key, f"{query}&limit=1000")["findings"]]
    assert expected
    for limit in (1, 2):
        assert walk(client, buyer_key, query, limit) == expected


def test_a_walk_sees_each_finding_once_while_new_ones_are_found(client, admin_key, buyer_key, platform, logged):
    before = [x["finding_id"] for x in findings(client, buyer_key, "limit=1000")["findings"]]
    first = findings(client, buyer_key, "limit=2")
    assert first["next_offset"] == 2  # offset paging still works beside the cursor
    late = f.production("lot-10", "pit-b", 5.0, 0.8, miners=("m-10",), recorded_by="coop-b", at=MAY)
    assert client.post("/v1/events", json={"events": [late]}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    seen = [x["finding_id"] for x in first["findings"]]
    page = first
    while page["next"]:
        page = findings(client, buyer_key, f"limit=2&after={page['next']}")
        seen += [x["finding_id"] for x in page["findings"]]
    assert len(seen) == len(set(seen)) and set(before) <= set(seen)


@pytest.mark.parametrize("query, path", [
    ("severity=extreme", "severity"), ("since=yesterday", "since"), ("until=2026-05-01", "until"),
    ("since=2026-05-01T00:00:00Z&until=2026-04-01T00:00:00Z", "until"), ("after=not-a-cursor", "after"),
    ("after=WyJhIiwiYiJd", "after"), ("site_id=", "site_id"), ("organisation_id=", "organisation_id"),
    ("kind=child_at_work", "kind"), ("after=WyJhIiwiYiIsImMiXQ&offset=3", "after"), ("limit=1001", "limit"),
])
def test_bad_filters_are_422_with_the_parameter(client, buyer_key, query, path):
    response = client.get(f"/v1/findings?{query}", headers=bearer(buyer_key))
    assert response.status_code == 422
    assert path in response.get_json()["error"]["details"]
