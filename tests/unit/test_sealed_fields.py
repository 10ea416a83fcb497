"""Sealed personal fields: each person's own key, bound to person and field, the same bytes on a retry."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine

from events.sealed import SealError, is_sealed, open_sealed, seal
from services.errors import Conflict
from services.keystore import SqlKeyStore
from services.personal_data import PersonalData
from tests import factories as f

KEY = os.urandom(32)


def test_a_sealed_name_opens_with_its_key_for_its_person_and_field_only():
    sealed = seal(KEY, "kid-1", "m-1", "name", "ev-1", "Esther Lokana")
    assert is_sealed(sealed) and sealed["enc"] == "A256GCM" and sealed["kid"] == "kid-1"
    assert "Esther" not in str(sealed)
    assert open_sealed(KEY, "m-1", "name", sealed) == "Esther Lokana"
    with pytest.raises(SealError):
        open_sealed(KEY, "m-2", "name", sealed)  # copied into another person's event
    with pytest.raises(SealError):
        open_sealed(KEY, "m-1", "photo_id_sha256", sealed)  # moved to another field
    with pytest.raises(SealError):
        open_sealed(os.urandom(32), "m-1", "name", sealed)
    tampered = {**sealed, "ct": ("A" if sealed["ct"][0] != "A" else "B") + sealed["ct"][1:]}
    with pytest.raises(SealError):
        open_sealed(KEY, "m-1", "name", tampered)


def test_a_birth_year_stays_a_number_and_a_retry_gives_the_same_bytes():
    sealed = seal(KEY, "kid-1", "m-1", "birth_year", "ev-1", 1990)
    assert open_sealed(KEY, "m-1", "birth_year", sealed) == 1990
    assert seal(KEY, "kid-1", "m-1", "birth_year", "ev-1", 1990) == sealed  # idempotent upload, same hash
    # another value or another event never reuses the IV
    assert seal(KEY, "kid-1", "m-1", "birth_year", "ev-1", 1991)["iv"] != sealed["iv"]
    assert seal(KEY, "kid-1", "m-1", "birth_year", "ev-2", 1990)["iv"] != sealed["iv"]


@pytest.fixture
def personal(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = SqlKeyStore(engine)
    store.create_tables()
    yield PersonalData(store)
    engine.dispose()


def test_each_person_gets_a_key_of_their_own_and_erasure_destroys_it(personal):
    esther = f.miner("m-1", "site-a", name="Esther Lokana", photo_id_sha256="ab" * 32)
    jean = f.miner("m-2", "site-a", name="Jean Kasereka")
    site = f.site("site-a")
    stored = personal.seal([esther, jean, site])
    assert stored[2] is site  # no personal field: stored as sent
    kids = {stored[0]["data"]["name"]["kid"], stored[1]["data"]["name"]["kid"]}
    assert len(kids) == 2
    opened = personal.reveal([("miner.registered", stored[0]["data"]), ("miner.registered", stored[1]["data"])])
    assert opened == [{"name": "Esther Lokana", "photo_id_sha256": "ab" * 32, "birth_year": 1990},
                      {"name": "Jean Kasereka", "photo_id_sha256": None, "birth_year": 1990}]
    erasure = f.event("person.erased", {"person_id": "m-1", "reason": "asked"}, recorded_by="platform")
    personal.shred([erasure])
    assert personal.erased(["m-1", "m-2"]) == {"m-1"}
    opened = personal.reveal([("miner.registered", stored[0]["data"]), ("miner.registered", stored[1]["data"])])
    assert opened[0] == {"name": None, "photo_id_sha256": None, "birth_year": None}
    assert opened[1]["name"] == "Jean Kasereka"
    with pytest.raises(Conflict):
        personal.seal([f.miner("m-1", "site-a", name="Esther Lokana")])


def test_a_signed_registration_is_stored_unsigned_and_sealed(personal):
    signed = {**f.miner("m-1", "site-a", name="Esther Lokana"),
              "signature": {"key_id": "k", "alg": "Ed25519", "value": "x"}}
    stored = personal.seal([signed])[0]
    assert "signature" not in stored and is_sealed(stored["data"]["name"])
