"""The event catalogue is strict: every malformed field is named by its path."""
from __future__ import annotations

import math

import pytest

from events.catalogue import CATALOGUE
from events.envelope import prepare, stream_of, validation_errors
from tests import factories as f


def test_a_well_formed_chain_has_no_errors():
    for envelope in f.two_site_ring_chain():
        assert validation_errors(envelope) == {}, envelope["type"]


def test_every_contract_type_is_in_the_catalogue():
    contract = {
        "organization.registered", "site.registered", "pit.registered", "miner.registered", "pit.inspected",
        "production.recorded", "lot.transferred", "lot.received", "lots.merged", "lot.split", "lot.assayed",
        "lot.exported", "lot.refined", "product.manufactured", "product.sold",
        "risk.flagged", "risk.resolved", "audit.completed",
        "survey.completed", "vsla.registered", "vsla.reported", "training.held", "leadership.recorded",
        "market.price_recorded",
    }
    # v1 plus what later issues added (extend, never rename or narrow)
    added = {"event.retracted", "organization.key_registered", "organization.key_revoked", "risk.response_planned",
             "person.erased", "payout.policy_set", "payout.paid"}
    assert contract | added == set(CATALOGUE)


def test_a_retraction_names_another_event_and_says_why():
    envelope = f.event("event.retracted", {"event_id": "not-a-uuid", "reason": ""})
    assert set(validation_errors(envelope)) == {"data.event_id", "data.reason"}
    itself = f.event("event.retracted", {"event_id": "5b1d3c2e-0000-4000-8000-000000000001", "reason": "typo"},
                     event_id="5b1d3c2e-0000-4000-8000-000000000001")
    assert validation_errors(itself) == {"data.event_id": ["An event cannot retract itself."]}


@pytest.mark.parametrize("mass", [-1.0, 0, "12.5", True, None, math.inf, math.nan, 10**16])
def test_masses_must_be_positive_finite_numbers(mass):
    envelope = f.production("lot-1", "pit-a", 10.0)
    envelope["data"]["mass_g"] = mass
    assert "data.mass_g" in validation_errors(envelope)


@pytest.mark.parametrize("fineness", [0, -0.1, 1.0001, 999, "0.9", False])
def test_fineness_must_lie_in_zero_one(fineness):
    envelope = f.assay("lot-1", 0.9)
    envelope["data"]["fineness"] = fineness
    assert "data.fineness" in validation_errors(envelope)


def test_fineness_of_exactly_one_is_accepted():
    assert validation_errors(f.assay("lot-1", 1)) == {}


def test_a_weighing_may_find_nothing_but_a_production_may_not_be_empty():
    received = f.event("lot.received", {"lot_id": "lot-1", "mass_g": 0})
    assert validation_errors(received) == {}
    assert "data.mass_g" in validation_errors(f.production("lot-1", "pit-a", 0))


def test_nested_errors_carry_the_full_path():
    envelope = f.merge("m-1", {"a": 1.0, "b": 2.0})
    envelope["data"]["inputs"][1]["mass_g"] = -2
    envelope["data"]["inputs"][0]["colour"] = "gold"
    errors = validation_errors(envelope)
    assert set(errors) == {"data.inputs.1.mass_g", "data.inputs.0.colour"}


@pytest.mark.parametrize("field,value", [
    ("event_id", "not-a-uuid"),
    ("event_id", "3F0C1B7E-3C1E-4A7A-9A53-0D7F2F3B9A10"),
    ("occurred_at", "2026-03-02 10:15"),
    ("occurred_at", "2026-03-02T10:15:00"),  # no zone
    ("occurred_at", "2026-02-30T10:15:00Z"),
    ("occurred_at", "2999-01-01T00:00:00Z"),  # in the future
    ("recorded_by", "coop mambasa"),
    ("recorded_by", "x" * 129),
    ("type", "lot.teleported"),
    ("data", []),
])
def test_envelope_errors_name_their_field(field, value):
    envelope = f.production("lot-1", "pit-a", 10.0)
    envelope[field] = value
    assert field in validation_errors(envelope)


