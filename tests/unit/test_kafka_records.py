"""How events sit in Kafka records: positions, partitions by stream, the log URL (no broker needed)."""
from __future__ import annotations

import pytest
from kafka.partitioner.default import DefaultPartitioner

from events.kafka_log import StreamPartitioner, bootstrap_servers
from kafka.consumer.fetcher import ConsumerRecord

from events.attestation import Attestation
from events.envelope import prepare
from events.kafka_records import MAX_PARTITIONS, headers_of, position_of, recorded_event, split_position
from tests import factories as f


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


def _record(event, headers, partition=2, offset=41):
    return ConsumerRecord(topic="t", partition=partition, leader_epoch=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=event.stream_id.encode(), value=event.body, headers=headers, checksum=None,
                          serialized_key_size=0, serialized_value_size=0, serialized_header_size=0)


def test_attested_by_travels_in_a_header_and_older_records_have_none():
    coop = Attestation(organisation="coop-mambasa", role="cooperative", key_id="0a1b2c3d")
    event = prepare(f.production("lot-1", "pit-a", 10.0), coop)
    headers = headers_of(event, "2026-03-02T09:00:00Z")
    assert dict(headers)["attested_by"] == b'{"key_id":"0a1b2c3d","organisation":"coop-mambasa","role":"cooperative"}'
    read = recorded_event(_record(event, headers))
    assert read.attested_by == coop
    assert read.as_dict()["attested_by"] == {"organisation": "coop-mambasa", "role": "cooperative", "key_id": "0a1b2c3d"}
    assert (read.position, read.hash, read.body) == (position_of(2, 41), event.hash, event.body)
    older = recorded_event(_record(event, [h for h in headers if h[0] != "attested_by"]))
    assert older.attested_by is None and older.as_dict()["attested_by"] is None


def test_a_transaction_may_encode_recorded_at_once_and_records_read_the_same():
    coop = Attestation(organisation="coop-mambasa", role="cooperative", key_id="0a1b2c3d")
    first, second = (prepare(f.production(f"lot-{n}", "pit-a", 10.0), coop) for n in (1, 2))
    assert headers_of(first, b"2026-03-02T09:00:00Z") == headers_of(first, "2026-03-02T09:00:00Z")
    read = [recorded_event(_record(event, headers_of(event, b"2026-03-02T09:00:00Z"), offset=offset))
            for offset, event in enumerate((first, second))]
    assert [(r.event_id, r.recorded_at, r.attested_by) for r in read] == [
        (first.event_id, "2026-03-02T09:00:00Z", coop), (second.event_id, "2026-03-02T09:00:00Z", coop)]


def test_kafka_python_checks_record_batches_with_the_native_crc32c():
    """Without the crc32c package kafka-python computes CRC-32C in pure Python, 5-9x slower."""
    from kafka.record import util

    import crc32c

    assert util.calc_crc32c.__defaults__[0] is crc32c.crc32c
    assert util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283


def test_each_attestation_keeps_its_own_stored_form():
    forms = [Attestation(organisation=org, role=role, key_id=key).to_json()
             for org, role, key in (("coop", "cooperative", "k1"), ("coop", "refiner", "k1"),
                                    ("coop", "cooperative", "k2"), ("coöp", "cooperative", "k1"))]
    assert forms == ['{"key_id":"k1","organisation":"coop","role":"cooperative"}',
                     '{"key_id":"k1","organisation":"coop","role":"refiner"}',
                     '{"key_id":"k2","organisation":"coop","role":"cooperative"}',
                     '{"key_id":"k1","organisation":"co\\u00f6p","role":"cooperative"}']
