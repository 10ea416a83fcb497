"""The compiled rules and the marshmallow schemas accept and refuse exactly the same documents.

Capture asks the compiled rules first (``events.compiled``) and marshmallow only for what they
refuse: a document the compiled rules accepted but marshmallow would refuse would slip in. Every
event of the demo and of the test factories, and any mutation of one (a field dropped, added,
or given any JSON value, at any depth), gets the same verdict from both.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import signing
from events.catalogue import CATALOGUE
from events.envelope import _compiled, compiled_verdict, marshmallow_errors
from services.demo import build_demo_events
from tests import factories as f

NOW = datetime(2026, 12, 4, tzinfo=timezone.utc)

INTERESTING_STRINGS = [
    "", " ", "x" * 600, "lot-1", "a b", "LOT/1", "2026-03-02T10:15:00+01:00", "2026-03-02T10:15:00",
    "2026-02-30T10:15:00Z", "9999-12-31T23:59:59-23:59", "2026-03-02", "2026-03", "12.50", "12.505", "-1",
    "1e3", "EUR", "XXX", "eur", "CD", "ZZ", "ab" * 32, "AB" * 32, "0f9b7d7e-2b1a-4c55-8a44-6b3f1d2c9e01",
    "female", "male", "gold", "cooperative", "Ed25519", "AAAA", "05012345678900", "0501234567890",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**17, max_value=10**17)
    | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(INTERESTING_STRINGS) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["kind", "sha256", "x", "lot_id"]),
                                                                      children, max_size=3),
    max_leaves=6,
)


@cache
def examples() -> list[dict[str, Any]]:
    """Valid events of every type: the demo's, the factories', and signed ones."""
    demo = [event for batch in build_demo_events().batches for event in batch]
    private = signing.new_private_key()
    made = [
        *f.two_site_ring_chain(),
        f.split("lot-9", {"lot-9a": 4.0, "lot-9b": 5.0}),
        f.key_registered("coop-mambasa", "coop-key-1", signing.public_key_b64(private)),
        f.key_revoked("coop-mambasa", "coop-key-1"),
        f.event("event.retracted", {"event_id": "5b1d3c2e-0000-4000-8000-000000000001", "reason": "typo"}),
    ]
    made.append(signing.sign_envelope(f.production("lot-s", "pit-a", 10.0), private, "coop-key-1"))
    found = [event for event in demo + made if not marshmallow_errors(event, NOW)]
    assert len(found) == len(demo) + len(made), "an example is not valid"
    return found


def _containers(document: Any, path: tuple = ()) -> list[tuple]:
    """The path of every dict and list inside ``document`` (itself included)."""
    found = [path] if isinstance(document, (dict, list)) else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += _containers(value, path + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _containers(value, path + (index,))
    return found


def _at(document: Any, path: tuple) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def mutated_events(draw) -> dict[str, Any]:
    """A valid event with one to three changes anywhere in it."""
    event = copy.deepcopy(draw(st.sampled_from(examples())))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        container = _at(event, draw(st.sampled_from(_containers(event))))
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        change = draw(st.sampled_from(["set", "drop", "add"] if keys else ["add"]))
        if change == "set":
            container[draw(st.sampled_from(keys))] = draw(json_values)
        elif change == "drop":
            del container[draw(st.sampled_from(keys))]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(["extra", "name", "mass_g", "price", "signature", "evidence"]))] = \
                draw(json_values)
        else:
            container.append(draw(json_values))
    return event


def test_every_event_type_has_compiled_rules():
    envelope, data_rules = _compiled()
    assert envelope is not None and set(data_rules) == set(CATALOGUE)


def test_every_example_is_accepted_by_both():
    for event in examples():
        assert compiled_verdict(event, NOW), event["type"]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_both_give_the_same_verdict_on_any_mutation_of_a_valid_event(event):
    assert compiled_verdict(event, NOW) == (marshmallow_errors(event, NOW) == {}), event


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_both_refuse_what_is_no_event_at_all(document):
    assert compiled_verdict(document, NOW) == (marshmallow_errors(document, NOW) == {})
