"""What only the Kafka log does, on a real broker, with each driver: its topic, aborted transactions,
the number an event's position is. What every log does is in ``test_log_contract.py``."""
from __future__ import annotations

import dataclasses

import pytest
from kafka import KafkaConsumer, TopicPartition

from events.envelope import prepare
from events.kafka_confluent_log import ConfluentKafkaEventLog
from events.kafka_log import KafkaEventLog, bootstrap_servers
from events.kafka_records import split_position
from events.log import LogUnavailable
from tests import factories as f


@pytest.fixture(params=[KafkaEventLog, ConfluentKafkaEventLog], ids=["kafka-python", "confluent"])
def log(request, kafka_settings):
    log = request.param(bootstrap_servers(kafka_settings.event_log_url), topic=kafka_settings.kafka_topic,
                          partitions=kafka_settings.kafka_partitions, transactional_prefix=kafka_settings.kafka_prefix)
    yield log
    log.close()


def batch(*envelopes):
    return [prepare(envelope) for envelope in envelopes]


def test_the_topic_is_created_with_the_configured_partitions(log, kafka_settings):
    log.append(batch(f.site("a")))
    assert log.partition_count() == kafka_settings.kafka_partitions == 6


def test_an_events_position_number_encodes_its_partition_and_offset(log):
    chain = [f.production("lot-1", "pit-a", 100.0), f.assay("lot-1", 0.9), f.site("site-a")]
    results = log.append(batch(*chain))
    read = {event.event_id: event for event in log.read(limit=100)}
    for result in results:
        event = read[result.event_id]
        assert split_position(result.position) == (event.partition, event.offset)
    assert log.end().total >= 3 and len(log.end()) == 6


def test_a_batch_that_fails_midway_is_aborted_whole_and_the_log_goes_on(log, kafka_servers):
    good = prepare(f.site("a"))
    too_big = dataclasses.replace(prepare(f.site("b")), body=b"x" * 2_000_000)  # over the producer's request size
    with pytest.raises(LogUnavailable):
        log.append([good, prepare(f.site("c")), too_big])
    assert log.read(limit=10) == []
    log.append(batch(f.site("d")))
    assert [event.envelope["data"]["site_id"] for event in log.read(limit=10)] == ["d"]


def test_a_read_committed_consumer_never_sees_an_aborted_batch(log, kafka_servers):
    log.append(batch(f.site("a")))
    with pytest.raises(LogUnavailable):
        log.append([prepare(f.site("b")), dataclasses.replace(prepare(f.site("c")), body=b"x" * 2_000_000)])
    log.append(batch(f.site("d")))
    consumer = KafkaConsumer(bootstrap_servers=kafka_servers, isolation_level="read_committed", group_id=None)
    partitions = [TopicPartition(log.topic, p) for p in range(log.partition_count())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen = []
    ends = log.end_offsets()
    while any(consumer.position(tp) < ends[tp.partition] for tp in partitions):
        for records in consumer.poll(timeout_ms=500).values():
            seen += [dict(record.headers)["event_id"].decode() for record in records]
    consumer.close()
    assert len(seen) == 2


def test_a_partition_read_up_to_an_end_that_moved_meanwhile_loses_nothing_and_repeats_nothing(log):
    """A page reads each partition up to the end it found; a batch appended meanwhile is either in
    the page or after the next offset it gives, never skipped (one stream: one partition)."""
    before = log.append(batch(f.production("lot-1", "pit-a", 100.0), f.assay("lot-1", 0.9)))
    partition, _ = split_position(before[0].position)
    end = log.settled_end_offsets()[partition]
    after = log.append(batch(f.transfer("lot-1", "m-1", "coop", 99.0), f.assay("lot-1", 0.91)))
    last = log.settled_end_offsets()[partition]  # the second batch committed and readable
    with log._reader_lock:  # noqa: SLF001 - the page's read of one partition, with its end held back
        consumer = log._reader_consumer()  # noqa: SLF001
        try:
            first, following = log._read_partition(consumer, partition, 0, end, 100)  # noqa: SLF001
            rest, _ = log._read_partition(consumer, partition, following, last, 100)  # noqa: SLF001
        finally:
            log._release(consumer)  # noqa: SLF001
    assert following >= end
    assert [event.event_id for event in first + rest] == [result.event_id for result in before + after]
