"""How events sit in Kafka records: positions, partitions by stream, the log URL (no broker needed)."""
from __future__ import annotations

import pytest
from kafka.partitioner.default import DefaultPartitioner

from events.kafka_log import StreamPartitioner, bootstrap_servers
from events.kafka_records import MAX_PARTITIONS, position_of, split_position


def test_a_position_encodes_partition_and_offset_and_zero_is_before_everything():
    assert position_of(0, 0) == 1
    assert split_position(position_of(5, 1234)) == (5, 1234)
    assert split_position(0) == (0, -1)
    assert position_of(1, 0) > position_of(0, 10**12)
    assert position_of(MAX_PARTITIONS - 1, 10**12) < 2**63
    with pytest.raises(ValueError):
        position_of(MAX_PARTITIONS, 0)


class _Cluster:
    def __init__(self, count):
        self.count = count

    def topics(self):
        return {"t"}

    def partitions_for_topic(self, topic):
        return set(range(self.count))

    def available_partitions_for_topic(self, topic):
        return set(range(self.count))


@pytest.mark.parametrize("count", [1, 6, 7])
def test_streams_land_in_the_partition_kafkas_default_partitioner_picks(count):
    cluster = _Cluster(count)
    for stream in ["lot:lot-1", "product:ring-9", "site:site-a", "pit:p-17", "org:coop-mambasa"]:
        key = stream.encode()
        assert StreamPartitioner().partition("t", key, key, b"", b"", cluster) == \
            DefaultPartitioner().partition("t", key, key, b"", b"", cluster)


def test_the_log_url_names_one_or_more_brokers():
    assert bootstrap_servers("kafka://a:9092") == ["a:9092"]
    assert bootstrap_servers("kafka://a:9092,b:9093/") == ["a:9092", "b:9093"]
    for bad in ["kafka://", "kafka://host", "http://a:9092"]:
        with pytest.raises(ValueError):
            bootstrap_servers(bad)
