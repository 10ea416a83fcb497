"""Projectors on Kafka: each projector is the consumer group ``PREFIX.NAME``, one member a process.

The read-model database, not Kafka, holds where a projector is: ``projector_offsets(projector,
topic, partition, offset)``, the next offset to read, written in the same transaction as the
read-model changes. Kafka's committed offsets are written after, for monitoring tools only.

Order of work for one poll (:meth:`KafkaFeed.apply`), and why:
1. ``poll`` (read_committed, auto commit off) returns records of the partitions this member owns;
2. open a write transaction and read the stored offsets *inside* it; a partition whose stored
   offset is not the one this member last stored or seeked to (another member, a zombie or a
   rebuild moved it) is not applied: its records are dropped and the member seeks to the stored
   offset after the transaction. That compare-and-set is what keeps a partition from being applied
   twice or skipped, whoever owns it;
   (The transaction also takes the projector's lock: on PostgreSQL the members of a group apply
   one transaction at a time, as projectors assume; SQLite's single writer does the same.)
3. apply the records of the other partitions (poison events go to the dead letters) and store
   each partition's new position (the consumer's position: past the transaction markers it skipped);
4. commit the database transaction: read model and offsets land together, so a crash before it
   loses nothing (the records are read again) and a crash after it repeats nothing;
5. then, best effort, commit the same offsets to Kafka for lag dashboards.
On every partition assignment (:meth:`KafkaFeed.take`) the member starts at the stored offsets, or
at the beginning of a partition it has never applied. If step 2 or 3 fails, the member seeks back
to the offsets it last stored, so a failed batch is read again, never skipped. When a poll brings
nothing, the member makes the same check (and follows moved offsets), and stores positions that
only moved past transaction markers, so an idle projector's lag reads 0.

The consumer is kafka-python's, or librdkafka's with ``ORETRAIL_KAFKA_DRIVER=confluent`` (as the
log's driver): the feed asks the few operations of :mod:`consumers.kafka_consumers` of either, so
the rules above are written once and hold for both.

Everything else (``run_batch`` from the stored position, ``progress``, the rebuild beside the live
read model) is the base runner's: the log offers pages from a :class:`LogPosition` like any log.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Iterable, Iterator, Mapping

from sqlalchemy import Engine

from consumers.kafka_consumers import ConsumerOptions, PartitionConsumer, consumer_class, open_consumer
from consumers.offsets import stored_offsets
from consumers.projector import Projector
from consumers.runner import Pace, ProjectionRunner
from events.kafka_log import KafkaEventLog
from events.kafka_records import recorded_event
from events.log import RecordedEvent
from events.position import LogPosition
from services.database import write_transaction

logger = logging.getLogger(__name__)

#: how long a poll of ``catch_up`` or ``replay`` waits: about one fetch's wait, because the last poll
#: of a drain brings nothing (it only moves positions past the last transaction markers)
DRAIN_POLL_MS = 100


class KafkaFeed:
    """Feeds one consumer's records to a runner with the compare-and-set on stored offsets; it is
    also the consumer's :class:`~consumers.kafka_consumers.AssignmentListener` in the group."""

    def __init__(self, runner: "KafkaProjectionRunner", consumer: PartitionConsumer, in_group: bool):
        self.runner = runner
        self.consumer = consumer
        self.in_group = in_group
        #: partition -> the offset this feed last stored or seeked to (None: the partition's start)
        self.expected: dict[int, int | None] = {}

    def take(self, partitions: Iterable[int]) -> dict[int, int | None]:
        """Where newly owned partitions start: their stored offsets (``None``: their beginning)."""
        partitions = sorted(partitions)
        with self.runner.engine.connect() as connection:
            stored = stored_offsets(connection, self.runner.projector.name, self.runner.topic)
        offsets = {partition: stored.get(partition) for partition in partitions}
        self.expected.update(offsets)
        logger.info("%s: owns partitions %s", self.runner.projector.name, partitions)
        return offsets

    def release(self, partitions: Iterable[int]) -> None:
        """Forget partitions this member no longer owns."""
        for partition in partitions:
            self.expected.pop(partition, None)

    def _seek(self, partition: int, offset: int | None) -> None:
        self.consumer.seek(partition, offset)
        self.expected[partition] = offset

    def rewind(self) -> None:
        """After a failure: go back to the offsets last stored, so nothing polled is skipped."""
        for partition in self.consumer.assignment():
            self._seek(partition, self.expected.get(partition))

    def apply(self, polled: Mapping[int, list]) -> int:
        """Apply one poll's records and store the offsets in one transaction (see the module)."""
        runner = self.runner
        moved: dict[int, int | None] = {}
        applied: dict[int, int] = {}
        count = 0
        started = time.perf_counter()
        with write_transaction(runner.engine) as tx:
            runner.lock(tx)  # one transaction of a projector at a time (PostgreSQL)
            stored = stored_offsets(tx, runner.projector.name, runner.topic)
            events = []
            for partition, records in polled.items():
                if stored.get(partition) != self.expected.get(partition):
                    moved[partition] = stored.get(partition)
                    continue
                live = [record for record in records if record.offset >= (stored.get(partition) or 0)]
                events += [recorded_event(record) for record in live]
                applied[partition] = self.consumer.position(partition)
            runner.apply_events(tx, events, LogPosition(stored))
            if applied:
                runner.save_position(tx, LogPosition(stored).advanced(applied))
            count = len(events)
        self.expected.update(applied)
        for partition, offset in moved.items():
            self._follow(partition, offset)
        self._commit_to_kafka(applied)
        for listener in runner.listeners:
            listener(runner.projector.name, count, time.perf_counter() - started)
        return count

    def advance_idle(self) -> None:
        """When idle: follow offsets someone else moved (a rebuild's switch, another member), and
        store positions that moved past transaction markers, so an idle projector's lag reads 0."""
        runner = self.runner
        with runner.engine.connect() as connection:
            stored = stored_offsets(connection, runner.projector.name, runner.topic)
        ahead: dict[int, int] = {}
        for partition in self.consumer.assignment():
            expected = self.expected.get(partition)
            if stored.get(partition) != expected:
                self._follow(partition, stored.get(partition))
                continue
            position = self.consumer.position(partition)
            if position is not None and (expected is None or position > expected):
                ahead[partition] = position
        if not ahead:
            return
        with write_transaction(runner.engine) as tx:
            runner.lock(tx)
            stored = stored_offsets(tx, runner.projector.name, runner.topic)
            ahead = {p: o for p, o in ahead.items() if stored.get(p) == self.expected.get(p)}
            runner.save_position(tx, LogPosition(stored).advanced(ahead))
        self.expected.update(ahead)
        self._commit_to_kafka(ahead)

    def _follow(self, partition: int, offset: int | None) -> None:
        logger.info("%s: partition %d was moved to %s by someone else; following", self.runner.projector.name,
                    partition, offset)
        self._seek(partition, offset)

    def _commit_to_kafka(self, offsets: Mapping[int, int]) -> None:
        if self.in_group and offsets:
            self.consumer.commit_async(offsets)  # best effort: monitoring only, the database holds the truth


