"""The handful of consumer operations a projector's feed uses, over either Kafka client.

:class:`consumers.kafka_runner.KafkaFeed` holds the projector's rules (compare-and-set on the
offsets stored in the read-model database, rewind, follow, idle positions); what it asks of a
consumer is small and written here once per client library, on partition numbers of the one
topic: start partitions at given offsets (:meth:`PartitionConsumer.assign`, or through a
:class:`AssignmentListener` when the group assigns them), ``seek`` (``None``: the partition's
beginning), ``position`` (the next offset to read, past transaction markers the consumer skipped),
``poll`` as ``{partition: records}``, a best-effort ``commit_async`` and ``close``. A record has
``partition``, ``offset``, ``key``, ``value`` and ``headers``, as
:func:`events.kafka_records.recorded_event` reads them.

:class:`PythonConsumer` is kafka-python's (the default); ``ORETRAIL_KAFKA_DRIVER=confluent`` picks
:class:`consumers.kafka_confluent_consumer.ConfluentConsumer` (librdkafka), imported only then:
confluent-kafka is an optional extra. Each consumer is used by the one thread that made it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerOptions:
    """What a projector's consumer is configured from, whichever the client library."""

    servers: Sequence[str]
    topic: str
    #: the consumer group (``None``: a consumer outside any group, partitions assigned by hand)
    group_id: str | None
    client_id: str
    batch_size: int
    session_timeout_ms: int
    timeout_ms: int
    #: how many partitions the topic has (sizes each partition's share of a fetch)
    partitions: int = 1


#: an event's record is most often 0.5 to 1 kB (key, canonical JSON body, headers)
TYPICAL_RECORD_BYTES = 800
#: the bounds of a partition's share of one fetch: at least a few dozen records, at most the client's default
PARTITION_FETCH_BYTES = (64 * 1024, 1024 * 1024)


def partition_fetch_bytes(options: ConsumerOptions) -> int:
    """How much of each partition one fetch asks for: about a batch spread over the partitions.

    With the client's default (1 MiB) a poll returns some 1,300 records of one or two partitions,
    and a batch then holds hours of one stream and nothing of the others: a claim's other steps
    come in other batches, and custody is decided again for more items (1.7 times as many verdicts
    as from the SQLite log). A batch's worth over all partitions keeps its streams close in time:
    catching up on 50,000 events over 6 partitions took 14% less CPU (256 KiB against 1 MiB);
    much less than a batch's worth makes polls smaller than a batch (128 KiB: slower than the default).
    (Kafka returns a partition's first record batch whole even when it is larger.)"""
    wanted = options.batch_size * TYPICAL_RECORD_BYTES // max(1, options.partitions)
    low, high = PARTITION_FETCH_BYTES
    return min(high, max(low, wanted))


class AssignmentListener(Protocol):
    """Told of the partitions the group gives and takes; says where each given one starts."""

    def take(self, partitions: Sequence[int]) -> dict[int, int | None]:
        """The offset each newly owned partition starts at (``None``: its beginning)."""

    def release(self, partitions: Sequence[int]) -> None:
        """Partitions this member no longer owns (revoked, or lost with the group's session)."""


class PartitionConsumer(Protocol):
    """A consumer of one topic as a projector's feed uses it (see the module)."""

    def assign(self, offsets: Mapping[int, int | None]) -> None:
        """Outside any group: consume these partitions from these offsets (``None``: the beginning)."""

    def subscribe(self, listener: AssignmentListener) -> None:
        """Join the group; the listener is called from ``poll`` on every assignment and revocation."""

    def assignment(self) -> list[int]:
        """The partitions consumed now."""

    def seek(self, partition: int, offset: int | None) -> None:
        """Read ``partition`` next from ``offset`` (``None``: its beginning); nothing fetched before is returned."""

    def position(self, partition: int) -> int | None:
        """The next offset of ``partition`` to read (``None``: not known yet)."""

    def poll(self, timeout_ms: int, max_records: int) -> dict[int, list]:
        """At most ``max_records`` records, by partition; waits at most ``timeout_ms`` for the first."""

    def commit_async(self, offsets: Mapping[int, int]) -> None:
        """Best effort: commit the offsets to Kafka (for lag dashboards; the database holds the truth)."""

    def close(self) -> None:
        """Leave the group (if in one) and free the client, committing nothing."""