def test_unknown_and_missing_fields_are_errors():
    envelope = f.production("lot-1", "pit-a", 10.0)
    envelope["colour"] = "gold"
    del envelope["data"]["pit_id"]
    errors = validation_errors(envelope)
    assert errors["colour"] == ["Unknown field."]
    assert "data.pit_id" in errors


@pytest.mark.parametrize("mutate,path", [
    (lambda d: d.update(country="XX"), "data.country"),
    (lambda d: d.update(country="cd"), "data.country"),
    (lambda d: d.update(latitude=91.0), "data.latitude"),
    (lambda d: d.update(site_id="a/b"), "data.site_id"),
])
def test_site_fields(mutate, path):
    envelope = f.site("site-a")
    mutate(envelope["data"])
    assert path in validation_errors(envelope)


def test_money_is_a_decimal_string_with_a_currency():
    envelope = f.transfer("lot-1", "m-1", "coop", 10.0)
    envelope["data"]["price_per_g"] = 52.3
    assert "data.price_per_g" in validation_errors(envelope)
    envelope["data"]["price_per_g"] = "52.30"
    assert "data.currency" in validation_errors(envelope)
    envelope["data"]["currency"] = "USD"
    assert validation_errors(envelope) == {}


def test_transformations_reject_repeated_or_self_referencing_lots():
    assert "data.inputs.1.lot_id" in validation_errors(f.event("lots.merged", {
        "lot_id": "m", "inputs": [{"lot_id": "a", "mass_g": 1}, {"lot_id": "a", "mass_g": 2}]}))
    assert "data.lot_id" in validation_errors(f.merge("a", {"a": 1.0}))
    assert "data.outputs.0.lot_id" in validation_errors(f.refine({"a": 1.0}, {"a": (1.0, 0.99)}))
    assert "data.inputs" in validation_errors(f.event("lots.merged", {"lot_id": "m", "inputs": []}))


def test_booleans_are_strict():
    envelope = f.event("pit.inspected", {"pit_id": "p", "status": "active", "children_present": "no"})
    assert "data.children_present" in validation_errors(envelope)


def test_evidence_keeps_a_hash_never_a_document():
    envelope = f.production("lot-1", "pit-a", 10.0, evidence=[{"kind": "photo", "sha256": "0" * 64}])
    assert validation_errors(envelope) == {}
    envelope["evidence"][0]["content"] = "base64..."
    assert "evidence.0.content" in validation_errors(envelope)


def test_a_non_object_is_an_error():
    assert validation_errors(["not", "an", "event"]) == {"": ["An event must be a JSON object."]}


def test_streams_follow_the_thing_an_event_is_about():
    assert stream_of("lot.transferred", {"lot_id": "L1"}) == "lot:L1"
    assert stream_of("product.sold", {"product_id": "P"}) == "product:P"
    assert stream_of("lot.refined", {"outputs": [{"lot_id": "bar"}]}) == "lot:bar"
    assert prepare(f.site("s")).stream_id == "site:s"


def vsla(**counts):
    data = {"group_id": "vsla-1", "site_id": "site-a", "members_female": 20, "members_male": 8,
            "committee_female": 4, "committee_male": 1, **counts}
    return f.event("vsla.registered", data)


def test_a_savings_group_is_consistent():
    assert validation_errors(vsla()) == {}


def test_a_committee_cannot_have_more_women_or_men_than_the_group():
    assert set(validation_errors(vsla(committee_female=21))) == {"data.committee_female"}
    assert set(validation_errors(vsla(members_male=0, committee_male=1))) == {"data.committee_male"}


def test_a_savings_group_has_members_and_a_training_attendees():
    assert "data.members_female" in validation_errors(vsla(members_female=0, members_male=0, committee_female=0,
                                                           committee_male=0))
    training = f.event("training.held", {"site_id": "site-a", "kind": "literacy", "attendees_female": 0,
                                         "attendees_male": 0})
    assert set(validation_errors(training)) == {"data.attendees_female"}


def test_leadership_may_name_the_site_where_the_position_is_held():
    data = {"person_id": "p-1", "gender": "female", "position": "peace hub mediator", "organisation_id": "hub-1"}
    assert validation_errors(f.event("leadership.recorded", {**data, "site_id": "site-a"})) == {}
    assert "data.site_id" in validation_errors(f.event("leadership.recorded", {**data, "site_id": "bad id"}))
