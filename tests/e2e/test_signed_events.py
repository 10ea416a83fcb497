"""Signed attestations: the refiner and the jeweller register Ed25519 keys and sign their steps; the
platform checks each signature at capture, shows which steps are signed in the timeline, the
due-diligence record and the public page, and refuses every signature that proves nothing.

Through the API with a key per organisation, on the SQLite log with read models on SQLite and on
PostgreSQL.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from events import signing
from events.attestation import Attestation
from events.envelope import prepare
from tests import factories as f
from tests.e2e.test_authority_attacks import RING, Organisations, honest_story

#: each organisation that signs, its key id and its private key (made once for the module)
SIGNERS = {"refiner-x": "refiner-x-2026", "atelier": "atelier-2026"}
PRIVATE = {org: signing.new_private_key() for org in SIGNERS}


def registration(org: str, **kw) -> dict:
    return f.key_registered(org, SIGNERS[org], signing.public_key_b64(PRIVATE[org]), **kw)


def signed(event: dict, by: str | None = None, key_id: str | None = None) -> dict:
    """``event`` signed with the key of ``by`` (by default its recorder), named ``key_id``."""
    signer = by or event["recorded_by"]
    return signing.sign_envelope(event, PRIVATE[signer], key_id or SIGNERS[signer])


def signed_story() -> list[dict]:
    """The honest story of the ring, with every step of the refiner and the jeweller signed."""
    return [signed(event) if event["recorded_by"] in SIGNERS else event for event in honest_story()]


@pytest.fixture
def chain(platform, client) -> Organisations:
    organisations = Organisations(platform, client)
    organisations.record([registration("refiner-x"), registration("atelier")])
    platform.catch_up()
    organisations.record(signed_story())
    platform.catch_up()
    return organisations


def post(chain: Organisations, org: str, events: list[dict]):
    return chain.client.post("/v1/events", json={"events": events}, headers={"Authorization": f"Bearer {chain.keys[org]}"})


def timeline(chain: Organisations) -> list[dict]:
    return chain.get(f"/v1/products/{RING}/provenance").get_json()["timeline"]


def test_signed_steps_are_shown_signed_by_their_organisation(chain):
    steps = timeline(chain)
    for event in steps:
        if event["recorded_by"] in SIGNERS:
            assert event.get("signed_by") == {"organisation": event["recorded_by"], "key_id": SIGNERS[event["recorded_by"]]}
            assert event["signature"]["alg"] == "Ed25519"
        else:
            assert "signed_by" not in event and "signature" not in event  # unsigned: served as before
    signed_steps = [event for event in steps if event.get("signed_by")]
    assert {event["type"] for event in signed_steps} >= {"lot.refined", "product.manufactured"}
    # anyone can check a signature from the served event alone, against the key the organisation registered
    for event in signed_steps:
        assert signing.event_hash(event) == event["hash"]
        assert signing.verify(signing.public_key_b64(PRIVATE[event["recorded_by"]]), event["hash"],
                              event["signature"]["value"])
    bar_events = chain.get("/v1/lots/bar-1/events").get_json()["events"]
    assert {event.get("signed_by")["organisation"] for event in bar_events if event.get("signed_by")} == {"refiner-x", "atelier"}


def test_the_due_diligence_record_says_which_steps_are_signed(chain):
    record = chain.get(f"/v1/products/{RING}/due-diligence").get_json()
    by_id = {event["event_id"]: event for event in timeline(chain)}
    for step in record["chain_of_custody"]:
        assert step["signed_by"] == by_id[step["event_id"]].get("signed_by")
    count = sum(1 for step in record["chain_of_custody"] if step["signed_by"])
    assert count > 0
    html = chain.get(f"/v1/products/{RING}/due-diligence?format=html").get_data(as_text=True)
    assert f"{count} of its {len(record['chain_of_custody'])} steps carry the Ed25519 signature" in html
    assert "refiner-x's own key <code>refiner-x-2026</code>" in html
    assert "not signed: recorded through an API key" in html


def test_the_public_page_counts_the_signed_steps(chain):
    story = chain.get(f"/v1/products/{RING}/provenance").get_json()["timeline"]
    page_en = chain.client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    page_fr = chain.client.get(f"/p/{RING}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    signed_count = sum(1 for event in story if event.get("signed_by"))
    # the page tells the piece's own story (not sibling pieces of the same bar): count what it says
    match = re.search(r"(\d+) of its (\d+) steps carry the signature of the organisation that did them", page_en)
    assert match, page_en
    assert 0 < int(match.group(1)) <= signed_count and int(match.group(1)) < int(match.group(2))
    assert f"{match.group(1)} de ses {match.group(2)} étapes portent la signature" in page_fr
    assert "the platform cannot forge it" in page_en


def test_a_key_registered_earlier_in_the_batch_signs_the_events_after_it(platform, client):
    chain = Organisations(platform, client)
    chain.record(honest_story()[:-2])
    ring = [event for event in honest_story()[-2:]]
    response = post(chain, "atelier", [registration("atelier"), *[signed(event) for event in ring]])
    assert response.status_code == 200, response.get_data(as_text=True)
    platform.catch_up()
    signers = {event["type"]: event.get("signed_by") for event in timeline(chain)}
    assert signers["product.manufactured"] == {"organisation": "atelier", "key_id": "atelier-2026"}


def test_a_signature_stands_after_its_key_is_revoked_later(chain, platform):
    assert post(chain, "atelier", [f.key_revoked("atelier", "atelier-2026")]).status_code == 200
    platform.catch_up()
    made = next(event for event in timeline(chain) if event["type"] == "product.manufactured")
    assert made["signed_by"] == {"organisation": "atelier", "key_id": "atelier-2026"}


def sale(**kw) -> dict:
    return f.event("product.sold", {"product_id": RING, "price": "500.00", "currency": "EUR"}, recorded_by="atelier", **kw)


def tampered() -> dict:
    event = signed(sale())
    event["data"]["price"] = "5.00"  # changed after signing
    return event


def foreign_key() -> dict:
    """The jeweller's sale signed with the refiner's key (as if it had stolen it)."""
    return signed(sale(), by="refiner-x")


def wrong_alg() -> dict:
    event = signed(sale())
    return {**event, "signature": {**event["signature"], "alg": "RSA"}}


@pytest.mark.parametrize("make, path, words", [
    (lambda: signed(sale(), key_id="atelier-unknown"), "events.1.signature.key_id", "Unknown signing key"),
    (tampered, "events.1.signature.value", "Not a valid Ed25519 signature"),
    (foreign_key, "events.1.signature.key_id", "belongs to 'refiner-x'"),
    (wrong_alg, "events.1.signature.alg", "Ed25519"),
], ids=["unknown_key", "bad_signature", "key_of_another_organisation", "not_ed25519"])
def test_a_signature_that_proves_nothing_is_refused_and_nothing_is_recorded(chain, platform, make, path, words):
    before = platform.log.end()
    good = signed(f.event("lot.received", {"lot_id": "bar-1", "mass_g": 86.0}, recorded_by="atelier"))
    response = post(chain, "atelier", [good, make()])
    assert response.status_code == 422, response.get_data(as_text=True)
    details = response.get_json()["error"]["details"]
    assert list(details) == [path] and words in details[path][0]
    assert platform.log.end() == before


def test_a_revoked_key_signs_nothing_more(chain, platform):
    assert post(chain, "atelier", [f.key_revoked("atelier", "atelier-2026")]).status_code == 200
    platform.catch_up()
    before = platform.log.end()
    response = post(chain, "atelier", [signed(sale())])
    assert response.status_code == 422
    assert "was revoked" in response.get_json()["error"]["details"]["events.0.signature.key_id"][0]
    # revoked earlier in the same batch: refused as well
    response = post(chain, "refiner-x", [f.key_revoked("refiner-x", "refiner-x-2026"),
                                         signed(f.assay("bar-1", 0.9999, recorded_by="refiner-x"))])
    assert list(response.get_json()["error"]["details"]) == ["events.1.signature.key_id"]
    assert platform.log.end() == before


def test_a_key_not_yet_valid_signs_nothing(platform, client):
    chain = Organisations(platform, client)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert post(chain, "atelier", [registration("atelier", valid_from=tomorrow)]).status_code == 200
    platform.catch_up()
    before = platform.log.end()
    response = post(chain, "atelier", [signed(sale())])
    assert response.status_code == 422
    assert "is valid only from" in response.get_json()["error"]["details"]["events.0.signature.key_id"][0]
    assert platform.log.end() == before


def test_keys_are_registered_and_revoked_only_by_their_organisation(chain, platform):
    before = platform.log.end()
    stranger = f.key_registered("refiner-x", "planted-key", signing.public_key_b64(PRIVATE["atelier"]),
                                recorded_by="atelier")
    assert post(chain, "atelier", [stranger]).status_code == 403
    taken = f.key_registered("atelier", "refiner-x-2026", signing.public_key_b64(PRIVATE["atelier"]))
    response = post(chain, "atelier", [taken])
    assert response.status_code == 422 and "already registered" in response.get_json()["error"]["details"]["events.0.data.key_id"][0]
    revoke_other = f.key_revoked("atelier", "refiner-x-2026")
    response = post(chain, "atelier", [revoke_other])
    assert response.status_code == 422 and list(response.get_json()["error"]["details"]) == ["events.0.data.key_id"]
    assert platform.log.end() == before
    # an admin may register a key for an organisation
    admin_made = f.key_registered("coop-mambasa", "coop-2026", signing.public_key_b64(signing.new_private_key()),
                                  recorded_by="coop-mambasa")
    assert post(chain, "admin", [admin_made]).status_code == 200


def test_a_retried_key_registration_is_a_duplicate_not_a_conflict(platform, client):
    chain = Organisations(platform, client)
    registered = registration("atelier")
    assert post(chain, "atelier", [registered]).status_code == 200
    platform.catch_up()
    response = post(chain, "atelier", [registered])
    assert response.status_code == 200 and response.get_json()["results"][0]["status"] == "duplicate"


def test_a_signature_the_read_model_cannot_verify_is_not_claimed(platform, client):
    """A signed step that reached the log without its key (written straight to it, as a racing node
    could) shows as not signed: the page claims a signature only where the platform verified one."""
    chain = Organisations(platform, client)
    chain.record(honest_story()[:-2])
    made = signed(honest_story()[-2])
    attested = Attestation(organisation="atelier", role="manufacturer", key_id="test0000")
    platform.log.append([prepare(made, attested)])
    platform.catch_up()
    step = next(event for event in timeline(chain) if event["event_id"] == made["event_id"])
    assert step["signature"]["key_id"] == "atelier-2026" and step["signed_by"] is None
    page = client.get(f"/p/{RING}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "carry the signature" not in page and "carries the signature" not in page
