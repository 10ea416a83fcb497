"""Hanging transactions on a real broker: a transaction no coordinator will close is aborted and the
events accepted after it become readable; one its coordinator still means to close is left alone.

A hanging transaction is made the way they arose before KIP-890: a producer's records reach a
partition its coordinator never added to the transaction (the client is told the partition was
added), on a broker of the test's own whose check against that (partition verification) is off.
"""
from __future__ import annotations

import uuid

from kafka import KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from prometheus_client import generate_latest

from composition.bootstrap import build_platform
from events.envelope import prepare
from events.position import LogPosition
from services.hanging_transactions import HangingTransactionSweeper
from services.settings import Settings
from tests import factories as f
from tests.kafka_fixtures import kafka_environment
from tests.waiting import wait_until

PARTITION = 1


def partition_verification(address: str, enabled: bool) -> None:
    """Turn the broker's check that a transaction's partitions were added to it on or off."""
    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        broker = str(admin.describe_cluster()["brokers"][0]["broker_id"])
        admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, broker, configs={
            "transaction.partition.verification.enable": str(enabled).lower()})])
    finally:
        admin.close()


def hang_a_transaction(address: str, topic: str, partition: int) -> None:
    """Leave a record on ``partition`` of ``topic`` in a transaction whose coordinator never heard of
    the partition: the transaction commits on a topic of its own, and its marker never reaches ``partition``."""
    other = f"{topic}.other"
    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        admin.create_topics([NewTopic(other, 1, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=address, transactional_id=f"test-hang-{uuid.uuid4().hex}")
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(other, b"added as it should be", partition=0).get(timeout=10)
        manager = producer._transaction_manager  # noqa: SLF001 - the client is made to skip AddPartitionsToTxn
        with manager._lock:  # noqa: SLF001
            manager._partitions_in_transaction.add(TopicPartition(topic, partition))  # noqa: SLF001
        producer.send(topic, b"never added", partition=partition).get(timeout=10)
        producer.commit_transaction()
    finally:
        producer.close(timeout=5)


def ends(platform) -> tuple[dict[int, int], dict[int, int]]:
    log = platform.log_itself
    return log.end_offsets(), log.high_watermarks()


def readable(platform) -> set[str]:
    found, position = set(), LogPosition.start()
    while (page := platform.log_itself.page(position, 1000)).events:
        found |= {event.event_id for event in page.events}
        position = page.next
    return found


def test_a_hanging_transaction_is_aborted_and_the_events_accepted_after_it_become_readable(own_broker, tmp_path):
    env = {**kafka_environment(own_broker.address, tmp_path), "ORETRAIL_KAFKA_ABORT_HANGING_AFTER": "1"}
    platform = build_platform(Settings.from_env(env))
    try:
        platform.log.append([prepare(f.site("first"))])  # the topic exists
        partition_verification(own_broker.address, False)  # the test's own broker, for this test alone
        hang_a_transaction(own_broker.address, platform.settings.kafka_topic, PARTITION)
        batch = [prepare(f.site(f"after-{number}")) for number in range(24)]
        results = platform.log.append(batch)
        behind = {result.event_id for result in results if (result.position - 1) >> 48 == PARTITION}
        assert behind and all(result.status == "accepted" for result in results)
        stable, highs = ends(platform)
        assert stable[PARTITION] < highs[PARTITION]
        assert not behind & readable(platform)  # accepted, and invisible to every reader

        platform.start_sweeper()
        wait_until(lambda: {result.event_id for result in results} <= readable(platform), 60,
                   "the events after the hanging transaction to become readable")
        stable, highs = ends(platform)
        assert stable[PARTITION] == highs[PARTITION]
        assert "oretrail_log_hanging_transactions_aborted_total 1.0" in generate_latest(platform.metrics.registry).decode()
    finally:
        platform.close()


def test_a_transaction_its_coordinator_will_still_close_is_never_aborted(kafka_servers, tmp_path):
    platform = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path)))
    producer = KafkaProducer(bootstrap_servers=kafka_servers, transactional_id=f"test-open-{uuid.uuid4().hex}",
                             transaction_timeout_ms=120_000)
    try:
        platform.log.append([prepare(f.site("first"))])
        producer.init_transactions()
        producer.begin_transaction()  # another program's transaction, open on purpose for two minutes
        producer.send(platform.settings.kafka_topic, b"not an event yet", partition=PARTITION).get(timeout=10)
        sweeper = HangingTransactionSweeper(platform.log_itself, after_s=0.5)
        sweeper.sweep()
        held = wait_until(lambda: sweeper.watch.observe(*ends(platform)), 20, "partition 1 to be held back long enough")
        assert [entry["partition"] for entry in held] == [PARTITION]
        assert sweeper.sweep() == []  # held back past the set time, and left alone: its coordinator will close it
        stable, highs = ends(platform)
        assert stable[PARTITION] < highs[PARTITION]
        producer.commit_transaction()  # the producer still owns it
        wait_until(lambda: ends(platform)[0][PARTITION] == ends(platform)[1][PARTITION], 20,
                   "partition 1 to be free after the commit")
    finally:
        producer.close(timeout=5)
        platform.close()


def test_the_sweeper_runs_only_on_kafka_and_only_when_asked(kafka_servers, tmp_path):
    embedded = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "embedded")}))
    off = build_platform(Settings.from_env({**kafka_environment(kafka_servers, tmp_path / "off"),
                                            "ORETRAIL_KAFKA_ABORT_HANGING_AFTER": "0"}))
    on = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path / "on")))
    try:
        assert embedded.start_sweeper() is None and off.start_sweeper() is None
        sweeper = on.start_sweeper()
        assert sweeper is not None and sweeper.watch.after_s == 60 and on.start_sweeper() is sweeper
        assert [thread.name for thread in on._background] == ["kafka-hanging-transactions"]  # noqa: SLF001
    finally:
        for platform in (embedded, off, on):
            platform.close()
