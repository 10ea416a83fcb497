"""The distributed event log: one Apache Kafka topic, written by transactional producers.

``append`` turns one batch into one Kafka transaction (``acks=all``, idempotent producer): a
``read_committed`` consumer sees the whole batch or none of it. Any error aborts the transaction
and raises :class:`LogUnavailable`; the producer that failed is closed and a new one with the same
``transactional_id`` takes its place on the next append, which fences the old one and aborts
whatever it left open. So capture recovers by itself when the broker comes back.

A producer runs one transaction at a time, so each process keeps a small pool of them, one per
concurrent append, with ``transactional_id`` = prefix-host-pid-slot (unique per process, stable
per slot). A reader's position is a :class:`LogPosition` (partition -> next offset); the number an
event shows as ``position`` is ``partition * 2**48 + offset + 1`` (see :mod:`events.kafka_records`).

What the log cannot do cheaply is look up an ``event_id``: every append answers ``accepted``.
Duplicates within one batch are still answered ``duplicate`` (or a conflict) and sent once.
Duplicates across batches are caught, best effort, by the capture-side index that wraps this log
(``services.event_index``); the ones that still reach the log are ignored by the projectors.

This class runs on kafka-python. :mod:`events.kafka_confluent_log` extends it on confluent-kafka
(``ORETRAIL_KAFKA_DRIVER=confluent``): its own producers and reader, through the hooks here
(``_new_producer``, ``_transact``, ``_read_partition``, ``end_offsets``, ...), the same pool, topic and records.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from contextlib import suppress
from typing import Any, Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import DefaultPartitioner, murmur2

from events.envelope import NewEvent
from events.kafka_records import headers_of, position_of, recorded_event
from events.log import AppendResult, EventLog, IdempotencyConflict, LogUnavailable, Page, RecordedEvent
from events.position import LogPosition
from events.sqlite_log import utc_now_text

logger = logging.getLogger(__name__)


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://host:port[,host:port]`` as kafka-python's list of bootstrap servers."""
    if not url.startswith("kafka://"):
        raise ValueError(f"not a Kafka log URL: {url!r} (use kafka://host:port[,host:port])")
    servers = [server.strip() for server in url.removeprefix("kafka://").strip("/").split(",") if server.strip()]
    if not servers or any(":" not in server for server in servers):
        raise ValueError(f"not a Kafka log URL: {url!r} (use kafka://host:port[,host:port])")
    return servers


def unique_in_batch(batch: Sequence[NewEvent]) -> tuple[list[NewEvent], list[int]]:
    """The events of ``batch`` to send (first of each ``event_id``), and for every event the index
    of its first occurrence in that list; an ``event_id`` twice with other content is a conflict."""
    first: dict[str, int] = {}
    unique: list[NewEvent] = []
    where: list[int] = []
    conflicts: list[str] = []
    for event in batch:
        index = first.get(event.event_id)
        if index is None:
            index = first[event.event_id] = len(unique)
            unique.append(event)
        elif unique[index].hash != event.hash:
            conflicts.append(event.event_id)
        where.append(index)
    if conflicts:
        raise IdempotencyConflict(conflicts)
    return unique, where


def force_close(producer: KafkaProducer) -> None:
    """Close a (failed) producer now, pending records or not: no zombie sender may retry its requests
    later (it would only be fenced, but it would hold a thread and connections)."""
    try:
        producer.close(timeout=0)
    except Exception:  # noqa: BLE001 - close() flushes first, and raises while batches are pending
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()


