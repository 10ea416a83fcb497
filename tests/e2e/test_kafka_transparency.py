"""The transparency log on Kafka, against a real broker: one sequencer fixes the leaf order of the
events of every partition, every node replays it into its read-model database (here PostgreSQL), and
an outsider's verifier (written from the RFC, ``tests/e2e/test_transparency_log.py``) checks a
checkpoint's signature, an event's inclusion and the consistency of two checkpoints. A second
sequencer fences the first; events appended while no sequencer runs are sequenced when one returns;
a node rebuilt from nothing proves the same roots; ``oretrail verify --log`` checks it all."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import uuid

import pytest

from composition.bootstrap import build_platform
from composition.cli import verify_bundle_file
from events.checkpoint import Checkpoint
from events.envelope import prepare
from events.kafka_log import KafkaEventLog
from events.kafka_sequencer import KafkaSequencer, SequencerFenced, sequencer_id
from events.kafka_tree_topic import TreeTopic, tree_topic_name
from events.tree_store import StoredCheckpoint
from services.database_tree import nodes
from services.settings import Settings
from tests.conftest import bearer
from tests.databases import database_url_for
from tests.e2e.test_authority_attacks import RING, Organisations
from tests.e2e.test_evidence_bundle import story_with_named_miners
from tests.e2e.test_signed_events import registration
from tests.e2e.test_log_tiles import TileClient
from tests.e2e.test_transparency_log import b64, consistent, included, open_checkpoint
from tests.factories import site
from tests.kafka_helpers import ROOT, oretrail_process, stop_process
from tests.waiting import wait_until

ORIGIN_URL = "https://trail.example.org"


@pytest.fixture
def env(kafka_env, tmp_path):
    """A Kafka deployment whose checkpoints are signed often, with its signing key in the test's folder."""
    return {**kafka_env, "ORETRAIL_PUBLIC_BASE_URL": ORIGIN_URL, "ORETRAIL_CHECKPOINT_INTERVAL": "0.2",
            "ORETRAIL_LOG_SIGNING_KEY": str(tmp_path / "log-signing.key")}


@pytest.fixture
def node(env):
    platform = build_platform(Settings.from_env(env))
    yield platform
    platform.close()


def record(client, key, count: int, prefix: str) -> list[dict]:
    events = [site(f"{prefix}-{i}") for i in range(count)]
    response = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert response.status_code == 200, response.json
    return events


def sequencer_of(log: KafkaEventLog, prefix: str) -> KafkaSequencer:
    return KafkaSequencer(log, tree_topic_name(log.topic), sequencer_id(prefix, log.topic))


def sequence_until(sequencer: KafkaSequencer, size: int, what: str) -> None:
    """Step ``sequencer`` until it holds ``size`` leaves (a step that adds fewer is not the end), no more."""
    wait_until(lambda: sequencer.step() >= 0 and sequencer.size >= size, timeout=30, what=what)
    assert sequencer.size == size


def tree_leaves(log: KafkaEventLog) -> list:
    topic = TreeTopic(log.servers, tree_topic_name(log.topic))
    try:
        return [leaf for batch in topic.read_all() for leaf in batch.leaves]
    finally:
        topic.close()


def checkpoint_of(client, size: int) -> str:
    return wait_until(lambda: (note := client.get("/v1/log/checkpoint").text) and f"\n{size}\n" in note and note,
                      timeout=30, what=f"a checkpoint of {size} events")


