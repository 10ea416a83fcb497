"""The Kafka sequencer: one total order over the events of every partition, fixed once.

Exactly one sequencer runs per log. It reads the events topic (``read_committed``, every partition,
no consumer group), gives each ``event_id`` it has not seen the next leaf index, and writes its
assignments to the tree topic (:mod:`events.kafka_tree_topic`) in Kafka transactions. Its
producer's ``transactional.id`` is fixed per log (``<prefix>.sequencer.<events topic>``), so when a
second sequencer starts, its ``init_transactions`` bumps the producer epoch, aborts whatever the
first left open, and the broker refuses the first one's next write (``ProducerFencedError``): the
first stops for good (:attr:`KafkaSequencer.fenced`). Two sequencers can therefore never both
append: the newest one wins.

Order of work when starting (and after any failed transaction, which aborts it and starts again):

1. ``init_transactions`` with the fixed id: fences every other sequencer, and completes or aborts
   its open transaction, so the tree topic holds only what is final;
2. read the tree topic to its (settled) end: the ids assigned, the next leaf index, and how far the
   events topic was read (each batch's ``next``);
3. read the events topic from there, and per poll: begin; send the batch records; flush; commit
   (bounded). Only after the commit does the in-memory state move on.

An event seen twice (a duplicate that reached Kafka, or a record read again after a restart) keeps
its first leaf: ids already assigned are skipped. Events appended while no sequencer runs are
sequenced when one comes back, from the positions of the last committed batch.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import InvalidProducerEpochError, KafkaError, ProducerFencedError

from events.kafka_log import KafkaEventLog, finish_transaction, force_close
from events.kafka_tree_topic import Assignment, TreeTopic, batches_of
from events.log import LogUnavailable
from events.tree_store import TreeMismatch

logger = logging.getLogger(__name__)

_FENCED = (ProducerFencedError, InvalidProducerEpochError)
#: how often the events topic's partition count is read again (partitions can be added)
_PARTITIONS_EVERY_S = 10.0


class SequencerFenced(Exception):
    """Another sequencer started with the same transactional id: this one may write no more."""


def sequencer_id(prefix: str, events_topic: str) -> str:
    """The fixed transactional id of the sequencer of ``events_topic``."""
    return f"{prefix}.sequencer.{events_topic}"


class KafkaSequencer:
    """Assigns leaf indexes to the events of ``log`` and commits them to ``tree_topic``."""

    def __init__(self, log: KafkaEventLog, tree_topic: str, transactional_id: str, max_leaves: int = 5000):
        self.log = log
        self.tree_topic = tree_topic
        self.transactional_id = transactional_id
        self.max_leaves = max_leaves
        self.timeout_ms = log.timeout_ms
        #: set when another sequencer fenced this one (it stopped and will not start again)
        self.fenced = False
        self.size = 0
        self._assigned: set[str] = set()
        self._positions: dict[int, int] = {}
        self._producer: KafkaProducer | None = None
        self._consumer: KafkaConsumer | None = None
        self._partitions_read_at = 0.0

    # -- running ------------------------------------------------------------------------------
    def run_forever(self, stop: threading.Event, retry_s: float = 2.0) -> None:
        """Sequence until ``stop`` is set or another sequencer fences this one; Kafka errors are
        logged and the sequencer starts again (step 1 of the module docstring) after ``retry_s``."""
        try:
            while not stop.is_set():
                try:
                    self.start()
                    while not stop.is_set():
                        self.step()
                except SequencerFenced:
                    self.fenced = True
                    logger.error("sequencer fenced: another sequencer (transactional id %s) took over; stopping",
                                 self.transactional_id)
                    return
                except (KafkaError, LogUnavailable, OSError, AssertionError) as exc:
                    logger.warning("sequencer interrupted, starting again: %r", exc)
                    self.close()
                    stop.wait(retry_s)
        finally:
            self.close()

    def start(self) -> None:
        """Steps 1 and 2: fence every other sequencer, then resume from the tree topic."""
        self.close()
        self.log.ensure_topic()
        TreeTopic(self.log.servers, self.tree_topic, self.timeout_ms).ensure()
        self._producer = KafkaProducer(
            bootstrap_servers=self.log.servers, client_id="oretrail-sequencer", transactional_id=self.transactional_id,
            enable_idempotence=True, acks="all", linger_ms=5, retry_backoff_ms=10, reconnect_backoff_max_ms=1000,
            max_block_ms=self.timeout_ms, request_timeout_ms=self.timeout_ms,
            delivery_timeout_ms=2 * self.timeout_ms + 100, transaction_timeout_ms=20_000,
            bootstrap_timeout_ms=self.timeout_ms)
        self._producer.init_transactions()
        self._resume()
        self._consumer = KafkaConsumer(
            bootstrap_servers=self.log.servers, client_id="oretrail-sequencer", group_id=None,
            isolation_level="read_committed", enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=self.max_leaves, request_timeout_ms=self.timeout_ms + 1000,
            bootstrap_timeout_ms=self.timeout_ms, reconnect_backoff_max_ms=1000)
        self._assign_partitions()
        logger.info("sequencer started at leaf %d (events topic read to %s)", self.size, self._positions)

    def _resume(self) -> None:
        reader = TreeTopic(self.log.servers, self.tree_topic, self.timeout_ms)
        try:
            assigned: set[str] = set()
            size = 0
            positions: dict[int, int] = {}
            for batch in reader.read_all(0, reader.settled_end()):
                if batch.first != size:
                    raise TreeMismatch(f"the tree topic has a batch at leaf {batch.first} after {size} leaves")
                assigned.update(leaf.event_id for leaf in batch.leaves)
                size += len(batch.leaves)
                for partition, offset in batch.next.items():
                    positions[partition] = max(positions.get(partition, 0), offset)
        finally:
            reader.close()
        self._assigned, self.size, self._positions = assigned, size, positions

    def _assign_partitions(self) -> None:
        partitions = [TopicPartition(self.log.topic, p) for p in range(self.log.partition_count())]
        if set(partitions) != set(self._consumer.assignment()):
            self._consumer.assign(partitions)
            for tp in partitions:
                self._consumer.seek(tp, self._positions.get(tp.partition, 0))
        self._partitions_read_at = time.monotonic()

    def step(self, timeout_ms: int = 500) -> int:
        """Step 3 once: sequence what one poll of the events topic brings; the number of leaves added."""
        if time.monotonic() - self._partitions_read_at > _PARTITIONS_EVERY_S:
            self._assign_partitions()
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=self.max_leaves)
        new: list[Assignment] = []
        seen: set[str] = set()
        positions = dict(self._positions)
        for tp in sorted(polled, key=lambda tp: tp.partition):
            for record in polled[tp]:
                headers = dict(record.headers or [])
                event_id = headers["event_id"].decode()
                positions[tp.partition] = record.offset + 1
                if event_id in self._assigned or event_id in seen:
                    continue  # an event seen twice keeps its first leaf
                seen.add(event_id)
                new.append(Assignment(self.size + len(new), event_id, headers["hash"].decode(), tp.partition, record.offset))
        if new:
            self._commit(new, positions)
            self._assigned.update(seen)
            self.size += len(new)
        self._positions = positions
        return len(new)

    def _commit(self, new: Sequence[Assignment], positions: dict[int, int]) -> None:
        """Begin; send the batch records; flush (bounded); commit (bounded). Any failure aborts."""
        producer = self._producer
        try:
            producer.begin_transaction()
            futures = [producer.send(self.tree_topic, value=batch.encode(), partition=0)
                       for batch in batches_of(new, positions)]
            producer.flush(timeout=self.timeout_ms / 1000)
            for future in futures:
                future.get(timeout=0)
            finish_transaction(producer, True, self.timeout_ms)
        except Exception as exc:
            if self._is_fenced(exc):
                raise SequencerFenced(str(exc)) from exc
            raise
        logger.debug("sequenced leaves %d..%d", new[0].leaf_index, new[-1].leaf_index)

    def _is_fenced(self, exc: BaseException) -> bool:
        manager = getattr(self._producer, "_transaction_manager", None)
        return (isinstance(exc, _FENCED) or isinstance(exc.__cause__, _FENCED)
                or isinstance(getattr(manager, "last_error", None), _FENCED))

    def close(self) -> None:
        """Close the producer and the consumer (a transaction left open is aborted by the next start)."""
        producer, consumer = self._producer, self._consumer
        self._producer = self._consumer = None
        if consumer is not None:
            try:
                consumer.close()
            except Exception:  # noqa: BLE001 - closing a client that failed
                logger.debug("closing the sequencer's consumer failed", exc_info=True)
        if producer is not None:
            force_close(producer)
