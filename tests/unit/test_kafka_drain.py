"""How a catch-up on Kafka starts and ends: the librdkafka consumer asks for the topic's leaders before
its partitions are assigned, and a drain whose consumer is already past the last transaction markers
stores that instead of polling once more for records that will not come (fakes: no broker)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from consumers import kafka_confluent_consumer
from consumers.kafka_confluent_consumer import ConfluentConsumer
from consumers.kafka_consumers import ConsumerOptions
from consumers.kafka_runner import DRAIN_POLL_MS, KafkaProjectionRunner


class FakeLibrdkafka:
    """librdkafka's ``Consumer``, recording the calls this module makes."""

    def __init__(self, settings: dict):
        self.calls: list[tuple] = []

    def list_topics(self, topic, timeout):
        self.calls.append(("list_topics", topic))

    def assign(self, partitions):
        self.calls.append(("assign", sorted(tp.partition for tp in partitions)))

    def subscribe(self, topics, **callbacks):
        self.calls.append(("subscribe", topics))


OPTIONS = ConsumerOptions(servers=("127.0.0.1:9",), topic="t", group_id=None, client_id="c", batch_size=10,
                          session_timeout_ms=10_000, timeout_ms=5_000)


def test_a_librdkafka_consumer_learns_the_leaders_before_its_first_assignment(monkeypatch):
    monkeypatch.setattr(kafka_confluent_consumer, "Consumer", FakeLibrdkafka)
    consumer = ConfluentConsumer(OPTIONS)
    consumer.assign({0: None, 1: 5})
    consumer.assign({0: 3})  # a second assignment: the leaders are known (librdkafka follows a move itself)
    assert consumer.consumer.calls == [("list_topics", "t"), ("assign", [0, 1]), ("assign", [0])]
    assert consumer.position(0) == 3


def test_a_group_member_does_not_ask_for_them_itself(monkeypatch):
    # it joins the group with the topic's metadata; its assignments come inside poll's callbacks
    monkeypatch.setattr(kafka_confluent_consumer, "Consumer", FakeLibrdkafka)
    consumer = ConfluentConsumer(OPTIONS)
    consumer.subscribe(listener=None)
    assert consumer.consumer.calls == [("subscribe", ["t"])]


class FakeConsumer:
    """A :class:`PartitionConsumer` whose positions are given, and whose polls are counted."""

    def __init__(self, positions: dict[int, int], polled: list[dict]):
        self.positions = positions
        self.to_poll = polled
        self.polls = 0

    def assignment(self):
        return sorted(self.positions)

    def position(self, partition):
        return self.positions[partition]

    def poll(self, timeout_ms, max_records):
        self.polls += 1
        return self.to_poll.pop(0) if self.to_poll else {}


class FakeFeed:
    """What the drain asks of a :class:`KafkaFeed`: apply a poll, or store positions when idle."""

    def __init__(self, consumer: FakeConsumer, expected: dict[int, int]):
        self.consumer = consumer
        self.expected = expected
        self.idle_calls = 0

    def apply(self, polled):
        for partition, records in polled.items():
            self.expected[partition] = records[-1] + 1
        return sum(len(records) for records in polled.values())

    def advance_idle(self):
        self.idle_calls += 1
        self.expected.update(self.consumer.positions)


RUNNER = SimpleNamespace(batch_size=10, timeout_ms=5_000, projector=SimpleNamespace(name="provenance"))


def test_a_drain_past_the_last_markers_ends_without_another_poll():
    # partition 0 ends at 11 (records to 9, a commit marker at 10): the poll that brings 8 and 9 also
    # moves the consumer past the marker; partition 1 has nothing to read
    consumer = FakeConsumer({0: 8, 1: 4}, polled=[])
    feed = FakeFeed(consumer, expected={0: 8, 1: 4})

    def poll(timeout_ms, max_records):
        consumer.polls += 1
        consumer.positions[0] = 11
        return {0: [8, 9]}

    consumer.poll = poll
    applied = KafkaProjectionRunner._drain(RUNNER, consumer, feed, ends={0: 11, 1: 4})
    assert (applied, consumer.polls, feed.idle_calls) == (2, 1, 1)  # no second poll waiting for nothing
    assert feed.expected == {0: 11, 1: 4}


def test_a_drain_asks_no_position_before_its_first_poll():
    # kafka-python answers a position not known yet (a partition just assigned) by asking the broker
    class Unpositioned(FakeConsumer):
        def position(self, partition):
            if not self.polls:
                raise AssertionError("position asked before the first poll")
            return super().position(partition)

    consumer = Unpositioned({0: 11}, polled=[])
    feed = FakeFeed(consumer, expected={0: 10})
    KafkaProjectionRunner._drain(RUNNER, consumer, feed, ends={0: 11})
    assert consumer.polls == 1 and feed.expected == {0: 11}


def test_a_drain_behind_its_ends_polls_for_the_records():
    consumer = FakeConsumer({0: 8, 1: 4}, polled=[{0: [8, 9]}])
    feed = FakeFeed(consumer, expected={0: 8, 1: 4})

    def poll(timeout_ms, max_records):  # the records move the consumer's position on, as a real poll does
        consumer.polls += 1
        consumer.positions[0] = 10
        return consumer.to_poll.pop(0)

    consumer.poll = poll
    applied = KafkaProjectionRunner._drain(RUNNER, consumer, feed, ends={0: 10, 1: 4})
    assert (applied, consumer.polls, feed.idle_calls) == (2, 1, 0)


@pytest.mark.parametrize("position", [None, 10])
def test_a_drain_whose_consumer_has_not_passed_the_markers_polls_again(position):
    # position None: not known yet (a partition just assigned), so not taken as the end
    consumer = FakeConsumer({0: position}, polled=[])
    feed = FakeFeed(consumer, expected={0: 10})

    def poll(timeout_ms, max_records):  # the next poll brings nothing but moves past the marker
        consumer.polls += 1
        consumer.positions[0] = 11
        return {}

    consumer.poll = poll
    KafkaProjectionRunner._drain(RUNNER, consumer, feed, ends={0: 11})
    assert consumer.polls == 1 and feed.expected == {0: 11}


def test_after_a_poll_with_records_the_next_takes_what_is_fetched_without_waiting():
    consumer = FakeConsumer({0: 0}, polled=[])
    feed = FakeFeed(consumer, expected={0: 0})
    answers = [{0: [0, 1]}, {0: [2, 3]}, {}, {0: [4, 5]}]  # the third: the next fetch is not in yet
    waits = []

    def poll(timeout_ms, max_records):
        waits.append(timeout_ms)
        polled = answers.pop(0)
        if polled:
            consumer.positions[0] = polled[0][-1] + 1
        return polled

    consumer.poll = poll
    applied = KafkaProjectionRunner._drain(RUNNER, consumer, feed, ends={0: 6})
    assert applied == 6
    assert waits == [DRAIN_POLL_MS, 0, 0, DRAIN_POLL_MS]  # an empty answer without waiting is followed by a poll that waits
    assert feed.idle_calls == 0  # and is not taken for an idle feed
