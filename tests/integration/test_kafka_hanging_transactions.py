"""Hanging transactions on a real broker: one no coordinator will close is committed when capture
answered 200 for it, aborted when the client stored its events again elsewhere, left to an operator
when capture cannot vouch for it; one its coordinator still means to close is never touched.

A hanging transaction is made the way they arise: a producer's records reach a partition its
coordinator will never close (here: the client is told the partition was added to the transaction
when it was not, on a broker of the test's own whose check against that, partition verification,
is off; a coordinator that skips a partition's marker after a restart leaves the same).
"""
from __future__ import annotations

import uuid

from kafka import KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from prometheus_client import generate_latest

from composition.bootstrap import build_platform
from events.envelope import NewEvent, prepare
from events.kafka_log import _key_hash
from events.kafka_records import headers_of, position_of
from events.log import AppendResult
from events.position import LogPosition
from events.sqlite_log import utc_now_text
from services.hanging_transactions import HangingTransactionSweeper
from services.settings import Settings
from tests import factories as f
from tests.kafka_fixtures import kafka_environment
from tests.waiting import wait_until

PARTITION = 1
PARTITIONS = 6


def partition_verification(address: str, enabled: bool) -> None:
    """Turn the broker's check that a transaction's partitions were added to it on or off."""
    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        broker = str(admin.describe_cluster()["brokers"][0]["broker_id"])
        admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, broker, configs={
            "transaction.partition.verification.enable": str(enabled).lower()})])
    finally:
        admin.close()


def event_on(partition: int, name: str) -> NewEvent:
    """A new event whose stream lives on ``partition`` of the log's topic."""
    for number in range(10_000):
        event = prepare(f.site(f"{name}-{number}"))
        if _key_hash(event.stream_id.encode()) % PARTITIONS == partition:
            return event
    raise AssertionError("no stream found for the partition")


def hang(address: str, topic: str, event: NewEvent) -> int:
    """Write ``event`` to its partition in a transaction whose coordinator never heard of that partition
    (it commits on a topic of its own, and its marker never reaches the event's partition), then
    initialise its transactional id again, as a capture slot is after a failure; its offset."""
    other = f"{topic}.other"
    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        if other not in admin.list_topics():
            admin.create_topics([NewTopic(other, 1, 1)])
    finally:
        admin.close()
    transactional_id = f"test-hang-{uuid.uuid4().hex}"
    producer = KafkaProducer(bootstrap_servers=address, transactional_id=transactional_id)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(other, b"added as it should be", partition=0).get(timeout=10)
        manager = producer._transaction_manager  # noqa: SLF001 - the client is made to skip AddPartitionsToTxn
        with manager._lock:  # noqa: SLF001
            manager._partitions_in_transaction.add(TopicPartition(topic, PARTITION))  # noqa: SLF001
        written = producer.send(topic, key=event.stream_id.encode(), value=event.body, partition=PARTITION,
                                headers=headers_of(event, utc_now_text())).get(timeout=10)
        producer.commit_transaction()
    finally:
        producer.close(timeout=5)
    again = KafkaProducer(bootstrap_servers=address, transactional_id=transactional_id)
    try:
        again.init_transactions()  # a newer epoch: the old one can write nothing more
    finally:
        again.close(timeout=5)
    return written.offset


def ends(platform) -> tuple[dict[int, int], dict[int, int]]:
    log = platform.log_itself
    return log.end_offsets(), log.high_watermarks()


def readable(platform) -> list[str]:
    """Every event id a read_committed reader sees, in log order (repeats included)."""
    found, position = [], LogPosition.start()
    while (page := platform.log_itself.page(position, 1000)).events:
        found += [event.event_id for event in page.events]
        position = page.next
    return found


def held_back_platform(broker, tmp_path, answered: str) -> tuple:
    """A platform on ``broker`` whose partition 1 a hanging transaction holds back, behind which a batch
    was accepted; capture ``answered`` the hanging event: "200" (indexed where it hangs), "retried"
    (stored again by the client's retry), "nothing". Returns the platform, the hanging event, the batch."""
    env = {**kafka_environment(broker.address, tmp_path, PARTITIONS), "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER": "1"}
    platform = build_platform(Settings.from_env(env))
    platform.log.append([prepare(f.site("first"))])  # the topic exists
    partition_verification(broker.address, False)  # the test's own broker, for this test alone
    event = event_on(PARTITION, "hung")
    offset = hang(broker.address, platform.settings.kafka_topic, event)
    if answered == "200":  # what capture does after a commit, before it answers 200
        platform.log._remember([(event, AppendResult(event.event_id, "accepted", position_of(PARTITION, offset)))])  # noqa: SLF001
    elif answered == "retried":
        assert platform.log.append([event])[0].status == "accepted"
    batch = [event_on(PARTITION, f"after-{number}") for number in range(3)] + [prepare(f.site("elsewhere"))]
    assert all(result.status == "accepted" for result in platform.log.append(batch))
    stable, highs = ends(platform)
    assert stable[PARTITION] == offset < highs[PARTITION]
    assert not {e.event_id for e in batch[:3]} & set(readable(platform))  # accepted, and invisible to every reader
    return platform, event, batch