def create_topic_if_missing(servers: Sequence[str], topic: str, partitions: int, timeout_ms: int) -> None:
    """Create ``topic`` with ``partitions`` partitions unless it exists: up to 3 replicas (the brokers
    permitting, then ``min.insync.replicas=2``) and no retention limit (a log is never cut by age)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=list(servers), client_id="oretrail-admin",
                                 request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)
    except KafkaError as exc:
        raise LogUnavailable(f"Kafka at {','.join(servers)} unreachable: {exc!r}") from exc
    try:
        if topic not in admin.list_topics():
            replicas = min(3, len(admin.describe_cluster()["brokers"]))
            configs = {"retention.ms": "-1", "retention.bytes": "-1"}
            if replicas >= 3:
                configs["min.insync.replicas"] = "2"
            with suppress(TopicAlreadyExistsError):  # made by another process meanwhile: it is there
                admin.create_topics({topic: {"num_partitions": partitions, "replication_factor": replicas,
                                             "configs": configs}}, wait_for_metadata=True)
                logger.info("created topic %s (%d partitions, %d replicas)", topic, partitions, replicas)
    except KafkaError as exc:
        raise LogUnavailable(f"Kafka topic {topic} unavailable: {exc!r}") from exc
    finally:
        admin.close()


def finish_transaction(producer: KafkaProducer, commit: bool, timeout_ms: int) -> None:
    """Commit (or abort) the producer's transaction, waiting at most ``timeout_ms``; raises its error.

    KafkaProducer.commit_transaction()/abort_transaction() wait without a bound; this waits on the
    same result with one (kafka-python is pinned, these attributes are stable in 3.0.x).
    """
    manager = producer._transaction_manager  # noqa: SLF001
    result = manager.begin_commit() if commit else manager.begin_abort()
    producer._sender.wakeup()  # noqa: SLF001
    if not result.wait(timeout_ms=timeout_ms):
        raise LogUnavailable(f"Kafka did not {'commit' if commit else 'abort'} within {timeout_ms} ms")


@functools.lru_cache(maxsize=100_000)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


#: offsets this close together are read in one pass (the records between them read too)
_READ_GAP = 200


def _offset_runs(offsets: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted offsets as runs ``(first, last)`` whose neighbours lie at most ``_READ_GAP`` apart."""
    runs: list[tuple[int, int]] = []
    for offset in offsets:
        if runs and offset - runs[-1][1] <= _READ_GAP:
            runs[-1] = (runs[-1][0], offset)
        else:
            runs.append((offset, offset))
    return runs


class StreamPartitioner(DefaultPartitioner):
    """Kafka's default partitioning (murmur2 of the key, like the Java client) with each stream
    id's hash cached: pure-Python murmur2 is a fifth of the cost of sending a record."""

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        """The partition of a record: by the hash of its key (the stream id)."""
        partitions = cluster.partitions_for_topic(topic)
        if serialized_key is None or not partitions:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        # a topic's partitions are numbered 0..n-1: the n-th of them sorted is n (no sort per record)
        return _key_hash(bytes(serialized_key)) % len(partitions)