class KafkaProjectionRunner(ProjectionRunner):
    """Runs one projector as a member of the consumer group ``PREFIX.NAME`` on a Kafka log; catches
    up and replays through a consumer of its own (faster than pages of the shared reader)."""

    def __init__(self, log: KafkaEventLog, engine: Engine, projector: Projector, batch_size: int = 500,
                 group_prefix: str = "oretrail", session_timeout_ms: int = 10_000):
        super().__init__(log, engine, projector, batch_size)
        self.kafka_log = log
        self.topic = log.topic
        self.group_id = f"{group_prefix}.{projector.name}"
        self.session_timeout_ms = session_timeout_ms
        self.timeout_ms = log.timeout_ms

    def _options(self, group_id: str | None, partitions: int = 1) -> ConsumerOptions:
        return ConsumerOptions(servers=tuple(self.kafka_log.servers), topic=self.topic, group_id=group_id,
                               client_id=f"oretrail-{self.projector.name}", batch_size=self.batch_size,
                               session_timeout_ms=self.session_timeout_ms, timeout_ms=self.timeout_ms,
                               partitions=partitions)

    def _consumer(self, group_id: str | None) -> PartitionConsumer:
        """A consumer of the log's client library (``ORETRAIL_KAFKA_DRIVER``), used by this thread only."""
        return open_consumer(self.kafka_log.driver, self._options(group_id, self.kafka_log.partition_count()))

    def consumer_settings(self, group_id: str | None) -> dict:
        """The configuration of this projector's consumers in the log's client library (the
        benchmark's raw consumer uses it too), without asking the broker: as for a topic of one
        partition (the runner's own consumers size each partition's fetch by the topic's count)."""
        return consumer_class(self.kafka_log.driver).settings(self._options(group_id))

    def catch_up(self, until: LogPosition | None = None) -> int:
        """Apply every batch up to ``until`` in each partition (default: every batch committed
        before the call), outside the group (tests, demo, bench)."""
        if self.stale:
            self.rebuild()
        self.kafka_log.ensure_topic()
        ends = self.kafka_log.end() if until is None else until
        consumer = self._consumer(group_id=None)
        feed = KafkaFeed(self, consumer, in_group=False)
        try:
            consumer.assign(feed.take(range(self.kafka_log.partition_count())))
            applied = self._drain(consumer, feed, ends)
        finally:
            consumer.close()
        if self.stale:  # a retraction of an event already applied: the read model is rebuilt now
            self.rebuild()
        return applied

    def _drain(self, consumer: PartitionConsumer, feed: KafkaFeed, ends: Mapping[int, int]) -> int:
        applied = 0
        progressed = time.monotonic()
        wait_ms = DRAIN_POLL_MS
        polled_once = False  # before the first poll a position may not be known yet (kafka-python would ask the broker)
        while True:
            behind = [partition for partition in consumer.assignment()
                      if (feed.expected.get(partition) or 0) < ends.get(partition, 0)]
            if not behind:
                return applied
            if polled_once and all((consumer.position(partition) or 0) >= ends[partition] for partition in behind):
                # only transaction markers were left, and the consumer is past them already: store
                # that (no poll, which would wait a whole fetch for records that will not come)
                feed.advance_idle()
                continue
            polled = consumer.poll(timeout_ms=wait_ms, max_records=self.batch_size)
            polled_once = True
            if polled:
                applied += feed.apply(polled)
                progressed = time.monotonic()
                # the next records are most likely fetched already: take them without waiting. An
                # empty answer then may still have moved past the last markers (seen above) or only
                # means the next fetch is on its way: the poll after it waits
                wait_ms = 0
            elif wait_ms == 0:
                wait_ms = DRAIN_POLL_MS
            else:
                feed.advance_idle()
                if (time.monotonic() - progressed) * 1000 > 6 * self.timeout_ms:
                    raise TimeoutError(f"{self.projector.name}: no progress towards {dict(ends)} "
                                       f"(at {feed.expected})")

    def replay(self, until: LogPosition) -> Iterator[tuple[list[RecordedEvent], LogPosition]]:
        """The topic from the beginning of every partition to ``until``, poll by poll, through a
        consumer outside the group, each batch with the consumer's position after it."""
        consumer = self._consumer(group_id=None)
        partitions = sorted(until)
        try:
            consumer.assign(dict.fromkeys(partitions))
            position = LogPosition.start()
            progressed = time.monotonic()
            while not position.reached(until):
                polled = consumer.poll(timeout_ms=DRAIN_POLL_MS, max_records=self.batch_size)
                events = [recorded_event(record) for records in polled.values() for record in records]
                reached = {partition: consumer.position(partition) for partition in partitions}
                position = position.advanced({p: o for p, o in reached.items() if o is not None})
                if events:
                    yield events, position
                    progressed = time.monotonic()
                elif (time.monotonic() - progressed) * 1000 > 6 * self.timeout_ms:
                    raise TimeoutError(f"replay of {self.projector.name}: no progress at {position} of {until}")
            yield [], position  # the position past the last transaction markers
        finally:
            consumer.close()

    def run_forever(self, stop: threading.Event, poll_interval: float = 0.5, pace: Pace | None = None) -> None:
        """Consume as a member of the group until ``stop`` is set; never die silently. ``pace(stop)``
        runs before each poll (in the API's process: until capture lets the projector go)."""
        failures = 0
        while not stop.is_set():
            consumer = None
            try:
                if self.stale:
                    self.rebuild()
                self.kafka_log.ensure_topic()
                consumer = self._consumer(self.group_id)
                feed = KafkaFeed(self, consumer, in_group=True)
                consumer.subscribe(feed)
                logger.info("%s: joined group %s on %s (%s)", self.projector.name, self.group_id, self.topic,
                            self.kafka_log.driver)
                self._consume(consumer, feed, stop, poll_interval, pace)
            except Exception:  # noqa: BLE001 - keep the projector alive; the error is logged loudly
                failures += 1
                logger.exception("%s: consumer failed (attempt %d); starting again", self.projector.name, failures)
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # noqa: BLE001 - a failed consumer; the loop makes a new one
                        logger.debug("%s: closing the consumer failed", self.projector.name, exc_info=True)

    def _consume(self, consumer: PartitionConsumer, feed: KafkaFeed, stop: threading.Event,
                 poll_interval: float, pace: Pace | None = None) -> None:
        failures = 0
        # a retraction of an event already applied marks the read model stale: leave the group to
        # rebuild it beside the live one (``run_forever``), then join again from the switched offsets
        while not stop.is_set() and not self.stale:
            try:
                if pace is not None:
                    pace(stop)
                polled = consumer.poll(timeout_ms=int(poll_interval * 1000), max_records=self.batch_size)
                if polled:
                    feed.apply(polled)
                else:
                    feed.advance_idle()
                failures = 0
            except Exception:  # noqa: BLE001 - e.g. the database is down: read the batch again later
                failures += 1
                logger.exception("%s: batch failed (attempt %d); retrying", self.projector.name, failures)
                if failures >= 20:
                    raise
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))
                feed.rewind()