@pytest.mark.parametrize("database", ["postgresql"])
def test_an_outsider_checks_signature_inclusion_and_consistency_on_kafka(node):
    client = node.create_app().test_client()
    key = node.keys.create("oretrail-admin", "admin")
    node.start_sequencer()
    node.start_checkpointer()
    verifier_key = client.get("/v1/log/key").text
    first = record(client, key, 5, "s")
    origin, size1, root1 = open_checkpoint(checkpoint_of(client, 5), verifier_key)
    assert (origin, size1) == ("trail.example.org/log", 5)
    second = record(client, key, 7, "t")
    _, size2, root2 = open_checkpoint(checkpoint_of(client, 12), verifier_key)

    for event in first + second[:2]:
        proof = client.get(f"/v1/log/proof/inclusion?event_id={event['event_id']}&tree_size={size2}").json
        leaf = hashlib.sha256(b"\x00" + bytes.fromhex(prepare(event).hash)).digest()
        assert included(leaf, proof["leaf_index"], size2, b64(proof["hashes"]), root2)
        assert not included(leaf, proof["leaf_index"], size2, b64(proof["hashes"]), root1)
    # the first five events are the first five leaves, whichever partitions they went to
    in_first = {client.get(f"/v1/log/proof/inclusion?event_id={event['event_id']}&tree_size={size2}").json["leaf_index"]
                for event in first}
    assert in_first == set(range(5))
    proof = client.get(f"/v1/log/proof/consistency?from={size1}&to={size2}").json
    assert consistent(size1, size2, root1, root2, b64(proof["hashes"]))
    assert not consistent(size1, size2, root1, root1, b64(proof["hashes"]))
    leaves = tree_leaves(node.log_itself)
    assert len({leaf.partition for leaf in leaves}) > 1  # the order spans partitions
    # the same tree as C2SP tiles, read by the spec's client: its root, and the entries in the sequencer's order
    tiles = TileClient(lambda path: client.get(path).data, size2)
    assert tiles.mth(0, size2) == root2
    assert tiles.entries(0) == [bytes.fromhex(leaf.hash) for leaf in leaves]


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_second_sequencer_fences_the_first_and_nothing_is_assigned_twice(env):
    settings = Settings.from_env(env)
    log = KafkaEventLog([env["ORETRAIL_EVENT_LOG"].removeprefix("kafka://")], topic=settings.kafka_topic)
    first, second = sequencer_of(log, settings.kafka_prefix), sequencer_of(log, settings.kafka_prefix)
    try:
        first.start()
        log.append([prepare(site(f"a-{i}")) for i in range(3)])
        sequence_until(first, 3, "the first sequencer's 3 leaves")

        second.start()  # init_transactions with the same id: the broker fences the first
        assert second.size == 3
        log.append([prepare(site(f"b-{i}")) for i in range(2)])

        def first_is_refused() -> bool:
            try:
                first.step()
            except SequencerFenced:
                return True
            return False
        wait_until(first_is_refused, timeout=30, what="the fenced sequencer's write to fail")
        sequence_until(second, 5, "the second sequencer's 5 leaves")
    finally:
        first.close()
        second.close()
        log.close()
    leaves = tree_leaves(log)
    assert [leaf.leaf_index for leaf in leaves] == list(range(5))
    assert len({leaf.event_id for leaf in leaves}) == 5


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_fenced_sequencer_thread_stops(env):
    settings = Settings.from_env(env)
    log = KafkaEventLog([env["ORETRAIL_EVENT_LOG"].removeprefix("kafka://")], topic=settings.kafka_topic)
    first = sequencer_of(log, settings.kafka_prefix)
    stop = threading.Event()
    thread = threading.Thread(target=first.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        log.append([prepare(site("a-0"))])
        wait_until(lambda: first.size == 1, timeout=30, what="the first sequencer at work")
        second = sequencer_of(log, settings.kafka_prefix)
        second.start()
        log.append([prepare(site("a-1"))])
        thread.join(30)
        assert first.fenced and not thread.is_alive()
        sequence_until(second, 2, "the second sequencer's leaf")
        second.close()
    finally:
        stop.set()
        log.close()


def oretrail(env, *args):
    result = subprocess.run([sys.executable, "-m", "composition.cli", *args], env={**os.environ, **env,
                            "ORETRAIL_LOG_LEVEL": "WARNING"}, cwd=ROOT, capture_output=True, text=True, timeout=180)
    result.stderr = "\n".join(line for line in result.stderr.splitlines() if line.startswith("verify:"))
    return result


@pytest.mark.parametrize("database", ["postgresql"])
def test_a_sequencer_down_catches_up_and_a_rebuilt_node_has_the_same_roots(env, node, tmp_path):
    log = node.log_itself
    sequencer = sequencer_of(log, node.settings.kafka_prefix)
    sequencer.start()
    early = [prepare(site(f"e-{i}")) for i in range(10)]
    log.append(early)
    sequence_until(sequencer, 10, "10 leaves")
    sequencer.close()  # the sequencer is down: events keep arriving, one of them a second copy
    log.append([prepare(site(f"l-{i}")) for i in range(6)])
    log.append([early[3]])
    # the sequencer's commit returns before the broker writes its marker: wait for the committed leaves
    wait_until(lambda: node.catch_up() or node.transparency.tree.size() == 10, timeout=60, what="10 leaves replayed")
    checkpoint10 = node.transparency.sign_checkpoint()
    assert checkpoint10.tree_size == 10
    leaf_of_copied = node.transparency.tree.leaf_index(early[3].event_id)
    assert 0 <= leaf_of_copied < 10

    back = sequencer_of(log, node.settings.kafka_prefix)
    back.start()
    assert back.size == 10
    sequence_until(back, 16, "the late events sequenced")
    for _ in range(3):
        back.step(timeout_ms=200)
    back.close()
    assert back.size == 16  # the second copy of an event kept its leaf
    wait_until(lambda: node.catch_up() or node.transparency.tree.size() == 16, timeout=60, what="16 leaves replayed")
    checkpoint16 = node.transparency.sign_checkpoint()
    assert checkpoint16.tree_size == 16 and node.transparency.tree.leaf_index(early[3].event_id) == leaf_of_copied

    with database_url_for("postgresql", tmp_path / "rebuilt") as url:
        rebuilt = build_platform(Settings.from_env({**env, "ORETRAIL_DATABASE_URL": url,
                                                    "ORETRAIL_KAFKA_PREFIX": "other-" + uuid.uuid4().hex[:6]}))
        try:
            rebuilt.catch_up()
            assert rebuilt.transparency.tree.root(10) == checkpoint10.root
            assert rebuilt.transparency.tree.root(16) == checkpoint16.root
        finally:
            rebuilt.close()

    result = oretrail(env, "verify", "--log")
    assert result.returncode == 0, result.stderr
    assert "16 events" in result.stdout and "tree size 16 matches, and 1 earlier ones" in result.stdout


@pytest.mark.parametrize("database", ["postgresql"])
def test_verify_log_checks_every_kept_checkpoint_on_kafka(env, node):
    log = node.log_itself
    sequencer = sequencer_of(log, node.settings.kafka_prefix)
    sequencer.start()
    log.append([prepare(site(f"e-{i}")) for i in range(8)])
    sequence_until(sequencer, 8, "8 leaves")
    sequencer.close()
    wait_until(lambda: node.catch_up() or node.transparency.tree.size() == 8, timeout=60, what="8 leaves replayed")
    node.transparency.sign_checkpoint()
    # a checkpoint of an older tree that this log never had, signed with the log's own key (a split view)
    forged_root = hashlib.sha256(b"another history").digest()
    note = node.transparency.signer.sign(Checkpoint(node.transparency.origin, 5, forged_root).body())
    node.transparency.tree.save_checkpoint(StoredCheckpoint(5, forged_root, note, "2026-12-04T00:00:00+00:00"))
    result = oretrail(env, "verify", "--log")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == ("verify: the recomputed tree of size 5 does not match the signed "
                                             "checkpoint of that size"), result.stderr


@pytest.mark.parametrize("database", ["postgresql"])
def test_the_rings_evidence_bundle_verifies_offline_on_kafka(node, tmp_path):
    client = node.create_app().test_client()
    node.start_sequencer()
    chain = Organisations(node, client)
    registrations = [registration("refiner-x"), registration("atelier")]
    chain.record(registrations)
    node.catch_up()  # the keys' registrations are read before the signed story is accepted
    story = story_with_named_miners()
    chain.record(story)
    wait_until(lambda: node.catch_up() or node.transparency.tree.size() == len(registrations) + len(story),
               timeout=60, what="every event sequenced and replayed")
    bundle = chain.get(f"/v1/products/{RING}/evidence").get_json()
    assert {entry["type"] for entry in bundle["events"]} >= {"site.registered", "product.manufactured"}
    assert len({entry["position"] >> 48 for entry in bundle["events"]}) > 1  # events of several partitions
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert verify_bundle_file(str(path), client.get("/v1/log/key").text.strip()) == 0


@pytest.mark.parametrize("database", ["postgresql"])
def test_verify_log_names_the_leaf_rewritten_in_a_nodes_tree_and_counts_what_waits(env, node):
    log = node.log_itself
    sequencer = sequencer_of(log, node.settings.kafka_prefix)
    sequencer.start()
    log.append([prepare(site(f"e-{i}")) for i in range(6)])
    sequence_until(sequencer, 6, "6 leaves")
    sequencer.close()
    log.append([prepare(site(f"late-{i}")) for i in range(2)])  # no sequencer: they wait
    wait_until(lambda: node.catch_up() or node.transparency.tree.size() == 6, timeout=60, what="6 leaves replayed")
    result = oretrail(env, "verify", "--log")
    assert result.returncode == 0, result.stderr
    assert "6 events hash to their leaves" in result.stdout and "2 events not sequenced yet" in result.stdout

    leaf = tree_leaves(log)[2]
    with node.engine.begin() as connection:  # this node's copy of the tree, edited behind its back
        connection.execute(nodes.update().where(nodes.c.level == 0, nodes.c.idx == 2).values(hash=b"\0" * 32))
    result = oretrail(env, "verify", "--log")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (f"verify: leaf 2 (partition {leaf.partition}, offset {leaf.offset}): "
                                             f"the tree's leaf is not the hash of the event"), result.stderr


@pytest.mark.parametrize("database", ["postgresql"])
def test_oretrail_sequence_serves_the_tree_until_a_second_one_fences_it(env, node, tmp_path):
    first = oretrail_process({**env, "ORETRAIL_LOG_LEVEL": "WARNING"}, ["sequence"], tmp_path / "first.log")
    second = None
    try:
        node.log_itself.append([prepare(site(f"s-{i}")) for i in range(4)])
        # the process sequences, replays into the shared database and signs a checkpoint on its own
        wait_until(lambda: (latest := node.transparency.tree.latest_checkpoint()) is not None and latest.tree_size == 4,
                   timeout=60, what="the sequence process's checkpoint of 4 events")
        second = oretrail_process({**env, "ORETRAIL_LOG_LEVEL": "INFO"}, ["sequence"], tmp_path / "second.log")
        wait_until(lambda: "sequencer started at leaf 4" in (tmp_path / "second.log").read_text(), timeout=60,
                   what="the second sequencer to start (and fence the first)")
        node.log_itself.append([prepare(site(f"t-{i}")) for i in range(3)])  # the first's next write is refused
        assert first.wait(60) == 0
        assert "this one was fenced" in (tmp_path / "first.log").read_text()
        wait_until(lambda: node.transparency.tree.size() == 7, timeout=60, what="the second process's 7 leaves")
    finally:
        for process in (first, second):
            if process is not None:
                stop_process(process)
    leaves = tree_leaves(node.log_itself)
    assert [leaf.leaf_index for leaf in leaves] == list(range(7)) and len({leaf.event_id for leaf in leaves}) == 7