class KafkaEventLog(EventLog):
    """The log as a Kafka topic; the topic is created on first use if it is missing."""

    #: this log cannot tell whether an event_id was appended before (see the module docstring)
    detects_duplicates = False
    #: projectors are members of a consumer group (``consumers.kafka_runner``)
    runner_kind = "consumer_group"
    #: the Kafka client library under this log (``ORETRAIL_KAFKA_DRIVER``)
    driver = "kafka-python"
    #: what the client raises when the broker or the producer's state refuses an append; AssertionError
    #: and ValueError are kafka-python's guards when its state is broken
    append_failures: tuple[type[BaseException], ...] = (KafkaError, OSError, ValueError, AssertionError)
    #: what the client raises when a read fails
    read_failures: tuple[type[BaseException], ...] = (KafkaError,)

    def __init__(self, servers: Sequence[str], topic: str = "oretrail.events", partitions: int = 6,
                 transactional_prefix: str = "oretrail", timeout_s: float = 10.0):
        self.servers = list(servers)
        self.topic = topic
        self.name = topic  # projectors store their offsets under the topic's name
        self.partitions = partitions
        self.transactional_prefix = transactional_prefix
        self.timeout_ms = int(timeout_s * 1000)
        self._lock = threading.Lock()
        self._idle: list[tuple[int, KafkaProducer | None]] = []
        self._slots = 0
        self._pid = os.getpid()
        self._topic_ready = False
        self._healing = False
        self._reader: KafkaConsumer | None = None
        self._watermarks: KafkaConsumer | None = None
        self._reader_lock = threading.Lock()

    # -- the topic ----------------------------------------------------------------------------
    def ensure_topic(self) -> None:
        """Create the topic if it is missing (replication: up to 3, the brokers permitting)."""
        if self._topic_ready:
            return
        create_topic_if_missing(self.servers, self.topic, self.partitions, self.timeout_ms)
        self._topic_ready = True

    # -- appending ----------------------------------------------------------------------------
    def append(self, batch: Sequence[NewEvent]) -> list[AppendResult]:
        """Append ``batch`` in one Kafka transaction; LogUnavailable (nothing visible) on any error."""
        if not batch:
            return []
        unique, where = unique_in_batch(batch)
        self.ensure_topic()
        slot, producer = self._checkout()
        healthy = False
        try:
            if producer is None:
                producer = self._new_producer(slot)
            positions = self._transact(producer, unique)
            healthy = True
        except self.append_failures as exc:
            logger.warning("append of %d events failed, transaction aborted: %r", len(unique), exc)
            raise LogUnavailable(f"the Kafka log refused the batch: {exc!r}") from exc
        finally:
            if not healthy and producer is not None:
                self._abort_and_close(producer)
            self._checkin(slot, producer if healthy else None)
        self._heal_in_background()
        seen: set[int] = set()
        results = []
        for event, index in zip(batch, where):
            results.append(AppendResult(event.event_id, "duplicate" if index in seen else "accepted", positions[index]))
            seen.add(index)
        return results

    def _transact(self, producer: KafkaProducer, events: Sequence[NewEvent]) -> list[int]:
        """Order of work: begin; send every record; flush (bounded); commit (bounded); positions.

        Until the commit marker is written no read_committed consumer sees a record of the batch;
        if anything before it fails the caller aborts, and a commit that times out is undone by the
        next producer of the slot (same transactional_id), so nothing partial ever becomes visible.
        """
        recorded_at = utc_now_text().encode()
        producer.begin_transaction()
        futures = [
            producer.send(self.topic, key=event.stream_id.encode(), value=event.body,
                          headers=headers_of(event, recorded_at))
            for event in events
        ]
        producer.flush(timeout=self.timeout_ms / 1000)
        metadata = [future.get(timeout=0) for future in futures]
        self._finish(producer, commit=True)
        return [position_of(item.partition, item.offset) for item in metadata]

    def _finish(self, producer: KafkaProducer, commit: bool) -> None:
        finish_transaction(producer, commit, self.timeout_ms)

    def _abort_and_close(self, producer: KafkaProducer) -> None:
        try:
            self._finish(producer, commit=False)
        except Exception:  # noqa: BLE001 - the next producer of the slot fences and aborts it anyway
            logger.debug("abort of a failed transaction failed", exc_info=True)
        force_close(producer)

    # -- the producer pool --------------------------------------------------------------------
    def _checkout(self) -> tuple[int, Any]:
        with self._lock:
            if self._pid != os.getpid():  # forked: producers and their threads do not survive a fork
                self._idle, self._slots, self._pid, self._reader, self._watermarks = [], 0, os.getpid(), None, None
            if self._idle:
                return self._idle.pop()
            self._slots += 1
            return self._slots - 1, None

    def _checkin(self, slot: int, producer: Any) -> None:
        with self._lock:
            self._idle.append((slot, producer))

    def _heal_in_background(self) -> None:
        """The broker answers again: give every slot whose producer failed a new one now.

        A failed producer may have left a transaction open on the broker (it could not abort it);
        until its slot's transactional id is initialised again, or the transaction times out, that
        transaction holds back every read_committed consumer of its partitions. Initialising the
        slot fences the old producer and aborts its transaction at once.
        """
        with self._lock:
            if self._healing or not any(producer is None for _slot, producer in self._idle):
                return
            self._healing = True
        threading.Thread(target=self._heal, name="kafka-log-heal", daemon=True).start()

    def _heal(self) -> None:
        try:
            while True:
                with self._lock:
                    broken = [entry for entry in self._idle if entry[1] is None]
                    if not broken:
                        return
                    self._idle.remove(broken[0])
                slot = broken[0][0]
                try:
                    producer: KafkaProducer | None = self._new_producer(slot)
                except Exception as exc:  # noqa: BLE001 - the next append tries again
                    logger.info("slot %d not healed yet: %r", slot, exc)
                    producer = None
                self._checkin(slot, producer)
                if producer is None:
                    return
        finally:
            with self._lock:
                self._healing = False

    def retire_slot(self, transactional_id: str) -> bool:
        """If ``transactional_id`` is an idle capture slot of this process, close its producer: the slot
        is initialised again at once (a newer epoch, so its old one can write nothing more). True if it
        was; False for another process's id, or a slot busy with an append (asked again later)."""
        with self._lock:
            if self._pid != os.getpid():
                return False
            found = next((index for index, (slot, producer) in enumerate(self._idle)
                          if producer is not None and self.transactional_id(slot) == transactional_id), None)
            if found is None:
                return False
            slot, producer = self._idle[found]
            self._idle[found] = (slot, None)
        self._abort_and_close(producer)
        self._heal_in_background()
        return True

    def transactional_id(self, slot: int) -> str:
        """The transactional id of a slot of this process: stable per slot, unique per process."""
        return f"{self.transactional_prefix}-{socket.gethostname()}-{os.getpid()}-{slot}"

    def producer_settings(self, transactional_id: str) -> dict:
        """The configuration of a capture producer (the benchmark's raw producer uses it too)."""
        return dict(
            bootstrap_servers=self.servers,
            client_id=f"oretrail-capture-{os.getpid()}",
            transactional_id=transactional_id,
            enable_idempotence=True,
            acks="all",
            partitioner=StreamPartitioner(),
            linger_ms=100,  # flush() at the end of each transaction sends at once; until then, batch up
            batch_size=256 * 1024,
            retry_backoff_ms=10,  # the broker answers CONCURRENT_TRANSACTIONS right after a commit
            reconnect_backoff_max_ms=1000,
            max_block_ms=self.timeout_ms,
            request_timeout_ms=self.timeout_ms,
            delivery_timeout_ms=2 * self.timeout_ms + 100,
            transaction_timeout_ms=20_000,  # how long a crashed process's open batch can hold consumers back
            bootstrap_timeout_ms=self.timeout_ms,
        )

    def _new_producer(self, slot: int) -> KafkaProducer:
        producer = KafkaProducer(**self.producer_settings(self.transactional_id(slot)))
        try:
            producer.init_transactions()
        except BaseException:
            force_close(producer)
            raise
        return producer

    # -- reading ------------------------------------------------------------------------------
    def _reader_consumer(self) -> KafkaConsumer:
        if self._reader is None:
            self._reader = KafkaConsumer(
                bootstrap_servers=self.servers, client_id="oretrail-reader", group_id=None,
                isolation_level="read_committed", enable_auto_commit=False,
                request_timeout_ms=self.timeout_ms + 1000, bootstrap_timeout_ms=self.timeout_ms,
                reconnect_backoff_max_ms=1000,
            )
        return self._reader

    def topic_partitions(self) -> list[TopicPartition]:
        """The topic's partitions, in order."""
        return [TopicPartition(self.topic, partition) for partition in range(self.partition_count())]

    def partition_count(self) -> int:
        """How many partitions the topic has (it may have been created with another count)."""
        self.ensure_topic()
        with self._reader_lock:
            try:
                found = self._reader_consumer().partitions_for_topic(self.topic)
            except KafkaError as exc:
                self._drop_reader()
                raise LogUnavailable(f"Kafka metadata unavailable: {exc!r}") from exc
        if not found:
            raise LogUnavailable(f"Kafka topic {self.topic} has no partitions yet")
        return max(found) + 1

    def end_offsets(self) -> dict[int, int]:
        """Each partition's last stable offset: the end a read_committed consumer can reach."""
        partitions = self.topic_partitions()
        with self._reader_lock:
            try:
                ends = self._reader_consumer().end_offsets(partitions, timeout_ms=self.timeout_ms)
            except KafkaError as exc:
                self._drop_reader()
                raise LogUnavailable(f"Kafka offsets unavailable: {exc!r}") from exc
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    def settled_end_offsets(self, wait_s: float = 2.0) -> dict[int, int]:
        """End offsets that include every transaction committed before this call.

        A commit returns before the broker has written its markers into the partitions, and
        until then the last stable offset stays before the batch. So: take each partition's high
        watermark now and wait (at most ``wait_s``) until the stable ends reach it. A transaction
        still open (a crashed producer) is not waited for longer than that.
        """
        highs = self.high_watermarks()
        deadline = time.monotonic() + wait_s
        while True:
            ends = self.end_offsets()
            if all(ends.get(partition, 0) >= high for partition, high in highs.items()) or time.monotonic() > deadline:
                return ends
            time.sleep(0.02)

    def high_watermarks(self) -> dict[int, int]:
        """Each partition's high watermark: its end, open transactions and their markers included."""
        partitions = self.topic_partitions()
        with self._reader_lock:
            try:
                if self._watermarks is None:
                    self._watermarks = KafkaConsumer(
                        bootstrap_servers=self.servers, client_id="oretrail-watermarks", group_id=None,
                        isolation_level="read_uncommitted", request_timeout_ms=self.timeout_ms + 1000,
                        bootstrap_timeout_ms=self.timeout_ms, reconnect_backoff_max_ms=1000)
                highs = self._watermarks.end_offsets(partitions, timeout_ms=self.timeout_ms)
            except KafkaError as exc:
                self._drop_reader()
                raise LogUnavailable(f"Kafka offsets unavailable: {exc!r}") from exc
        return {tp.partition: int(high) for tp, high in highs.items()}

    def end(self) -> LogPosition:
        """Each partition's end, every transaction committed before the call included."""
        return LogPosition(self.settled_end_offsets())

    def page(self, after: LogPosition, limit: int) -> Page:
        """Up to ``limit`` committed events not covered by ``after``, partition by partition
        (every batch committed before the call included); the next position is each read
        partition's consumer position, past the transaction markers."""
        ends = self.settled_end_offsets()
        found: list[RecordedEvent] = []
        reached: dict[int, int] = {}
        with self._reader_lock:
            consumer = self._reader_consumer()
            try:
                for partition in sorted(ends):
                    if len(found) >= limit:
                        break
                    events, next_offset = self._read_partition(consumer, partition, after.offset(partition),
                                                               ends[partition], limit - len(found))
                    found += events
                    reached[partition] = next_offset
            except self.read_failures as exc:
                self._drop_reader()
                raise LogUnavailable(f"Kafka read failed: {exc!r}") from exc
            finally:
                self._release(consumer)
        return Page(found, after.advanced(reached))

    def read_at(self, locations: Sequence[tuple[int, int]]) -> dict[tuple[int, int], RecordedEvent]:
        """The committed events at ``(partition, offset)`` locations (the evidence bundle's lookup: the
        tree's leaves say where each event sits); a location without an event is left out."""
        asked = set(locations)
        wanted: dict[int, list[int]] = {}
        for partition, offset in asked:
            wanted.setdefault(partition, []).append(offset)
        found: dict[tuple[int, int], RecordedEvent] = {}
        with self._reader_lock:
            consumer = self._reader_consumer()
            try:
                for partition, offsets in sorted(wanted.items()):
                    for first, last in _offset_runs(sorted(offsets)):
                        events, _ = self._read_partition(consumer, partition, first, last + 1, last + 1 - first)
                        found.update({(partition, event.offset): event for event in events
                                      if (partition, event.offset) in asked})
            except self.read_failures as exc:
                self._drop_reader()
                raise LogUnavailable(f"Kafka read failed: {exc!r}") from exc
            finally:
                self._release(consumer)
        return found

    def _read_partition(self, consumer: KafkaConsumer, partition: int, offset: int, end: int,
                        limit: int) -> tuple[list[RecordedEvent], int]:
        """The events of one partition from ``offset`` towards ``end``, and the next offset to read."""
        if offset >= end:
            return [], offset
        tp = TopicPartition(self.topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        found: list[RecordedEvent] = []
        idle_polls = 0
        while len(found) < limit and consumer.position(tp) < end:
            records = consumer.poll(timeout_ms=500, max_records=limit - len(found)).get(tp, [])
            found += [recorded_event(record) for record in records]
            idle_polls = 0 if records else idle_polls + 1
            if idle_polls * 500 > self.timeout_ms:
                raise LogUnavailable(f"Kafka read of {tp} stalled at {consumer.position(tp)} (end {end})")
        return found, consumer.position(tp)

    @staticmethod
    def _release(consumer: KafkaConsumer) -> None:
        """Unassign the reader's partitions after a read (it is kept for the next)."""
        consumer.assign([])

    def _drop_reader(self) -> None:
        readers = (self._reader, self._watermarks)
        self._reader = self._watermarks = None
        for reader in readers:
            if reader is not None:
                try:
                    reader.close()
                except Exception:  # noqa: BLE001 - a reader being dropped; a new one replaces it
                    logger.debug("closing a Kafka reader failed", exc_info=True)

    def close(self) -> None:
        """Close the producers and the reader."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _slot, producer in idle:
            if producer is not None:
                try:
                    producer.close(timeout=self.timeout_ms / 1000)
                except Exception:  # noqa: BLE001 - shutting down: nothing left to do with it
                    logger.debug("closing a Kafka producer failed", exc_info=True)
        with self._reader_lock:
            self._drop_reader()
