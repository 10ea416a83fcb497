"""The sequencer's topic on Kafka: the leaf order of the log's Merkle tree, fixed once, readable by anyone.

Kafka orders events only within a partition; the tree needs one order over all of them. The
sequencer (:mod:`events.kafka_sequencer`) writes it to ``<events topic>.tree`` (one partition, no
retention limit), one record per batch of assignments, JSON::

    {"first": 120, "leaves": [[event_id, hash, partition, offset], ...], "next": {"0": 17, "3": 9}}

``first`` is the leaf index of the batch's first leaf (the next batch starts where this one ends),
each leaf names its event, the event's SHA-256 (hex, the leaf data) and where the event sits in the
events topic; ``next`` is how far the sequencer had read each partition of the events topic when it
made the batch, so a sequencer resumes from the last committed batch. Every node replays these
records into its own copy of the tree (``services.tree_replay``), so all of them get the same roots.
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from events.kafka_log import create_topic_if_missing
from events.log import LogUnavailable

logger = logging.getLogger(__name__)


def tree_topic_name(events_topic: str) -> str:
    """The sequencer's topic of an events topic."""
    return f"{events_topic}.tree"


@dataclass(frozen=True)
class Assignment:
    """One leaf: its index, the event it is, the event's hash (hex) and where the event sits in Kafka."""

    leaf_index: int
    event_id: str
    hash: str
    partition: int
    offset: int


@dataclass(frozen=True)
class TreeBatch:
    """A record of the tree topic: consecutive leaves, and the events topic's read positions after them."""

    first: int
    leaves: list[Assignment]
    next: dict[int, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The record's value."""
        return json.dumps({"first": self.first,
                           "leaves": [[a.event_id, a.hash, a.partition, a.offset] for a in self.leaves],
                           "next": {str(p): o for p, o in sorted(self.next.items())}},
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes) -> "TreeBatch":
        """A batch from a record's value; ValueError if it is not one."""
        try:
            document = json.loads(value)
            first = int(document["first"])
            leaves = [Assignment(first + n, str(event_id), str(digest), int(partition), int(offset))
                      for n, (event_id, digest, partition, offset) in enumerate(document["leaves"])]
            return cls(first, leaves, {int(p): int(o) for p, o in document["next"].items()})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a tree batch: {exc!r}") from exc


def batches_of(assignments: Sequence[Assignment], positions: Mapping[int, int], size: int = 1000) -> list[TreeBatch]:
    """Consecutive ``assignments`` cut into records of at most ``size`` leaves, each carrying ``positions``
    (they are committed in one transaction: a reader sees all of them or none)."""
    return [TreeBatch(chunk[0].leaf_index, list(chunk), dict(positions))
            for chunk in (assignments[start:start + size] for start in range(0, len(assignments), size))]


class TreeTopic:
    """A reader of the tree topic (read_committed): its batches from an offset, and its end."""

    def __init__(self, servers: Sequence[str], topic: str, timeout_ms: int = 10_000):
        self.servers = list(servers)
        self.topic = topic
        self.timeout_ms = timeout_ms
        self.partition = TopicPartition(topic, 0)
        self._consumer: KafkaConsumer | None = None
        self._watermarks: KafkaConsumer | None = None

    def ensure(self) -> None:
        """Create the topic (one partition, no retention limit) unless it exists."""
        create_topic_if_missing(self.servers, self.topic, 1, self.timeout_ms)

    def _reader(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.servers, client_id="oretrail-tree-reader", group_id=None,
                isolation_level="read_committed", enable_auto_commit=False, auto_offset_reset="earliest",
                request_timeout_ms=self.timeout_ms + 1000, bootstrap_timeout_ms=self.timeout_ms,
                reconnect_backoff_max_ms=1000)
            self._consumer.assign([self.partition])
        return self._consumer

    def end(self) -> int:
        """The offset past the last committed batch (the last stable offset)."""
        try:
            return int(self._reader().end_offsets([self.partition], timeout_ms=self.timeout_ms)[self.partition])
        except KafkaError as exc:
            self.close()
            raise LogUnavailable(f"the tree topic {self.topic} is unreachable: {exc!r}") from exc

    def settled_end(self, wait_s: float = 10.0) -> int:
        """The end including every transaction committed before the call: a commit returns before its
        marker is written, so wait (at most ``wait_s``) until the last stable offset reaches the high
        watermark of now. After a sequencer's ``init_transactions`` fenced any other, no transaction is
        left open and this is the whole topic."""
        try:
            if self._watermarks is None:
                self._watermarks = KafkaConsumer(
                    bootstrap_servers=self.servers, client_id="oretrail-tree-watermark", group_id=None,
                    isolation_level="read_uncommitted", request_timeout_ms=self.timeout_ms + 1000,
                    bootstrap_timeout_ms=self.timeout_ms)
            high = int(self._watermarks.end_offsets([self.partition], timeout_ms=self.timeout_ms)[self.partition])
        except KafkaError as exc:
            self.close()
            raise LogUnavailable(f"the tree topic {self.topic} is unreachable: {exc!r}") from exc
        deadline = time.monotonic() + wait_s
        while (stable := self.end()) < high and time.monotonic() < deadline:
            time.sleep(0.02)
        if stable < high:
            logger.warning("the tree topic %s is settled to %d of %d after %.0f s (a transaction's marker is late "
                           "or one is still open): what follows waits for the next read", self.topic, stable, high, wait_s)
        return stable

    def read(self, start: int, end: int, timeout_ms: int = 500) -> tuple[list[TreeBatch], int]:
        """The committed batches from offset ``start`` that one poll brings (none once ``end`` is reached),
        and the next offset to read (past transaction markers)."""
        if start >= end:
            return [], start
        consumer = self._reader()
        try:
            if consumer.position(self.partition) != start:
                consumer.seek(self.partition, start)
            records = consumer.poll(timeout_ms=timeout_ms, max_records=200).get(self.partition, [])
            return [TreeBatch.decode(record.value) for record in records], consumer.position(self.partition)
        except KafkaError as exc:
            self.close()
            raise LogUnavailable(f"reading the tree topic {self.topic} failed: {exc!r}") from exc

    def read_all(self, start: int = 0, end: int | None = None):
        """Every committed batch from ``start`` up to ``end`` (by default the settled end now), in order."""
        end = self.settled_end(2.0) if end is None else end
        position, idle = start, 0
        while position < end:
            batches, reached = self.read(position, end)
            yield from batches
            idle = 0 if reached > position else idle + 1
            if idle * 500 > self.timeout_ms:
                raise LogUnavailable(f"reading the tree topic {self.topic} stalled at {position} (end {end})")
            position = reached

    def close(self) -> None:
        """Close the readers (new ones are made when needed)."""
        readers = (self._consumer, self._watermarks)
        self._consumer = self._watermarks = None
        for reader in readers:
            if reader is not None:
                with suppress(Exception):  # a reader being dropped: its close may fail, nothing depends on it
                    reader.close()
