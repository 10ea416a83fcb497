"""The projectors' consumer operations (``consumers.kafka_consumers``) mean the same on both client
libraries, against the real broker: where a consumer starts, what a seek drops, where its position
ends (past the transaction markers), what the group's assignment calls, and the events read."""
from __future__ import annotations

import uuid

import pytest

from consumers.kafka_consumers import ConsumerOptions, PartitionConsumer, open_consumer
from events.envelope import prepare
from events.kafka_log import KafkaEventLog
from events.kafka_records import recorded_event
from tests import factories as f
from tests.waiting import wait_until

DRIVERS = ("kafka-python", "confluent")


@pytest.fixture
def log(kafka_servers):
    """A one-partition topic of three transactions of four events: a marker after each."""
    token = uuid.uuid4().hex[:10]
    log = KafkaEventLog([kafka_servers], topic=f"test.consumers.{token}", partitions=1,
                        transactional_prefix=f"test-{token}")
    for batch in range(3):
        log.append([prepare(f.site(f"site-{batch}-{number}")) for number in range(4)])
    yield log
    log.close()


def options(log: KafkaEventLog, group_id: str | None = None) -> ConsumerOptions:
    return ConsumerOptions(servers=tuple(log.servers), topic=log.topic, group_id=group_id, client_id="oretrail-test",
                           batch_size=5, session_timeout_ms=6_000, timeout_ms=log.timeout_ms)


def read_to(consumer: PartitionConsumer, end: int) -> list:
    """Poll partition 0 until the consumer's position is ``end``; the records read on the way."""
    records: list = []

    def at_end() -> bool:
        for partition, polled in consumer.poll(timeout_ms=200, max_records=5).items():
            assert partition == 0 and len(polled) <= 5
            records.extend(polled)
        return consumer.position(0) == end

    wait_until(at_end, 30, f"the consumer's position to reach {end}")
    return records


def offsets_of(records: list) -> list[int]:
    return [record.offset for record in records]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_consumer_starts_where_told_and_its_position_ends_past_the_last_marker(log, driver):
    written = [event.offset for event in log.read(limit=100)]
    end = log.end_offsets()[0]
    assert end == written[-1] + 2  # the last transaction's marker sits between the last event and the end
    consumer = open_consumer(driver, options(log))
    try:
        consumer.assign({0: written[5]})
        assert consumer.assignment() == [0]
        assert offsets_of(read_to(consumer, end)) == written[5:]
    finally:
        consumer.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_after_a_seek_the_consumer_reads_from_there_and_nothing_it_had_fetched_before(log, driver):
    written = [event.offset for event in log.read(limit=100)]
    end = log.end_offsets()[0]
    consumer = open_consumer(driver, options(log))
    try:
        consumer.assign({0: None})
        first = consumer.poll(timeout_ms=5_000, max_records=5)
        assert offsets_of(first[0]) == written[:5]  # and more are fetched ahead: the seek must drop them
        consumer.seek(0, written[2])
        assert consumer.position(0) == written[2]
        assert offsets_of(read_to(consumer, end)) == written[2:]
        consumer.seek(0, None)  # the beginning, as a rebuild that was never applied
        assert offsets_of(read_to(consumer, end)) == written
    finally:
        consumer.close()


class Recorder:
    """An assignment listener that starts each partition at a given offset and notes every call."""

    def __init__(self, start: int):
        self.start = start
        self.taken: list[list[int]] = []
        self.released: list[list[int]] = []

    def take(self, partitions):
        self.taken.append(sorted(partitions))
        return {partition: self.start for partition in partitions}

    def release(self, partitions):
        self.released.append(sorted(partitions))


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_group_member_starts_each_assigned_partition_where_the_listener_says(log, driver):
    written = [event.offset for event in log.read(limit=100)]
    end = log.end_offsets()[0]
    recorder = Recorder(start=written[7])
    consumer = open_consumer(driver, options(log, group_id=f"{log.topic}.group"))
    try:
        consumer.subscribe(recorder)
        assert offsets_of(read_to(consumer, end)) == written[7:]
        assert recorder.taken[-1] == [0]  # kafka-python may first be given nothing, before it knows the topic
        assert consumer.assignment() == [0]
        consumer.commit_async({0: end})  # best effort: never raises
    finally:
        consumer.close()


def test_both_drivers_records_become_the_same_events_as_the_log_reads(log):
    end = log.end_offsets()[0]
    read = {}
    for driver in DRIVERS:
        consumer = open_consumer(driver, options(log))
        try:
            consumer.assign({0: None})
            read[driver] = [recorded_event(record) for record in read_to(consumer, end)]
        finally:
            consumer.close()
    assert read["kafka-python"] == read["confluent"] == log.read(limit=100)
