"""A projector's consumer on confluent-kafka (librdkafka): :class:`ConfluentConsumer`.

kafka-python parses every record batch in Python (with ``crc32c``, 12 to 15 us of CPU a record, some
6% of the provenance projector's); librdkafka does it in C. The feed's rules stay :class:`consumers.kafka_runner.KafkaFeed`'s; what
differs in librdkafka, and how this class keeps kafka-python's meaning:

- **Assignment.** A partition's starting offset is given to ``assign`` (a ``seek`` is only for a
  partition already being consumed). The group's rebalance callbacks run inside ``poll``, in the
  consumer's own thread; on an assignment the listener says where each partition starts and the
  callback assigns them there. The assignors are ``range,roundrobin``, eager as kafka-python's
  defaults: each assignment is the whole set (not an increment), each revocation too.
- **Position.** librdkafka's ``position()`` is the offset after the last message handed out, and
  unknown after an ``assign`` or a ``seek``, so this class keeps its own: the offset it started or
  seeked at, then past each message handed out, then the partition's end when librdkafka reports
  it (``enable.partition.eof``; the end a read_committed consumer can reach, past the transaction
  markers): what kafka-python's fetch position says.
- **Poll.** ``consume(n, timeout)`` waits for a full batch; ``poll`` returns at the first message.
  So the first message is waited for and the rest taken from what is already fetched. A revocation
  served in the middle of that leaves messages of the old assignment in hand: they are dropped
  (kafka-python's fetcher drops them too), as the partition is read again by its next owner.
- **Close.** ``close()`` leaves the group at once (the revocation runs in it); nothing is committed.
"""
from __future__ import annotations

import logging
from typing import Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from consumers.kafka_consumers import AssignmentListener, ConsumerOptions, partition_fetch_bytes
from events.kafka_confluent_log import MessageRecord

logger = logging.getLogger(__name__)


class ConfluentConsumer:
    """A :class:`consumers.kafka_consumers.PartitionConsumer` on librdkafka's ``Consumer``."""

    def __init__(self, options: ConsumerOptions):
        self.topic = options.topic
        self.consumer = Consumer(self.settings(options))
        #: partition -> the next offset to read, as kafka-python's position (None: not known yet)
        self._positions: dict[int, int | None] = {}
        self._leaders_known = False
        self._timeout_s = options.timeout_ms / 1000

    @staticmethod
    def settings(options: ConsumerOptions) -> dict:
        """librdkafka's configuration of a projector's consumer (the benchmark's raw consumer uses it too)."""
        return {
            "bootstrap.servers": ",".join(options.servers),
            # librdkafka wants a group id even to assign by hand; a consumer outside the group never joins it
            "group.id": options.group_id or f"{options.client_id}.outside",
            "client.id": options.client_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,  # the end of a partition, past its transaction markers
            "partition.assignment.strategy": "range,roundrobin",  # eager, as kafka-python's (see the module)
            "fetch.wait.max.ms": 100,  # an idle projector asks again soon: bounds the lag it adds
            "queued.max.messages.kbytes": 16 * 1024,  # what it fetches ahead: as kafka-python's fetch_max_bytes
            # each partition's share of a fetch, as kafka-python's (see partition_fetch_bytes): with
            # librdkafka's 1 MiB a consume() also brings a batch of one or two partitions only
            "max.partition.fetch.bytes": partition_fetch_bytes(options),
            "session.timeout.ms": options.session_timeout_ms,
            "heartbeat.interval.ms": max(500, options.session_timeout_ms // 4),
            "socket.timeout.ms": max(options.timeout_ms, 30_000) + 5_000,
            "reconnect.backoff.max.ms": 1000,
        }

    def _start(self, offsets: Mapping[int, int | None]) -> None:
        self.consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING if offset is None else offset)
                              for partition, offset in offsets.items()])
        self._positions = dict(offsets)

    def _know_leaders(self) -> None:
        """Ask the broker for the topic's metadata (its partitions' leaders) before assigning: assigned
        partitions whose leader librdkafka does not know yet wait for its periodic metadata refresh
        (about half a second measured) before their first fetch; asked first, they fetch at once."""
        if not self._leaders_known:
            self.consumer.list_topics(self.topic, timeout=self._timeout_s)
            self._leaders_known = True  # a leader moved later is found by librdkafka's own refresh

    def assign(self, offsets: Mapping[int, int | None]) -> None:
        self._know_leaders()  # (a member of the group knows them: it joined with the topic's metadata)
        self._start(offsets)

    def subscribe(self, listener: AssignmentListener) -> None:
        def assigned(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            self._start(listener.take([tp.partition for tp in partitions]))

        def revoked(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            listener.release([tp.partition for tp in partitions])
            consumer.unassign()
            self._positions = {}

        self.consumer.subscribe([self.topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)

    def assignment(self) -> list[int]:
        return sorted(tp.partition for tp in self.consumer.assignment())

    def seek(self, partition: int, offset: int | None) -> None:
        # librdkafka drops what it fetched of the partition before the seek (its version barrier)
        self.consumer.seek(TopicPartition(self.topic, partition, OFFSET_BEGINNING if offset is None else offset))
        self._positions[partition] = offset

    def position(self, partition: int) -> int | None:
        return self._positions.get(partition)

    def poll(self, timeout_ms: int, max_records: int) -> dict[int, list]:
        first = self.consumer.poll(timeout_ms / 1000)
        if first is None:
            return {}
        messages = [first]
        if max_records > 1:
            messages += self.consumer.consume(max_records - 1, timeout=0)
        polled: dict[int, list] = {}
        positions = self._positions  # emptied by a revocation served inside this poll (eager assignment)
        for message in messages:
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - public code
                raise KafkaException(error)
            partition = message.partition()
            if partition not in positions:
                continue  # fetched for the assignment a revocation just ended
            if error is not None:  # the partition's end: past its last transaction markers
                positions[partition] = message.offset()
            else:
                record = MessageRecord(message)
                polled.setdefault(partition, []).append(record)
                positions[partition] = record.offset + 1
        return polled

    def commit_async(self, offsets: Mapping[int, int]) -> None:
        try:
            self.consumer.commit(offsets=[TopicPartition(self.topic, partition, offset)
                                          for partition, offset in offsets.items()], asynchronous=True)
        except KafkaException as exc:  # monitoring only: the database holds the truth
            logger.debug("offsets not committed to Kafka: %r", exc)

    def close(self) -> None:
        self.consumer.close()
