"""Hanging Kafka transactions: found the way Kafka's own tool finds them, and closed (KIP-664).

A transaction *hangs* on a partition when the partition holds records of it that no COMMIT or
ABORT marker will ever close: its coordinator does not list the partition among those it will
still write markers to, or knows no transaction of that producer at all. Every read_committed
reader (every projector) then stops before its first record for good, and with it every event
accepted after it on that partition. ``kafka-transactions.sh find-hanging`` decides it from three
answers, and so does :func:`hanging`: DescribeProducers (the partition's open transactions),
ListTransactions filtered by producer id (the transactional id behind each) and
DescribeTransactions (the partitions its coordinator will still close).

:func:`write_marker` closes one: an ABORT marker written into the partition (WriteTxnMarkers, as
``kafka-transactions.sh abort`` does), or a COMMIT marker, the same request, when the caller knows
the coordinator had decided to commit (a coordinator that skipped a partition's marker leaves
exactly that: a committed transaction that no reader sees). The partition refuses either when the
producer has since moved to a newer epoch there, and :func:`still_open` is asked again just before,
so a producer that wrote to the partition meanwhile is left alone. :func:`span_events` reads the
records it holds back (read_uncommitted), for the caller to decide which marker it takes.
"""
from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import AbortTransactionSpec, KafkaAdminClient
from kafka.errors import TransactionalIdNotFoundError
from kafka.protocol.producer.transaction import WriteTxnMarkersRequest

from events.kafka_records import recorded_event
from events.log import RecordedEvent


@dataclass(frozen=True)
class OpenTransaction:
    """A transaction a partition holds open: whose it is and where it starts."""

    partition: int
    producer_id: int
    producer_epoch: int
    #: the epoch of the coordinator whose marker the partition saw last from this producer (-1: none)
    coordinator_epoch: int
    start_offset: int
    #: when the producer last wrote to the partition (its batch's timestamp) and that batch's last sequence
    last_timestamp: int
    last_sequence: int
    #: the transactional id its coordinator holds this producer under; None: the coordinator knows none
    transactional_id: str | None = None
    #: that transactional id's producer epoch at its coordinator now (None: the coordinator knows none)
    current_epoch: int | None = None


def admin_client(servers: Sequence[str], timeout_ms: int) -> KafkaAdminClient:
    """An admin client for these look-ups (the caller closes it)."""
    return KafkaAdminClient(bootstrap_servers=list(servers), client_id="oretrail-hanging-transactions",
                            request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)


def holding_back(admin: KafkaAdminClient, topic: str, held: Mapping[int, int]) -> list[OpenTransaction]:
    """The open transactions that hold each held partition's readers back: those whose first record
    is at the partition's last stable offset (``held``: partition -> that offset)."""
    if not held:
        return []
    described = admin.describe_producers([TopicPartition(topic, partition) for partition in sorted(held)])
    found = []
    for topic_partition, state in described.items():
        for producer in state.active_producers:
            if producer.current_transaction_start_offset == held[topic_partition.partition]:
                found.append(OpenTransaction(topic_partition.partition, producer.producer_id, producer.producer_epoch,
                                             producer.coordinator_epoch, producer.current_transaction_start_offset,
                                             producer.last_timestamp, producer.last_sequence))
    return found


def hanging(admin: KafkaAdminClient, topic: str, candidates: Sequence[OpenTransaction]) -> list[OpenTransaction]:
    """Of ``candidates``, those no coordinator will close: Kafka's rule (see the module docstring)."""
    if not candidates:
        return []
    listed = admin.list_transactions(producer_id_filters=sorted({txn.producer_id for txn in candidates}))
    ids = {listing.producer_id: listing.transactional_id for listings in listed.values() for listing in listings}
    described = {}
    for transactional_id in sorted(set(ids.values())):
        with suppress(TransactionalIdNotFoundError):  # expired between the two questions: nobody will close it
            described[transactional_id] = admin.describe_transactions([transactional_id])[transactional_id]
    found = []
    for txn in candidates:
        transactional_id = ids.get(txn.producer_id)
        now = described.get(transactional_id) if transactional_id is not None else None
        if now is None or TopicPartition(topic, txn.partition) not in now.topic_partitions:
            found.append(replace(txn, transactional_id=transactional_id,
                                 current_epoch=now.producer_epoch if now is not None else None))
    return found


def still_open(admin: KafkaAdminClient, topic: str, txn: OpenTransaction) -> bool:
    """Whether the partition still holds ``txn`` open, unchanged: same producer, epoch, first offset,
    and no write of that producer since (a producer writing again is alive: leave it alone)."""
    state = admin.describe_producers([TopicPartition(topic, txn.partition)])[TopicPartition(topic, txn.partition)]
    return any(producer.producer_id == txn.producer_id and producer.producer_epoch == txn.producer_epoch
               and producer.current_transaction_start_offset == txn.start_offset
               and producer.last_timestamp == txn.last_timestamp and producer.last_sequence == txn.last_sequence
               for producer in state.active_producers)


def span_events(consumer: KafkaConsumer, topic: str, partition: int, start: int, end: int,
                timeout_s: float = 10.0) -> list[RecordedEvent | None]:
    """The records from ``start`` up to ``end`` of ``partition``, committed or not (``consumer`` reads
    read_uncommitted, assigned to nothing else): each an event, or None for a record that is not an
    Oretrail event. Raises TimeoutError when the broker does not hand them over in time."""
    topic_partition = TopicPartition(topic, partition)
    consumer.assign([topic_partition])
    consumer.seek(topic_partition, start)
    found: list[RecordedEvent | None] = []
    deadline = time.monotonic() + timeout_s
    while consumer.position(topic_partition) < end:
        if time.monotonic() > deadline:
            raise TimeoutError(f"offsets {start}-{end} of partition {partition} not read within {timeout_s} s")
        for record in consumer.poll(timeout_ms=500).get(topic_partition, []):
            if record.offset >= end:
                break
            try:
                found.append(recorded_event(record))
            except (KeyError, AttributeError, UnicodeDecodeError, ValueError):  # another program's record
                found.append(None)
    return found


def write_marker(admin: KafkaAdminClient, topic: str, txn: OpenTransaction, commit: bool) -> None:
    """Write a COMMIT (``commit``) or ABORT marker for ``txn`` into its partition; raises the broker's refusal.

    kafka-python's admin client writes ABORT markers only (``abort_transaction``); a COMMIT marker is
    the same WriteTxnMarkers request with ``transaction_result`` true, sent the same way (its private
    helpers: kafka-python is pinned, and the integration tests write both markers on a real broker).
    """
    spec = AbortTransactionSpec(TopicPartition(topic, txn.partition), txn.producer_id, txn.producer_epoch,
                                txn.coordinator_epoch)
    if not commit:
        admin.abort_transaction(spec)
        return

    async def write() -> None:
        leaders = await admin._async_get_leader_for_partitions([spec.topic_partition])  # noqa: SLF001
        marker = WriteTxnMarkersRequest.WritableTxnMarker
        request = WriteTxnMarkersRequest(markers=[marker(
            producer_id=spec.producer_id, producer_epoch=spec.producer_epoch, transaction_result=True,
            topics=[marker.WritableTxnMarkerTopic(name=topic, partition_indexes=[txn.partition])],
            coordinator_epoch=spec.coordinator_epoch)])
        response = await admin._manager.send(request, node_id=next(iter(leaders)))  # noqa: SLF001
        admin._abort_transaction_process_response(response, spec)  # noqa: SLF001 - raises a partition's error

    admin._manager.run(write)  # noqa: SLF001