def consumer_class(driver: str) -> type:
    """The consumer class of the client library ``driver`` names (``ORETRAIL_KAFKA_DRIVER``)."""
    if driver == "confluent":  # imported only when chosen: confluent-kafka is an optional extra
        from consumers.kafka_confluent_consumer import ConfluentConsumer
        return ConfluentConsumer
    return PythonConsumer


def open_consumer(driver: str, options: ConsumerOptions) -> PartitionConsumer:
    """A consumer of the client library ``driver`` names, configured from ``options``."""
    return consumer_class(driver)(options)


class _Listener(ConsumerRebalanceListener):
    """kafka-python's rebalance listener over an :class:`AssignmentListener`: seeks where it says."""

    def __init__(self, consumer: "PythonConsumer", listener: AssignmentListener):
        self.consumer = consumer
        self.listener = listener

    def on_partitions_revoked(self, revoked):
        self.listener.release([tp.partition for tp in revoked])

    def on_partitions_assigned(self, assigned):
        for partition, offset in self.listener.take([tp.partition for tp in assigned]).items():
            self.consumer.seek(partition, offset)

    def on_partitions_lost(self, lost):
        self.listener.release([tp.partition for tp in lost])


class PythonConsumer:
    """A :class:`PartitionConsumer` on kafka-python's ``KafkaConsumer``."""

    def __init__(self, options: ConsumerOptions):
        self.topic = options.topic
        self.timeout_ms = options.timeout_ms
        self.consumer = KafkaConsumer(**self.settings(options))

    @staticmethod
    def settings(options: ConsumerOptions) -> dict:
        """kafka-python's configuration of a projector's consumer (the benchmark's raw consumer uses it too)."""
        return dict(
            bootstrap_servers=list(options.servers),
            group_id=options.group_id,
            client_id=options.client_id,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=options.batch_size,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=partition_fetch_bytes(options),
            fetch_max_wait_ms=100,  # an idle projector asks again soon: bounds the lag it adds
            session_timeout_ms=options.session_timeout_ms,
            heartbeat_interval_ms=max(500, options.session_timeout_ms // 4),
            request_timeout_ms=max(options.timeout_ms, 30_000) + 5_000,
            reconnect_backoff_max_ms=1000,
            bootstrap_timeout_ms=options.timeout_ms,
        )

    def _tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    def assign(self, offsets: Mapping[int, int | None]) -> None:
        self.consumer.assign([self._tp(partition) for partition in offsets])
        for partition, offset in offsets.items():
            self.seek(partition, offset)

    def subscribe(self, listener: AssignmentListener) -> None:
        self.consumer.subscribe([self.topic], listener=_Listener(self, listener))

    def assignment(self) -> list[int]:
        return sorted(tp.partition for tp in self.consumer.assignment())

    def seek(self, partition: int, offset: int | None) -> None:
        if offset is None:
            self.consumer.seek_to_beginning(self._tp(partition))
        else:
            self.consumer.seek(self._tp(partition), offset)

    def position(self, partition: int) -> int | None:
        # kafka-python's fetch position: past the control records (transaction markers) it skipped
        return self.consumer.position(self._tp(partition), timeout_ms=self.timeout_ms)

    def poll(self, timeout_ms: int, max_records: int) -> dict[int, list]:
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return {tp.partition: records for tp, records in polled.items()}

    def commit_async(self, offsets: Mapping[int, int]) -> None:
        try:
            self.consumer.commit_async({self._tp(partition): OffsetAndMetadata(offset, "", -1)
                                        for partition, offset in offsets.items()})
        except KafkaError as exc:  # monitoring only: the database holds the truth
            logger.debug("offsets not committed to Kafka: %r", exc)

    def close(self) -> None:
        self.consumer.close(autocommit=False)
