"""Every JSON route of the app answers as openapi.yaml says, in a small story of a community's gold.

Every test's answers are checked against the document (tests/answers.py, wired in tests/conftest.py);
this test makes sure that checking reaches every route: it walks the app's url_map, asks each route
as an admin, a buyer and a stranger, and fails if a route that answers JSON got no checked answer.
"""
from __future__ import annotations

import threading

import pytest
import requests
import yaml
from werkzeug.serving import make_server

from tests import factories as f
from tests.answers import DOCUMENT, Answer, AnswerChecker, AnswerDrift, Question
from tests.conftest import bearer
from tests.impact_story import at, community

#: a value for each path parameter of the app's routes, all of them known in the story
PATH_VALUES = {"product_id": "ring-1", "lot_id": "coop-1", "gtin": "03760123450010", "serial": "000001",
               "miner_id": "m-1", "person_id": "m-1"}
#: query strings a route needs to answer 200 in the story
QUERIES = {
    "/v1/payouts": "?cooperative_id=coop-mambasa",
    "/v1/miners": "?cooperative_id=coop-mambasa",
    # the log's proofs: the story's first event in the tree of the first two, and those two trees
    "/v1/log/proof/inclusion": lambda log: f"?event_id={log.read(limit=1)[0].event_id}&tree_size=2",
    "/v1/log/proof/consistency": "?from=1&to=2",
}


def story() -> list[dict]:
    """The community of tests/impact_story.py, with a lie (a lot merged twice), a risk and an audit."""
    return community() + [
        f.merge("coop-2", {"lot-w-0": 10.0}, at=at("2026-02-22")),
        f.event("risk.flagged", {"flag_id": "risk-1", "subject_id": "site-a", "category": "child_labour",
                                 "severity": "medium", "description": "Children seen at the washing ponds."},
                recorded_by="admin", at=at("2026-02-25")),
        f.event("audit.completed", {"subject_id": "refiner-x", "auditor": "auditor-y", "result": "pass"},
                recorded_by="admin", at=at("2026-03-01")),
    ]


def json_operations() -> dict[tuple[str, str], dict]:
    """The operations of openapi.yaml whose success answer is JSON, by (method, path template)."""
    document = yaml.safe_load(DOCUMENT.read_text())
    return {(method, path): operation
            for path, operations in document["paths"].items() for method, operation in operations.items()
            if any(str(status).startswith("2") and "application/json" in (answer.get("content") or {})
                   for status, answer in operation["responses"].items())}


def url_of(template: str, log=None, values: dict[str, str] = PATH_VALUES) -> str:
    """A URL of a route of the story, from its template (e.g. /v1/lots/{lot_id})."""
    url = template
    for name, value in values.items():
        url = url.replace("{" + name + "}", value)
    assert "{" not in url, f"no value in PATH_VALUES for a parameter of {template}"
    query = QUERIES.get(template, "")
    return url + (query(log) if callable(query) else query)


def test_every_json_route_answers_as_the_document_says(app, client, platform, admin_key, buyer_key, checked_answers,
                                                       monkeypatch):
    response = client.post("/v1/events", json={"events": story()}, headers=bearer(admin_key))
    assert response.status_code == 200
    platform.catch_up()
    # a webhook subscription (to a public address: no sender runs here, nothing is sent), and a replay
    subscription = client.post("/v1/subscriptions", json={"url": "http://93.184.215.14/hooks"}, headers=bearer(admin_key))
    assert subscription.status_code == 201
    monkeypatch.setitem(PATH_VALUES, "subscription_id", subscription.get_json()["id"])
    assert client.post(f"/v1/subscriptions/{subscription.get_json()['id']}/replay",
                       headers=bearer(admin_key)).status_code == 202
    # an EPCIS capture job of the story: the ring's history, exported and captured again
    exported = client.get("/v1/products/ring-1/epcis", headers=bearer(admin_key)).get_data()
    captured = client.post("/epcis/capture", data=exported, content_type="application/ld+json",
                           headers=bearer(admin_key))
    values = {**PATH_VALUES, "capture_id": captured.headers["Location"].rsplit("/", 1)[1]}
    documented = json_operations()
    walked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        template = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method.lower(), template) not in documented or method != "GET":
                continue
            walked.add((method.lower(), template))
            for headers in (bearer(admin_key), bearer(buyer_key), {}):
                client.get(url_of(template, platform.log, values), headers=headers)
            client.get(url_of(template, platform.log, values).replace("ring-1", "no-such-ring").replace("coop-1", "no-such-lot"),
                       headers=bearer(buyer_key))
    # a JSON answer of a POST besides capture: a miner's statement link
    assert client.post("/v1/miners/m-1/statement-links", headers=bearer(admin_key)).status_code == 201
    # the one other JSON route that records: erasing a person (last, it changes what the miners' routes say)
    erased = client.post(url_of("/v1/persons/{person_id}/erasure"), json={"reason": "asked"}, headers=bearer(admin_key))
    assert erased.status_code == 200
    succeeded = {(answer.method, answer.path) for answer in checked_answers
                 if 200 <= answer.status < 300 and answer.content_type == "application/json"}
    missing = sorted(set(documented) - succeeded)
    assert missing == [], f"JSON routes without a checked answer in the story: {missing}"
    assert ("post", "/v1/events") in succeeded and len(walked) >= 9
    statuses = {answer.status for answer in checked_answers}
    assert {200, 401, 404} <= statuses  # the error answers were checked too


def test_an_answer_the_document_does_not_allow_fails_the_test(app, client, admin_key):
    """The checker is no rubber stamp: a field the document does not name, or a wrong type, is drift."""
    checker = AnswerChecker()
    answer = client.get("/healthz")
    assert checker.check_werkzeug(answer).path == "/healthz"
    answer.set_data(b'{"status": "ok", "uptime": 3}')
    with pytest.raises(AnswerDrift, match="uptime"):
        checker.check_werkzeug(answer)
    answer = client.get("/v1/findings", headers=bearer(admin_key))
    answer.set_data(answer.get_data().replace(b'"total":0', b'"total":"none"'))
    with pytest.raises(AnswerDrift, match="total"):
        checker.check_werkzeug(answer)
    answer.status_code = 418
    with pytest.raises(AnswerDrift, match="418"):
        checker.check_werkzeug(answer)


def test_answers_outside_the_document_are_not_checked(client):
    checker = AnswerChecker()
    assert checker.check_werkzeug(client.get("/no/such/page")) is None
    assert checker.check(Question("get", "http://localhost/", "/v1/nothing"), None) is None


def test_answers_of_a_real_server_are_checked_too(app, checked_answers):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert requests.get(f"http://127.0.0.1:{server.server_port}/healthz", timeout=10).status_code == 200
    finally:
        server.shutdown()
        thread.join(10)
    assert Answer("get", "/healthz", 200, "application/json") in checked_answers
