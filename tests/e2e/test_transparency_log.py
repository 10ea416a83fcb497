"""The transparency log, checked as an outsider would: a verifier written here from RFC 9162 and the
C2SP signed-note spec alone (it imports nothing of events/merkle.py), knowing only the verifier key,
checks a checkpoint's signature, an event's inclusion and the consistency of two checkpoints over HTTP.
Then the log is tampered with behind its triggers, and the self-check and the proofs say so."""
from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from composition.bootstrap import build_platform
from events.checkpoint import Checkpoint
from events.tree_store import StoredCheckpoint
from services.settings import Settings
from tests.conftest import bearer
from tests.factories import organisation, pit, site
from tests.waiting import wait_until


# --- an independent verifier, from RFC 9162 2.1.3.2 / 2.1.4.2 and C2SP signed-note -------------

def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint signed by the key ``<name>+<hex id>+<base64(0x01||key)>``."""
    name, key_id, key64 = verifier_key.strip().split("+", 2)
    key = base64.b64decode(key64)
    assert key[0] == 1 and len(key) == 33
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id
    text, signatures = note.split("\n\n", 1)
    text += "\n"
    for line in signatures.splitlines():
        signer, value = line.removeprefix("\u2014 ").split(" ")
        signature = base64.b64decode(value)
        if signer == name and signature[:4].hex() == key_id:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(signature[4:], text.encode())  # raises if forged
            origin, size, root = text.splitlines()
            return origin, int(size), base64.b64decode(root)
    raise AssertionError("no signature by the verifier key")


def included(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = _node(r, p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root


def consistent(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    if first == second:
        return not path and first_root == second_root
    if first & (first - 1) == 0:
        path = [first_root] + path
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            sr = _node(sr, c)
        fn, sn = fn // 2, sn // 2
    return fr == first_root and sr == second_root and sn == 0


# --- the platform ---------------------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def log_platform(data_dir):
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir),
                                                 "ORETRAIL_PUBLIC_BASE_URL": "https://trail.example.org",
                                                 "ORETRAIL_CHECKPOINT_INTERVAL": "0.1"}))
    yield platform
    platform.close()


def record(client, key, count: int, prefix: str) -> list[dict]:
    events = [site(f"{prefix}-{i}") for i in range(count)]
    response = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200, response.json
    return events


def b64(values):
    return [base64.b64decode(value) for value in values]


def test_an_outsider_checks_signature_inclusion_and_consistency_with_only_the_key(log_platform):
    client = log_platform.create_app().test_client()
    key = log_platform.keys.create("oretrail-admin", "admin")
    verifier_key = client.get("/v1/log/key").text
    assert verifier_key.startswith("trail.example.org/log+")
    first = record(client, key, 5, "s")
    origin, size1, root1 = open_checkpoint(client.get("/v1/log/checkpoint").text, verifier_key)
    assert (origin, size1) == ("trail.example.org/log", 5)

    log_platform.start_checkpointer()  # the background signer publishes the next tree on its own
    record(client, key, 7, "t")
    note2 = wait_until(lambda: (note := client.get("/v1/log/checkpoint").text) and f"\n12\n" in note and note,
                       timeout=10, what="a checkpoint of 12 events")
    _, size2, root2 = open_checkpoint(note2, verifier_key)

    # an event of the first checkpoint, proved in both trees: its leaf is SHA-256(0x00 || its hash)
    event_hash = log_platform.log.read()[3].hash
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()
    for size, root in ((size1, root1), (size2, root2)):
        proof = client.get(f"/v1/log/proof/inclusion?event_id={first[3]['event_id']}&tree_size={size}").json
        assert proof["leaf_index"] == 3 and proof["tree_size"] == size
        assert included(leaf, 3, size, b64(proof["hashes"]), root)
        assert not included(leaf, 3, size, b64(proof["hashes"]), root1 if root is root2 else root2)

    proof = client.get(f"/v1/log/proof/consistency?from={size1}&to={size2}").json
    assert (proof["from"], proof["to"]) == (5, 12)
    assert consistent(size1, size2, root1, root2, b64(proof["hashes"]))
    assert not consistent(size1, size2, root1, root1, b64(proof["hashes"]))

    forged = note2.replace("\n12\n", "\n13\n")
    with pytest.raises(InvalidSignature):
        open_checkpoint(forged, verifier_key)


def test_bad_proof_requests_name_the_parameter(log_platform):
    client = log_platform.create_app().test_client()
    key = log_platform.keys.create("oretrail-admin", "admin")
    events = record(client, key, 3, "s")
    answer = client.get(f"/v1/log/proof/inclusion?event_id={events[0]['event_id']}&tree_size=4")
    assert answer.status_code == 422 and "tree_size" in answer.json["error"]["details"]
    answer = client.get("/v1/log/proof/inclusion?event_id=nobody&tree_size=3")
    assert answer.status_code == 404
    answer = client.get(f"/v1/log/proof/inclusion?event_id={events[2]['event_id']}&tree_size=2")
    assert answer.status_code == 422 and "tree_size" in answer.json["error"]["details"]
    answer = client.get("/v1/log/proof/inclusion?event_id=x")
    assert answer.status_code == 422 and "tree_size" in answer.json["error"]["details"]
    answer = client.get("/v1/log/proof/consistency?from=3&to=2")
    assert answer.status_code == 422 and "from" in answer.json["error"]["details"]
    answer = client.get("/v1/log/proof/consistency?from=1&to=9")
    assert answer.status_code == 422 and "to" in answer.json["error"]["details"]


def test_the_signing_key_is_made_owner_only_and_kept(data_dir, log_platform, tmp_path):
    key_file = data_dir / "log-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("PRIVATE+KEY+trail.example.org/log+")
    again = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir),
                                              "ORETRAIL_PUBLIC_BASE_URL": "https://trail.example.org"}))
    try:
        assert again.transparency.verifier_key() == log_platform.transparency.verifier_key()
    finally:
        again.close()
    elsewhere = tmp_path / "keys" / "log.key"
    other = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir),
                                              "ORETRAIL_LOG_SIGNING_KEY": str(elsewhere)}))
    try:
        assert elsewhere.exists() and other.transparency.verifier_key() != log_platform.transparency.verifier_key()
    finally:
        other.close()


def test_an_older_log_gets_its_tree_built_on_open(data_dir, log_platform):
    client = log_platform.create_app().test_client()
    key = log_platform.keys.create("oretrail-admin", "admin")
    record(client, key, 9, "s")
    root = log_platform.transparency.tree.root(9)
    with sqlite3.connect(data_dir / "events.db") as raw:
        raw.execute("DROP TABLE tree_nodes")  # as a file made before the tree existed
    reopened = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir)}))
    try:
        assert reopened.transparency.tree.size() == 9 and reopened.transparency.tree.root(9) == root
    finally:
        reopened.close()


def test_the_tree_and_checkpoints_are_append_only(data_dir, log_platform):
    record(log_platform.create_app().test_client(), log_platform.keys.create("oretrail-admin", "admin"), 2, "s")
    log_platform.transparency.sign_checkpoint()
    with sqlite3.connect(data_dir / "events.db") as raw:
        for statement in ("DELETE FROM checkpoints", "UPDATE tree_nodes SET hash = x'00'", "DELETE FROM tree_nodes"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(statement)


# --- tampering behind the triggers ------------------------------------------------------------------

def verify_log(data_dir):
    """``oretrail verify --log``; its findings (the lines it starts with ``verify:``) replace its stderr."""
    env = {**os.environ, "ORETRAIL_DATA_DIR": str(data_dir), "ORETRAIL_PUBLIC_BASE_URL": "https://trail.example.org",
           "ORETRAIL_LOG_LEVEL": "WARNING"}
    result = subprocess.run([sys.executable, "-m", "composition.cli", "verify", "--log"], env=env,
                            capture_output=True, text=True, timeout=120)
    result.stderr = "\n".join(line for line in result.stderr.splitlines() if line.startswith("verify:"))
    return result


@pytest.fixture
def published(log_platform):
    """Twenty events recorded and a checkpoint of them signed; the platform closed, as after a stop."""
    client = log_platform.create_app().test_client()
    key = log_platform.keys.create("oretrail-admin", "admin")
    events = record(client, key, 20, "s")
    note = client.get("/v1/log/checkpoint").text
    return events, note, client.get("/v1/log/key").text


def test_verify_log_passes_on_an_honest_log(data_dir, published):
    result = verify_log(data_dir)
    assert result.returncode == 0, result.stderr
    assert "20 events" in result.stdout and "tree size 20 matches" in result.stdout


def test_verify_log_names_the_position_of_an_edited_event(data_dir, published):
    with sqlite3.connect(data_dir / "events.db") as raw:
        raw.execute("DROP TRIGGER events_append_only_update")
        raw.execute("UPDATE events SET body = replace(body, 'Ituri', 'Kivu') WHERE position = 7")
    result = verify_log(data_dir)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("verify: position 7:"), result.stderr


def test_verify_log_names_an_edited_event_whose_hash_was_rewritten_too(data_dir, published):
    with sqlite3.connect(data_dir / "events.db") as raw:
        raw.execute("DROP TRIGGER events_append_only_update")
        body = raw.execute("SELECT body FROM events WHERE position = 12").fetchone()[0].replace(b"Ituri", b"Kivu")
        raw.execute("UPDATE events SET body = ?, hash = ? WHERE position = 12", (body, hashlib.sha256(body).hexdigest()))
    result = verify_log(data_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "verify: position 12: the tree's leaf is not the hash of the event"


def test_a_truncated_log_fails_the_consistency_proof_and_the_self_check(data_dir, published, log_platform):
    events, note, verifier_key = published
    _, size, root = open_checkpoint(note, verifier_key)
    # the operator cuts the last five events and everything that would betray it, then carries on
    with sqlite3.connect(data_dir / "events.db") as raw:
        for table in ("events", "tree_nodes", "checkpoints"):
            raw.execute(f"DROP TRIGGER {table}_append_only_delete" if table != "checkpoints"
                        else "DROP TRIGGER checkpoints_append_only_delete")
        raw.execute("DELETE FROM events WHERE position > 15")
        raw.execute("DELETE FROM tree_nodes WHERE (idx + 1) * (1 << level) > 15")
        raw.execute("DELETE FROM checkpoints")
        raw.execute("UPDATE sqlite_sequence SET seq = 15 WHERE name = 'events'")
    result = verify_log(data_dir)  # the platform kept no trace: only the published checkpoint can tell
    assert result.returncode == 0, result.stderr

    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(data_dir),
                                                 "ORETRAIL_PUBLIC_BASE_URL": "https://trail.example.org"}))
    try:
        client = platform.create_app().test_client()
        key = platform.keys.create("oretrail-admin", "admin")
        record(client, key, 8, "u")
        _, new_size, new_root = open_checkpoint(client.get("/v1/log/checkpoint").text, verifier_key)
        assert new_size == 23
        proof = client.get(f"/v1/log/proof/consistency?from={size}&to={new_size}").json
        assert not consistent(size, new_size, root, new_root, b64(proof["hashes"]))
    finally:
        platform.close()


def test_verify_log_reports_a_log_cut_below_its_signed_checkpoint(data_dir, published):
    with sqlite3.connect(data_dir / "events.db") as raw:
        raw.execute("DROP TRIGGER events_append_only_delete")
        raw.execute("DELETE FROM events WHERE position > 17")
    result = verify_log(data_dir)
    assert result.returncode == 1
    assert "truncated" in result.stderr and "first missing position 18" in result.stderr, result.stderr


def test_verify_log_checks_every_kept_checkpoint_not_only_the_latest(data_dir, published, log_platform):
    transparency = log_platform.transparency
    forged = hashlib.sha256(b"a history this log never had").digest()
    note = transparency.signer.sign(Checkpoint(transparency.origin, 7, forged).body())  # the log's own key
    transparency.tree.save_checkpoint(StoredCheckpoint(7, forged, note, "2026-12-04T00:00:00+00:00"))
    assert [kept.tree_size for kept in transparency.tree.checkpoints()] == [7, 20]
    result = verify_log(data_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["verify: the recomputed tree of size 7 does not match the signed "
                                          "checkpoint of that size"], result.stderr


def test_verify_log_counts_the_earlier_checkpoints_it_checked(data_dir, log_platform):
    client = log_platform.create_app().test_client()
    key = log_platform.keys.create("oretrail-admin", "admin")
    for batch in range(3):
        record(client, key, 4, f"b{batch}")
        log_platform.transparency.sign_checkpoint()
    result = verify_log(data_dir)
    assert result.returncode == 0, result.stderr
    assert "tree size 12 matches, and 2 earlier ones" in result.stdout
