"""A jeweller's evidence bundle: the ring's history as the log stores it, proven against a signed
checkpoint, with the keys that signed it; checked offline by ``oretrail verify BUNDLE`` from a file.

On the SQLite log with read models on SQLite and on PostgreSQL, through the API with a key per
organisation.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from composition.cli import verify_bundle_file
from events import signing
from tests.e2e.test_authority_attacks import RING, Organisations
from tests.e2e.test_signed_events import SIGNERS, registration, signed_story

#: the miners' restricted fields, which only admin and auditor keys may read
NAMES = {"m-1": ("Esther Mave", "a" * 64), "m-2": ("Jean Kasereka", "b" * 64)}


def story_with_named_miners() -> list[dict]:
    """The signed story of the ring, its miners registered with their names and photo-ID hashes."""
    events = []
    for event in signed_story():
        if event["type"] == "miner.registered":
            name, photo = NAMES[event["data"]["miner_id"]]
            event = {**event, "data": {**event["data"], "name": name, "photo_id_sha256": photo}}
        events.append(event)
    return events


@pytest.fixture
def chain(platform, client) -> Organisations:
    organisations = Organisations(platform, client)
    organisations.record([registration("refiner-x"), registration("atelier")])
    platform.catch_up()
    organisations.record(story_with_named_miners())
    platform.catch_up()
    return organisations


def evidence(chain: Organisations, as_: str = "admin") -> dict:
    response = chain.get(f"/v1/products/{RING}/evidence", as_=as_)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def verify(bundle: dict, tmp_path, key: str | None = None) -> int:
    """``oretrail verify BUNDLE [--key KEY]``'s function, on the bundle written to a file."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return verify_bundle_file(str(path), key)


def log_key(chain: Organisations) -> str:
    return chain.client.get("/v1/log/key").get_data(as_text=True).strip()


def flipped(text_b64: str, at: int = 0) -> str:
    raw = bytearray(base64.b64decode(text_b64))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_the_rings_bundle_verifies_offline_from_a_file(chain, tmp_path, capsys):
    bundle = evidence(chain)
    timeline = chain.get(f"/v1/products/{RING}/provenance").get_json()["timeline"]
    ids = [entry["event_id"] for entry in bundle["events"]]
    assert set(ids) >= {event["event_id"] for event in timeline}
    # the origin's registrations are part of the evidence: the site, the pit and both miners
    types = [entry["type"] for entry in bundle["events"]]
    assert {"site.registered", "pit.registered"} <= set(types) and types.count("miner.registered") == 2
    # each body is the event exactly as stored, and hashes to its hash
    for entry in bundle["events"]:
        assert signing.event_hash(json.loads(entry["body"])) == entry["hash"]
    signed = {entry["recorded_by"] for entry in bundle["events"] if entry["signature"]}
    assert signed == set(SIGNERS)
    assert {(key["organisation"], key["key_id"]) for key in bundle["keys"]} == set(SIGNERS.items())
    assert {entry["event_id"] for entry in bundle["key_events"]} == {key["event_id"] for key in bundle["keys"]}

    assert verify(bundle, tmp_path) == 0
    assert verify(bundle, tmp_path, log_key(chain)) == 0
    out = capsys.readouterr().out
    assert f"{len(ids)} events in the log" in out and "the key you gave" in out


def _body(bundle):
    entry = next(e for e in bundle["events"] if e["type"] == "lots.merged")
    at = entry["body"].index('"mass_g":') + len('"mass_g":')
    digit = entry["body"][at]
    entry["body"] = entry["body"][:at] + ("7" if digit != "7" else "8") + entry["body"][at + 1:]
    return "body"


