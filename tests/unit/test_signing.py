"""Signed attestations: an organisation's Ed25519 signature over the 32 bytes of an event's hash."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from events import signing
from events.canonical import content_hash
from events.envelope import prepare, validation_errors
from tests import factories as f

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
PRIVATE = signing.new_private_key()


def registered(organisation: str = "refinery-alpha", **changes) -> signing.SigningKey:
    fields = dict(organisation=organisation, key_id="alpha-2026", public_key=signing.public_key_b64(PRIVATE),
                  valid_from=NOW - timedelta(days=30), registered_at=NOW - timedelta(days=1))
    return signing.SigningKey(**{**fields, **changes})


def signed_assay(recorded_by: str = "refinery-alpha") -> dict:
    return signing.sign_envelope(f.assay("lot-1", 0.995, recorded_by=recorded_by), PRIVATE, "alpha-2026")


def test_the_signature_covers_the_hash_and_is_kept_in_the_body():
    unsigned = f.assay("lot-1", 0.995, recorded_by="refinery-alpha")
    signed = signing.sign_envelope(unsigned, PRIVATE, "alpha-2026")
    assert validation_errors(signed) == {}
    prepared = prepare(signed)
    # the hash is that of the unsigned envelope, so the signature can sign it
    assert prepared.hash == prepare(unsigned).hash == content_hash(signed) == signing.event_hash(unsigned)
    assert b'"signature":{"alg":"Ed25519"' in prepared.body
    assert hashlib.sha256(prepared.body).hexdigest() != prepared.hash
    public = PRIVATE.public_key()
    public.verify(base64.b64decode(signed["signature"]["value"]), bytes.fromhex(prepared.hash))


def test_a_good_signature_makes_the_event_signed_by_its_organisation():
    event = signed_assay()
    assert signing.signature_problem(event["signature"], signing.event_hash(event), "refinery-alpha",
                                     registered(), NOW) is None


@pytest.mark.parametrize("key, recorded_by, field, words", [
    (None, "refinery-alpha", "key_id", "Unknown signing key"),
    (registered(registered_at=NOW + timedelta(seconds=1)), "refinery-alpha", "key_id", "Unknown signing key"),
    (registered(organisation="refinery-beta"), "refinery-alpha", "key_id", "belongs to 'refinery-beta'"),
    (registered(revoked_at=NOW - timedelta(seconds=1)), "refinery-alpha", "key_id", "was revoked"),
    (registered(valid_from=NOW + timedelta(days=1)), "refinery-alpha", "key_id", "is valid only from"),
    (registered(public_key=signing.public_key_b64(signing.new_private_key())), "refinery-alpha", "value",
     "Not a valid Ed25519 signature"),
])
def test_what_a_signature_does_not_prove(key, recorded_by, field, words):
    event = signed_assay()
    problem = signing.signature_problem(event["signature"], signing.event_hash(event), recorded_by, key, NOW)
    assert problem is not None and problem[0] == field and words in problem[1]


def test_a_key_revoked_after_the_event_leaves_its_signature_standing():
    event = signed_assay()
    later = registered(revoked_at=NOW + timedelta(hours=1))
    assert signing.signature_problem(event["signature"], signing.event_hash(event), "refinery-alpha", later, NOW) is None


def test_a_changed_event_no_longer_matches_its_signature():
    event = signed_assay()
    event["data"]["fineness"] = 0.999
    problem = signing.signature_problem(event["signature"], signing.event_hash(event), "refinery-alpha", registered(), NOW)
    assert problem is not None and problem[0] == "value"


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=64 * 8 - 1))
def test_any_flipped_bit_of_the_signature_fails(bit):
    event = signed_assay()
    raw = bytearray(base64.b64decode(event["signature"]["value"]))
    raw[bit // 8] ^= 1 << (bit % 8)
    assert not signing.verify(signing.public_key_b64(PRIVATE), signing.event_hash(event), base64.b64encode(raw).decode())


@pytest.mark.parametrize("signature, paths", [
    ({"key_id": "k", "alg": "Ed25519"}, {"signature.value"}),
    ({"key_id": "k", "alg": "RSA", "value": base64.b64encode(bytes(64)).decode()}, {"signature.alg"}),
    ({"key_id": "k", "alg": "Ed25519", "value": base64.b64encode(bytes(63)).decode()}, {"signature.value"}),
    ({"key_id": "k", "alg": "Ed25519", "value": "not base64!"}, {"signature.value"}),
    ({"key_id": "k k", "alg": "Ed25519", "value": base64.b64encode(bytes(64)).decode(), "by": "x"},
     {"signature.key_id", "signature.by"}),
])
def test_a_malformed_signature_is_refused_with_its_path(signature, paths):
    assert set(validation_errors({**f.assay("lot-1", 0.9), "signature": signature})) == paths


def test_a_key_registration_carries_32_raw_bytes_of_public_key():
    good = f.key_registered("refinery-alpha", "alpha-2026", signing.public_key_b64(PRIVATE))
    assert validation_errors(good) == {}
    short = f.key_registered("refinery-alpha", "alpha-2026", base64.b64encode(bytes(31)).decode())
    assert set(validation_errors(short)) == {"data.public_key"}


def test_a_private_key_file_round_trips():
    loaded = signing.load_private_key(signing.private_key_pem(PRIVATE))
    assert signing.public_key_b64(loaded) == signing.public_key_b64(PRIVATE)


def test_oretrail_keygen_and_sign_make_an_envelope_the_platform_accepts(tmp_path, monkeypatch, capsys):
    import io
    import json

    from composition.cli import main

    key_file = tmp_path / "atelier.pem"
    assert main(["keygen", "--out", str(key_file)]) == 0
    public_key = capsys.readouterr().out.strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert main(["keygen", "--out", str(key_file)]) == 2  # never overwritten
    capsys.readouterr()
    envelope = f.assay("lot-1", 0.995, recorded_by="atelier")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"events": [envelope]})))
    assert main(["sign", "--key", str(key_file), "--key-id", "atelier-1"]) == 0
    [out] = json.loads(capsys.readouterr().out)["events"]
    assert validation_errors(out) == {}
    key = signing.SigningKey("atelier", "atelier-1", public_key, NOW - timedelta(days=1), NOW - timedelta(days=1))
    assert signing.signature_problem(out["signature"], signing.event_hash(out), "atelier", key, NOW) is None
