"""The projectors consume with the log's Kafka client library, configured for the feed's rules."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from consumers.kafka_confluent_consumer import ConfluentConsumer
from consumers.kafka_consumers import PythonConsumer, consumer_class
from services.settings import Settings

KAFKA = {"ORETRAIL_EVENT_LOG": "kafka://127.0.0.1:9", "ORETRAIL_KAFKA_TOPIC": "t", "ORETRAIL_KAFKA_PREFIX": "p"}


@pytest.mark.parametrize(("driver", "expected"), [("kafka-python", PythonConsumer), ("confluent", ConfluentConsumer)])
def test_the_consumer_class_follows_the_driver(driver, expected):
    assert consumer_class(driver) is expected


def runner_settings(tmp_path, driver: str, group_id: str | None) -> dict:
    """The consumer settings of the provenance runner of a platform on ``driver`` (no broker needed)."""
    platform = build_platform(Settings.from_env({**KAFKA, "ORETRAIL_DATA_DIR": str(tmp_path),
                                                 "ORETRAIL_KAFKA_DRIVER": driver}))
    try:
        return platform.runners["provenance"].consumer_settings(group_id)
    finally:
        platform.close()


def test_the_librdkafka_consumer_keeps_the_feeds_rules(tmp_path):
    settings = runner_settings(tmp_path, "confluent", "p.provenance")
    assert settings["group.id"] == "p.provenance" and settings["bootstrap.servers"] == "127.0.0.1:9"
    assert settings["isolation.level"] == "read_committed"
    assert settings["enable.auto.commit"] is False  # the read-model database holds the offsets
    assert settings["enable.partition.eof"] is True  # how its position goes past the last transaction markers
    # eager assignors: each assignment is the whole set, started at the stored offsets in on_assign
    assert set(settings["partition.assignment.strategy"].split(",")) <= {"range", "roundrobin"}


def test_a_librdkafka_consumer_outside_the_group_still_has_a_group_id_of_its_own(tmp_path):
    settings = runner_settings(tmp_path, "confluent", None)
    assert settings["group.id"] and settings["group.id"] != "p.provenance"


def test_the_kafka_python_consumer_keeps_its_settings(tmp_path):
    settings = runner_settings(tmp_path, "kafka-python", "p.provenance")
    assert settings["group_id"] == "p.provenance" and settings["isolation_level"] == "read_committed"
    assert settings["enable_auto_commit"] is False


def test_each_partitions_share_of_a_fetch_is_about_a_batch_spread_over_the_partitions():
    from consumers.kafka_consumers import PARTITION_FETCH_BYTES, ConsumerOptions, partition_fetch_bytes

    def options(batch_size: int, partitions: int) -> ConsumerOptions:
        return ConsumerOptions(servers=("k:9092",), topic="t", group_id=None, client_id="c", batch_size=batch_size,
                               session_timeout_ms=10_000, timeout_ms=5_000, partitions=partitions)

    low, high = PARTITION_FETCH_BYTES
    six = partition_fetch_bytes(options(2000, 6))
    assert 200 * 1024 < six < 300 * 1024  # about 330 records of each of 6 partitions: a batch's worth a poll
    assert abs(partition_fetch_bytes(options(2000, 3)) - 2 * six) <= 1  # half the partitions, twice the share
    assert partition_fetch_bytes(options(2000, 1)) == high  # never above the client's default
    assert partition_fetch_bytes(options(10, 64)) == low  # never so small that a poll brings a handful
    assert PythonConsumer.settings(options(2000, 6))["max_partition_fetch_bytes"] == six
    assert ConfluentConsumer.settings(options(2000, 6))["max.partition.fetch.bytes"] == six
