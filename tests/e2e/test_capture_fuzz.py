"""Nothing a client sends produces a 500: random bodies and mutated events get clear answers."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from tests import factories as f
from tests.conftest import bearer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)
TEMPLATES = f.two_site_ring_chain() + [
    f.transfer("lot-a", "m-1", "coop-mambasa", 10.0), f.assay("lot-a", 0.9), f.split("lot-a", {"x": 1.0}),
    f.event("lot.exported", {"lot_id": "l", "export_permit": "p", "destination_country": "CH"}),
    f.event("risk.flagged", {"flag_id": "r", "subject_id": "s", "category": "bribery", "severity": "low", "description": "d"}),
]


@st.composite
def mutated_events(draw):
    envelope = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    target = draw(st.sampled_from(["envelope", "data"]))
    container = envelope if target == "envelope" else envelope["data"]
    key = draw(st.sampled_from(sorted(container)) | st.text(max_size=8))
    if draw(st.booleans()):
        container[key] = draw(json_values)
    else:
        container.pop(key, None)
    return envelope


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=json_values)
def test_random_bodies_are_refused_cleanly(client, admin_key, platform, body):
    response = client.post("/v1/events", data=json.dumps(body), headers={**bearer(admin_key), "Content-Type": "application/json"})
    assert response.status_code in (200, 413, 422), response.get_data(as_text=True)
    assert "error" in response.get_json() or response.status_code == 200


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(mutated_events(), min_size=1, max_size=3))
def test_mutated_events_are_accepted_or_refused_with_paths(client, admin_key, platform, events):
    before = platform.log.end_position()
    response = client.post("/v1/events", data=json.dumps({"events": events}),
                           headers={**bearer(admin_key), "Content-Type": "application/json"})
    assert response.status_code in (200, 409, 422), response.get_data(as_text=True)
    if response.status_code == 422:
        details = response.get_json()["error"]["details"]
        assert details and all(path.startswith("events.") for path in details)
        assert platform.log.end_position() == before
    platform.catch_up()
    assert platform.runner("provenance").dead_letter_count() == 0
