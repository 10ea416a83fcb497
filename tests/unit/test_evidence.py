"""The offline check of an evidence bundle, on bundles built here from the RFC's definitions (no database)."""
from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, strategies as st

from events import merkle, signing
from events.canonical import content_hash
from events.checkpoint import Checkpoint
from events.evidence import FORMAT, EvidenceError, check_bundle
from events.signed_note import NoteSigner
from tests import factories as f

LOG = NoteSigner.generate("trail.example.org/log")
ATELIER = signing.new_private_key()
RECORDED_AT = "2026-03-02T10:00:00Z"


def stored(envelope: dict, index: int) -> dict:
    """An event as the log keeps it: its body (JSON text), hash and leaf index."""
    return {"body": json.dumps(envelope), "hash": content_hash(envelope), "index": index}


def build(extra_leaves: int = 5) -> dict:
    """A bundle of four events (the jeweller's registration of its key, two steps, one of them signed)
    in a log with other leaves around them."""
    key = f.key_registered("atelier", "atelier-2026", signing.public_key_b64(ATELIER))
    steps = [f.production("lot-1", "pit-a", 40.0), signing.sign_envelope(
        f.event("product.sold", {"product_id": "RING-1"}, recorded_by="atelier"), ATELIER, "atelier-2026")]
    fillers = [f.organisation(f"org-{n}") for n in range(extra_leaves)]
    log = [fillers[0], key, *fillers[1:3], *steps, *fillers[3:]]
    leaves = [merkle.leaf_hash(bytes.fromhex(content_hash(event))) for event in log]
    size, root = len(log), merkle.root_of(leaves)

    def entry(envelope: dict) -> dict:
        index = log.index(envelope)
        proof = [merkle.root_of(leaves[start:end]) for start, end in merkle.inclusion_ranges(index, size)]
        return {"event_id": envelope["event_id"], "type": envelope["type"], "recorded_by": envelope["recorded_by"],
                "recorded_at": RECORDED_AT, "position": index + 1, "hash": content_hash(envelope),
                "attested_by": None, "leaf_index": index, "signature": envelope.get("signature"),
                "body": json.dumps(envelope), "withheld": None,
                "proof": [base64.b64encode(value).decode() for value in proof]}

    return {
        "format": FORMAT, "product_id": "RING-1", "generated_at": RECORDED_AT,
        "log_key": LOG.verifier().encoded(), "tree_size": size,
        "checkpoint": LOG.sign(Checkpoint(LOG.name, size, root).body()),
        "events": [entry(event) for event in steps],
        "keys": [{"key_id": "atelier-2026", "organisation": "atelier", "public_key": signing.public_key_b64(ATELIER),
                  "valid_from": key["data"]["valid_from"], "registered_at": "2026-03-01T10:00:00Z",
                  "event_id": key["event_id"]}],
        "key_events": [{**entry(key), "recorded_at": "2026-03-01T10:00:00Z"}],
    }


def flip(text_b64: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(text_b64))
    raw[at] ^= 0x80
    return base64.b64encode(bytes(raw)).decode()


def test_an_honest_bundle_checks_out_with_and_without_a_trusted_key():
    summary = check_bundle(build())
    assert (summary.events, summary.signed, summary.withheld, summary.keys) == (2, 1, 0, 1)
    assert check_bundle(build(), LOG.verifier().encoded()).tree_size == 8


def test_a_withheld_body_is_still_proven_and_its_signature_checked():
    bundle = build()
    for entry in bundle["events"]:
        entry["body"], entry["withheld"] = None, "restricted"
    assert check_bundle(bundle).withheld == 2
    bundle["events"][1]["signature"] = {**bundle["events"][1]["signature"],
                                        "value": flip(bundle["events"][1]["signature"]["value"])}
    with pytest.raises(EvidenceError, match="signature"):
        check_bundle(bundle)


def _edit_body(bundle):
    bundle["events"][0]["body"] = bundle["events"][0]["body"].replace("40.0", "41.0")