def _proof(bundle):
    entry = bundle["events"][len(bundle["events"]) // 2]
    entry["proof"][0] = flipped(entry["proof"][0], at=5)
    return "proof"


def _root(bundle):
    text, _, signatures = bundle["checkpoint"].partition("\n\n")
    origin, size, root = text.split("\n")
    bundle["checkpoint"] = f"{origin}\n{size}\n{flipped(root, at=9)}\n\n{signatures}"
    return "checkpoint"


def _signature(bundle):
    entry = next(e for e in bundle["events"] if e["type"] == "product.manufactured")
    value = flipped(entry["signature"]["value"], at=17)
    body = json.loads(entry["body"])
    body["signature"]["value"] = value  # the body too: the signature is not part of the hash
    entry["body"] = json.dumps(body)
    entry["signature"] = body["signature"]
    return "signature"


@pytest.mark.parametrize("tamper", [_body, _proof, _root, _signature], ids=["body", "proof", "root", "signature"])
def test_one_flipped_byte_fails_the_check_naming_what(chain, tmp_path, capsys, tamper):
    bundle = evidence(chain)
    what = tamper(bundle)
    assert verify(bundle, tmp_path) == 1
    error = capsys.readouterr().err
    assert error.startswith("verify: ") and what in error, error


def test_a_bundle_signed_by_another_key_than_the_one_trusted_fails(chain, tmp_path, capsys):
    from events.signed_note import NoteSigner

    impostor = NoteSigner.generate(log_key(chain).split("+")[0]).verifier().encoded()
    assert verify(evidence(chain), tmp_path, impostor) == 1
    assert "log key" in capsys.readouterr().err
    # a key file works as well as the key itself
    key_file = tmp_path / "log.key"
    key_file.write_text(log_key(chain) + "\n")
    assert verify(evidence(chain), tmp_path, str(key_file)) == 0


def test_a_buyer_gets_no_restricted_data_but_the_proof_that_it_is_in_the_log(chain, platform, tmp_path):
    response = chain.get(f"/v1/products/{RING}/evidence", as_="shop-x")
    text = response.get_data(as_text=True)
    for name, photo in NAMES.values():
        assert name not in text and photo not in text
    bundle = response.get_json()
    miners = [entry for entry in bundle["events"] if entry["type"] == "miner.registered"]
    assert len(miners) == 2 and all(entry["body"] is None and "restricted" in entry["withheld"] for entry in miners)
    assert all(entry["body"] is not None for entry in bundle["events"] if entry["type"] != "miner.registered")
    assert verify(bundle, tmp_path) == 0  # withheld events are still proven: hash and inclusion
    # an auditor (and an admin) gets their bodies as stored: the personal fields sealed (names are read,
    # while not erased, from /v1/miners)
    auditor = chain.client.get(f"/v1/products/{RING}/evidence",
                               headers={"Authorization": f"Bearer {platform.keys.create('audit-co', 'auditor')}"})
    assert NAMES["m-1"][0] not in auditor.get_data(as_text=True)
    bodies = [json.loads(entry["body"]) for entry in auditor.get_json()["events"] if entry["type"] == "miner.registered"]
    assert len(bodies) == 2 and all(body["data"]["name"]["enc"] == "A256GCM" for body in bodies)


def test_events_newer_than_the_latest_checkpoint_get_a_fresh_one(platform, client, tmp_path):
    organisations = Organisations(platform, client)
    organisations.record([registration("refiner-x"), registration("atelier")])
    platform.catch_up()
    early = client.get("/v1/log/checkpoint").get_data(as_text=True)  # signed now, over the two keys only
    assert early.split("\n")[1] == "2"
    organisations.record(story_with_named_miners())
    platform.catch_up()
    bundle = evidence(organisations)
    assert bundle["tree_size"] == 2 + len(story_with_named_miners())
    assert bundle["checkpoint"] == client.get("/v1/log/checkpoint").get_data(as_text=True)  # it is kept
    assert verify(bundle, tmp_path) == 0


def test_an_unknown_product_has_no_bundle_and_a_key_is_needed(chain):
    assert chain.get("/v1/products/NO-SUCH-RING/evidence").status_code == 404
    assert chain.client.get(f"/v1/products/{RING}/evidence").status_code == 401


def test_the_command_line_takes_a_bundle_or_log_but_not_both(chain, tmp_path):
    path = tmp_path / "ring.json"
    path.write_text(json.dumps(evidence(chain)))
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(tmp_path / "elsewhere"), "ORETRAIL_LOG_LEVEL": "WARNING"}

    def oretrail(*args):
        return subprocess.run([sys.executable, "-m", "composition.cli", "verify", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    passed = oretrail(str(path), "--key", log_key(chain))
    assert passed.returncode == 0 and f"verify: {RING}:" in passed.stdout, passed.stderr
    assert not (tmp_path / "elsewhere").exists()  # offline: no data folder, no database opened
    assert oretrail().returncode == 2 and oretrail("--log", str(path)).returncode == 2