def closed(platform, marker: str) -> float:
    text = generate_latest(platform.metrics.registry).decode()
    line = f'oretrail_log_hanging_transactions_closed_total{{marker="{marker}"}} '
    return float(text.split(line, 1)[1].split()[0]) if line in text else 0.0


def test_a_hanging_transaction_capture_answered_200_for_is_committed(own_broker, tmp_path):
    platform, event, batch = held_back_platform(own_broker, tmp_path, "200")
    try:
        platform.start_sweeper()
        wait_until(lambda: {e.event_id for e in batch} | {event.event_id} <= set(readable(platform)), 60,
                   "the hanging event and the events after it to become readable")
        assert readable(platform).count(event.event_id) == 1
        assert (closed(platform, "commit"), closed(platform, "abort")) == (1.0, 0.0)
        stable, highs = ends(platform)
        assert stable[PARTITION] == highs[PARTITION]
    finally:
        platform.close()


def test_a_hanging_copy_of_events_the_client_stored_again_is_aborted(own_broker, tmp_path):
    platform, event, batch = held_back_platform(own_broker, tmp_path, "retried")
    try:
        platform.start_sweeper()
        wait_until(lambda: {e.event_id for e in batch} <= set(readable(platform)), 60,
                   "the events after the hanging transaction to become readable")
        assert readable(platform).count(event.event_id) == 1  # the retry's copy; the hanging one aborted
        assert (closed(platform, "commit"), closed(platform, "abort")) == (0.0, 1.0)
    finally:
        platform.close()


def test_a_hanging_transaction_capture_cannot_vouch_for_is_left_to_an_operator(own_broker, tmp_path):
    platform, event, batch = held_back_platform(own_broker, tmp_path, "nothing")
    try:
        sweeper = HangingTransactionSweeper(platform.log_itself, platform.log.answered, after_s=0.5)
        sweeper.sweep()
        wait_until(lambda: sweeper.watch.observe(*ends(platform)), 20, "partition 1 to be held back long enough")
        assert sweeper.sweep() == []
        stable, highs = ends(platform)
        assert stable[PARTITION] < highs[PARTITION] and event.event_id not in readable(platform)
    finally:
        platform.close()


def test_a_transaction_its_coordinator_will_still_close_is_never_touched(kafka_servers, tmp_path):
    platform = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path, PARTITIONS)))
    producer = KafkaProducer(bootstrap_servers=kafka_servers, transactional_id=f"test-open-{uuid.uuid4().hex}",
                             transaction_timeout_ms=120_000)
    try:
        platform.log.append([prepare(f.site("first"))])
        producer.init_transactions()
        producer.begin_transaction()  # a transaction open on purpose for two minutes, its coordinator aware
        event = event_on(PARTITION, "open")
        offset = producer.send(platform.settings.kafka_topic, key=event.stream_id.encode(), value=event.body,
                               headers=headers_of(event, utc_now_text())).get(timeout=10).offset
        # indexed as if answered 200: only Kafka's rule keeps the sweeper from committing it early
        platform.log._remember([(event, AppendResult(event.event_id, "accepted", position_of(PARTITION, offset)))])  # noqa: SLF001
        sweeper = HangingTransactionSweeper(platform.log_itself, platform.log.answered, after_s=0.5)
        sweeper.sweep()
        held = wait_until(lambda: sweeper.watch.observe(*ends(platform)), 20, "partition 1 to be held back long enough")
        assert [entry["partition"] for entry in held] == [PARTITION]
        assert sweeper.sweep() == []  # held back past the set time, and left alone: its coordinator will close it
        stable, highs = ends(platform)
        assert stable[PARTITION] == offset < highs[PARTITION]
        producer.commit_transaction()  # the producer still owns it
        wait_until(lambda: event.event_id in readable(platform), 20, "the event to be readable after its commit")
    finally:
        producer.close(timeout=5)
        platform.close()


def test_the_sweeper_runs_only_on_kafka_and_only_when_asked(kafka_servers, tmp_path):
    embedded = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "embedded")}))
    off = build_platform(Settings.from_env({**kafka_environment(kafka_servers, tmp_path / "off"),
                                            "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER": "0"}))
    on = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path / "on")))
    try:
        assert embedded.start_sweeper() is None and off.start_sweeper() is None
        sweeper = on.start_sweeper()
        assert sweeper is not None and sweeper.watch.after_s == 60 and on.start_sweeper() is sweeper
        assert [thread.name for thread in on._background] == ["kafka-hanging-transactions"]  # noqa: SLF001
    finally:
        for platform in (embedded, off, on):
            platform.close()


def test_retiring_an_idle_capture_slot_initialises_it_again_at_a_newer_epoch(kafka_servers, tmp_path):
    platform = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path, PARTITIONS)))
    admin = KafkaAdminClient(bootstrap_servers=kafka_servers)
    try:
        log = platform.log_itself
        log.append([prepare(f.site("first"))])
        transactional_id = log.transactional_id(0)
        before = admin.describe_transactions([transactional_id])[transactional_id].producer_epoch
        assert not log.retire_slot(f"{transactional_id}-not-ours")
        assert log.retire_slot(transactional_id)
        wait_until(lambda: admin.describe_transactions([transactional_id])[transactional_id].producer_epoch > before,
                   30, "the slot to be initialised again")
        assert log.append([prepare(f.site("after"))])[0].status == "accepted"  # the slot works as before
    finally:
        admin.close()
        platform.close()
