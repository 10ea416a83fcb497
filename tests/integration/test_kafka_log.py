"""The Kafka log on a real broker: one transaction a batch, keys by stream, positions, duplicates."""
from __future__ import annotations

import dataclasses

import pytest
from kafka import KafkaConsumer, TopicPartition

from events.envelope import prepare
from events.kafka_log import KafkaEventLog, bootstrap_servers
from events.kafka_records import split_position
from events.log import IdempotencyConflict, LogUnavailable
from composition.bootstrap import build_platform
from tests import factories as f


@pytest.fixture
def log(kafka_settings):
    log = KafkaEventLog(bootstrap_servers(kafka_settings.event_log_url), topic=kafka_settings.kafka_topic,
                        partitions=kafka_settings.kafka_partitions, transactional_prefix=kafka_settings.kafka_prefix)
    yield log
    log.close()


def batch(*envelopes):
    return [prepare(envelope) for envelope in envelopes]


def test_the_topic_is_created_with_the_configured_partitions(log, kafka_settings):
    log.append(batch(f.site("a")))
    assert log.partition_count() == kafka_settings.kafka_partitions == 6


def test_a_batch_is_readable_with_its_server_fields_and_each_stream_stays_in_one_partition(log):
    chain = [f.production("lot-1", "pit-a", 100.0), f.assay("lot-1", 0.9), f.transfer("lot-1", "m-1", "coop", 99.0),
             f.site("site-a")]
    results = log.append(batch(*chain))
    assert [r.status for r in results] == ["accepted"] * 4
    events = {event.event_id: event for event in log.read(0, 100)}
    assert set(events) == {envelope["event_id"] for envelope in chain}
    lot_events = [events[envelope["event_id"]] for envelope in chain[:3]]
    assert {split_position(event.position)[0] for event in lot_events} == {split_position(results[0].position)[0]}
    assert [event.position for event in lot_events] == sorted(event.position for event in lot_events)
    assert lot_events[0].stream_id == "lot:lot-1"
    assert lot_events[0].envelope == chain[0]
    assert [r.position for r in results] == [events[e["event_id"]].position for e in chain]
    assert log.end_position() >= 4


def test_the_same_event_twice_in_one_batch_is_sent_once(log):
    envelope = f.site("a")
    results = log.append(batch(envelope, envelope))
    assert [r.status for r in results] == ["accepted", "duplicate"]
    assert results[0].position == results[1].position
    assert [event.event_id for event in log.read(0, 10)] == [envelope["event_id"]]


def test_an_event_id_reused_inside_a_batch_for_other_content_sends_nothing(log):
    original = f.production("lot-1", "pit-a", 10.0)
    forged = {**original, "data": {**original["data"], "mass_g": 20.0}}
    with pytest.raises(IdempotencyConflict):
        log.append(batch(f.site("innocent"), original, forged))
    log.append(batch(f.site("later")))
    assert [event.envelope["data"]["site_id"] for event in log.read(0, 10)] == ["later"]


def test_a_batch_that_fails_midway_is_aborted_whole_and_the_log_goes_on(log, kafka_servers):
    good = prepare(f.site("a"))
    too_big = dataclasses.replace(prepare(f.site("b")), body=b"x" * 2_000_000)  # over the producer's request size
    with pytest.raises(LogUnavailable):
        log.append([good, prepare(f.site("c")), too_big])
    assert log.read(0, 10) == []
    log.append(batch(f.site("d")))
    assert [event.envelope["data"]["site_id"] for event in log.read(0, 10)] == ["d"]


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


def test_capture_answers_duplicate_for_a_retried_batch_from_its_index(kafka_settings):
    platform = build_platform(kafka_settings)
    try:
        chain = [f.site("a"), f.pit("pit-a", "a")]
        first = platform.log.append(batch(*chain))
        again = platform.log.append(batch(f.site("b"), *chain))
        assert [r.status for r in again] == ["accepted", "duplicate", "duplicate"]
        assert [r.position for r in again[1:]] == [r.position for r in first]
        forged = {**chain[0], "data": {**chain[0]["data"], "region": "Kivu"}}
        with pytest.raises(IdempotencyConflict):
            platform.log.append(batch(f.site("c"), forged))
        logged = sorted(event.event_id for event in platform.log.read(0, 10))
        assert logged == sorted([chain[0]["event_id"], chain[1]["event_id"], again[0].event_id])
    finally:
        platform.close()