def _edit_hash(bundle):  # a new body with a hash to match: the proof no longer leads to the root
    entry = bundle["events"][0]
    envelope = json.loads(entry["body"])
    envelope["data"]["mass_g"] = 41.0
    entry["body"], entry["hash"] = json.dumps(envelope), content_hash(envelope)


def _edit_proof(bundle):
    bundle["events"][1]["proof"][-1] = flip(bundle["events"][1]["proof"][-1], 3)


def _move_leaf(bundle):
    bundle["events"][1]["leaf_index"] += 1


def _edit_root(bundle):
    text, _, signatures = bundle["checkpoint"].partition("\n\n")
    origin, size, root = text.split("\n")
    bundle["checkpoint"] = f"{origin}\n{size}\n{flip(root, 7)}\n\n{signatures}"


def _resign_with_another_log_key(bundle):
    other = NoteSigner.generate(LOG.name)
    bundle["checkpoint"] = other.sign(bundle["checkpoint"].partition("\n\n")[0] + "\n")


def _edit_signature(bundle):
    entry = bundle["events"][1]
    envelope = json.loads(entry["body"])
    envelope["signature"]["value"] = flip(envelope["signature"]["value"], 10)
    entry["body"], entry["signature"] = json.dumps(envelope), envelope["signature"]


def _swap_key(bundle):
    bundle["keys"][0]["public_key"] = signing.public_key_b64(signing.new_private_key())


def _drop_key_registration(bundle):
    bundle["key_events"] = []


@pytest.mark.parametrize("tamper, named", [
    (_edit_body, "body"), (_edit_hash, "proof"), (_edit_proof, "proof"), (_move_leaf, "proof"),
    (_edit_root, "checkpoint"), (_resign_with_another_log_key, "checkpoint"), (_edit_signature, "signature"),
    (_swap_key, "signature"), (_drop_key_registration, "key 'atelier-2026'"),
])
def test_each_tampering_is_named(tamper, named):
    bundle = build()
    tamper(bundle)
    with pytest.raises(EvidenceError, match=named):
        check_bundle(bundle)


def test_a_swapped_key_that_still_verifies_is_caught_by_its_registration():
    """The server swaps the jeweller's key for its own and re-signs: the key no longer matches its proven registration."""
    bundle = build()
    forged = signing.new_private_key()
    bundle["keys"][0]["public_key"] = signing.public_key_b64(forged)
    entry = bundle["events"][1]
    envelope = signing.sign_envelope({k: v for k, v in json.loads(entry["body"]).items() if k != "signature"},
                                     forged, "atelier-2026")
    entry["body"], entry["signature"] = json.dumps(envelope), envelope["signature"]
    with pytest.raises(EvidenceError, match="differs from its registration"):
        check_bundle(bundle)


def test_a_bundle_not_signed_by_the_trusted_key_is_refused():
    with pytest.raises(EvidenceError, match="log key"):
        check_bundle(build(), NoteSigner.generate(LOG.name).verifier().encoded())
    with pytest.raises(EvidenceError, match="not an evidence bundle"):
        check_bundle({"events": []})


@given(st.integers(min_value=1, max_value=300).flatmap(
    lambda size: st.tuples(st.just(size), st.lists(st.integers(0, size - 1), max_size=40))))
def test_inclusion_paths_of_many_leaves_are_each_leafs_own(case):
    size, indexes = case
    paths = merkle.inclusion_paths(indexes, size)
    assert paths == {index: merkle.inclusion_ranges(index, size) for index in set(indexes)}


@given(st.integers(min_value=1, max_value=300).flatmap(
    lambda size: st.tuples(st.just(size), st.lists(st.integers(0, size - 1), max_size=40))))
def test_the_ranges_of_many_proofs_are_listed_once_each(case):
    size, indexes = case
    ranges = merkle.proof_ranges(indexes, size)
    assert len(ranges) == len(set(ranges))
    assert set(ranges) == {part for index in indexes for part in merkle.inclusion_ranges(index, size)}
    paths = merkle.inclusion_paths(indexes, size, value=lambda part: f"{part[0]}-{part[1]}")
    assert paths == {index: [f"{start}-{end}" for start, end in merkle.inclusion_ranges(index, size)]
                     for index in sorted(set(indexes))}
