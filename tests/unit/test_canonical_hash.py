"""Canonical JSON and the content hash that buyers recompute."""
from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings, strategies as st

from events.attestation import Attestation
from events.canonical import canonical_json, content_hash
from events.envelope import prepare
from tests import factories as f


def test_canonical_json_sorts_keys_and_drops_whitespace():
    assert canonical_json({"b": 1, "a": [1.0, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_rfc8785_number_forms():
    assert canonical_json([1e21, 0.1, -0.0, 100.0]) == b"[1e+21,0.1,0,100]"


def test_hash_is_sha256_of_the_canonical_envelope_without_server_fields():
    envelope = f.production("lot-1", "pit-a", 12.5, 0.9)
    expected = hashlib.sha256(json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert content_hash(envelope) == expected
    served = {**envelope, "recorded_at": "2026-03-02T09:00:00Z", "position": 7, "hash": "x",
              "attested_by": {"organisation": "coop-mambasa", "role": "cooperative", "key_id": "0a1b2c3d"}}
    assert content_hash(served) == expected


def test_attested_by_is_kept_beside_the_body_not_in_it():
    envelope = f.production("lot-1", "pit-a", 12.5, 0.9)
    attested = prepare(envelope, Attestation(organisation="oretrail-admin", role="admin", key_id="ffee0011"))
    plain = prepare(envelope)
    assert (attested.body, attested.hash) == (plain.body, plain.hash)
    assert b"attested_by" not in attested.body and attested.attested_by.role == "admin"


def test_any_change_of_content_changes_the_hash():
    envelope = f.production("lot-1", "pit-a", 12.5, 0.9)
    changed = json.loads(json.dumps(envelope))
    changed["data"]["mass_g"] = 12.6
    assert content_hash(envelope) != content_hash(changed)


def test_key_order_and_number_spelling_do_not_change_the_hash():
    envelope = f.production("lot-1", "pit-a", 12.0, 0.9)
    reordered = dict(reversed(list(envelope.items())))
    reordered["data"] = {**envelope["data"], "mass_g": 12}
    assert content_hash(envelope) == content_hash(reordered)


def test_the_stored_body_is_the_canonical_envelope():
    envelope = f.production("lot-1", "pit-a", 12.0, 0.9)
    prepared = prepare(envelope)
    assert hashlib.sha256(prepared.body).hexdigest() == prepared.hash


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400)
@given(json_values)
def test_the_fast_path_agrees_with_the_reference_implementation(value):
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("number", [1e-7, 1e-5, 0.0001, 123456.789, 1e15 + 0.5, 1e16, 1e21, 2.0**53, -0.0, 5e-324])
def test_awkward_numbers_are_canonical(number):
    assert canonical_json({"x": number}) == rfc8785.dumps({"x": number})


@pytest.mark.parametrize("text", ["\x00\x01\x1f\x7f", "\b\f\n\r\t\"\\/", "\u2028\u2029", "é€😀", "\ud7ff\ue000\uffff"])
def test_awkward_strings_are_canonical(text):
    value = {"text": text, "list": [text, {"k": text}]}
    assert canonical_json(value) == rfc8785.dumps(value)


def test_nesting_deeper_than_the_fast_encoder_takes_gives_the_same_bytes():
    deep: object = "leaf"
    for level in range(300):
        deep = [deep] if level % 2 else {"k": deep}
    assert canonical_json(deep) == json.dumps(deep, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def test_a_lone_surrogate_is_refused():
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"text": "\ud800"})


def test_integers_beyond_the_json_safe_range_are_refused_as_by_the_reference():
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json({"x": 2**53 + 1})
