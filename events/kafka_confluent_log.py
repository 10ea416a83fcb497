"""The Kafka log on confluent-kafka (librdkafka): :class:`KafkaEventLog`'s contract, another client.

``ORETRAIL_KAFKA_DRIVER=confluent`` chooses it. kafka-python builds and sends every record in Python
(a fifth of a millisecond each, most of capture's time on Kafka); librdkafka does it in C. Everything
else is :class:`KafkaEventLog`'s: the topic and how it is created, one transaction a batch
(``acks=all``, idempotent), the pool of producers with one ``transactional_id`` a slot (a new
producer of a slot fences the failed one and aborts what it left open), and the records themselves:
key = stream id, partition = murmur2 of the key as Java's and kafka-python's default partitioner
(librdkafka's ``murmur2_random`` for keyed records), value = canonical body, the same headers (built
by :func:`events.kafka_records.headers_of` and read by :func:`events.kafka_records.recorded_event`).
So either driver reads what the other wrote, and a deployment can switch drivers on the same topic.

Reads (``end``, ``page``, ``read_at``) use a librdkafka consumer (``read_committed``) and admin
client for offsets. The projectors consume with librdkafka too when this driver is chosen
(``consumers.kafka_confluent_consumer``, reading each message as a :class:`MessageRecord`); the
sequencer stays on kafka-python with either driver.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Sequence

from confluent_kafka import Consumer, IsolationLevel, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from events.envelope import NewEvent
from events.kafka_log import KafkaEventLog
from events.kafka_records import headers_of, position_of, recorded_event
from events.log import LogUnavailable, RecordedEvent
from events.sqlite_log import utc_now_text

logger = logging.getLogger(__name__)

#: how long a crashed process's open batch can hold consumers back (as the kafka-python driver's)
TRANSACTION_TIMEOUT_MS = 20_000

#: errors of a topic whose leaders the client does not know yet (librdkafka does not call them retriable)
_LEADERS_MOVING = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                             KafkaError.UNKNOWN_TOPIC_OR_PART})


class MessageRecord:
    """A librdkafka message in the shape :func:`events.kafka_records.recorded_event` reads."""

    __slots__ = ("partition", "offset", "key", "value", "headers")

    def __init__(self, message: Any):
        self.partition = message.partition()
        self.offset = message.offset()
        self.key = message.key()
        self.value = message.value()
        self.headers = message.headers()


def close_in_background(producer: Producer) -> None:
    """Drop a failed producer without waiting: purge what it still holds and close it in a thread of
    its own (``close`` aborts its transaction and may wait on a broker that is gone)."""
    try:
        producer.purge()
    except Exception:  # noqa: BLE001 - a broken producer may refuse even this; close() still runs
        logger.debug("purging a failed producer failed", exc_info=True)
    threading.Thread(target=producer.close, name="kafka-confluent-close", daemon=True).start()


class ConfluentKafkaEventLog(KafkaEventLog):
    """The log as a Kafka topic, written and read with confluent-kafka (librdkafka)."""

    driver = "confluent"
    append_failures = (KafkaException, BufferError, OSError, ValueError)
    read_failures = (KafkaException,)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._admin: AdminClient | None = None
        self._reader_pid = os.getpid()

    # -- appending ----------------------------------------------------------------------------
    def producer_settings(self, transactional_id: str) -> dict:
        """The librdkafka configuration of a capture producer (the benchmark's raw producer uses it too)."""
        return {
            "bootstrap.servers": ",".join(self.servers),
            "client.id": f"oretrail-capture-{os.getpid()}",
            "transactional.id": transactional_id,
            "enable.idempotence": True,
            "acks": "all",
            "partitioner": "murmur2_random",  # Java's (and kafka-python's) partition for a keyed record
            "linger.ms": 100,  # flush() at the end of each transaction sends at once; until then, batch up
            "retry.backoff.ms": 10,  # the broker answers CONCURRENT_TRANSACTIONS right after a commit
            "reconnect.backoff.max.ms": 1000,
            "socket.timeout.ms": self.timeout_ms,
            "transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
            # librdkafka requires a message's timeout within the transaction's
            "message.timeout.ms": min(2 * self.timeout_ms + 100, TRANSACTION_TIMEOUT_MS),
        }

    def _new_producer(self, slot: int) -> Producer:
        producer = Producer(self.producer_settings(self.transactional_id(slot)))
        try:
            producer.init_transactions(self.timeout_ms / 1000)
        except BaseException:
            close_in_background(producer)
            raise
        return producer

    def _transact(self, producer: Producer, events: Sequence[NewEvent]) -> list[int]:
        """Begin; produce every record; flush (bounded); commit (bounded); positions (see the base class)."""
        recorded_at = utc_now_text().encode()
        positions: list[int | None] = [None] * len(events)
        failures: list[Any] = []

        def delivered(index: int):
            def report(error: Any, message: Any) -> None:
                if error is not None:
                    failures.append(error)
                else:
                    positions[index] = position_of(message.partition(), message.offset())
            return report

        producer.begin_transaction()
        for index, event in enumerate(events):
            producer.produce(self.topic, key=event.stream_id.encode(), value=event.body,
                             headers=headers_of(event, recorded_at), on_delivery=delivered(index))
        if producer.flush(self.timeout_ms / 1000) > 0:
            raise LogUnavailable(f"Kafka did not acknowledge the batch within {self.timeout_ms} ms")
        if failures or any(position is None for position in positions):
            raise LogUnavailable(f"Kafka refused records of the batch: {failures[:1]!r}")
        producer.commit_transaction(self.timeout_ms / 1000)
        return positions  # type: ignore[return-value] - every one was set above

    def _finish(self, producer: Producer, commit: bool) -> None:
        if commit:
            producer.commit_transaction(self.timeout_ms / 1000)
        else:
            producer.abort_transaction(self.timeout_ms / 1000)

    def _abort_and_close(self, producer: Producer) -> None:
        try:
            self._finish(producer, commit=False)
        except Exception:  # noqa: BLE001 - the next producer of the slot fences and aborts it anyway
            logger.debug("abort of a failed transaction failed", exc_info=True)
        close_in_background(producer)

    # -- reading ------------------------------------------------------------------------------
    def _forked(self) -> bool:
        """True once in a forked child: librdkafka's threads do not survive a fork, its clients are dropped."""
        if self._reader_pid == os.getpid():
            return False
        self._reader, self._admin, self._reader_pid = None, None, os.getpid()
        return True

    def _reader_consumer(self) -> Consumer:
        if self._forked() or self._reader is None:
            self._reader = Consumer({
                "bootstrap.servers": ",".join(self.servers), "client.id": "oretrail-reader",
                # assign() only, never subscribe() or commit: the group is never joined
                "group.id": "oretrail-reader", "enable.auto.commit": False, "enable.auto.offset.store": False,
                "isolation.level": "read_committed", "enable.partition.eof": True,
                "socket.timeout.ms": self.timeout_ms, "reconnect.backoff.max.ms": 1000,
            })
        return self._reader

    def _admin_client(self) -> AdminClient:
        if self._forked() or self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": ",".join(self.servers), "client.id": "oretrail-offsets",
                                       "socket.timeout.ms": self.timeout_ms})
        return self._admin

    def partition_count(self) -> int:
        """How many partitions the topic has (it may have been created with another count)."""
        self.ensure_topic()
        try:
            metadata = self._admin_client().list_topics(self.topic, timeout=self.timeout_ms / 1000)
        except KafkaException as exc:
            raise LogUnavailable(f"Kafka metadata unavailable: {exc!r}") from exc
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise LogUnavailable(f"Kafka topic {self.topic} has no partitions yet")
        return max(topic.partitions) + 1

    def _offsets(self, isolation: IsolationLevel) -> dict[int, int]:
        asked = {TopicPartition(self.topic, partition): OffsetSpec.latest()
                 for partition in range(self.partition_count())}
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            try:
                futures = self._admin_client().list_offsets(asked, isolation_level=isolation,
                                                            request_timeout=self.timeout_ms / 1000)
                return {tp.partition: int(future.result().offset) for tp, future in futures.items()}
            except KafkaException as exc:
                # a topic just created: its leaders are not known to every client yet
                error = exc.args[0]
                if not (error.retriable() or error.code() in _LEADERS_MOVING) or time.monotonic() > deadline:
                    raise LogUnavailable(f"Kafka offsets unavailable: {exc!r}") from exc
                time.sleep(0.05)

    def end_offsets(self) -> dict[int, int]:
        """Each partition's last stable offset: the end a read_committed consumer can reach."""
        return self._offsets(IsolationLevel.READ_COMMITTED)

    def high_watermarks(self) -> dict[int, int]:
        """Each partition's high watermark: its end, open transactions and their markers included."""
        return self._offsets(IsolationLevel.READ_UNCOMMITTED)

    def _read_partition(self, consumer: Consumer, partition: int, offset: int, end: int,
                        limit: int) -> tuple[list[RecordedEvent], int]:
        """The events of one partition from ``offset`` towards ``end``, and the next offset to read:
        past the last event read, or where librdkafka says the partition ends (past the markers)."""
        if offset >= end:
            return [], offset
        consumer.assign([TopicPartition(self.topic, partition, offset)])
        found: list[RecordedEvent] = []
        following = offset
        idle_since = time.monotonic()
        while len(found) < limit and following < end:
            messages = consumer.consume(num_messages=min(limit - len(found), 1000), timeout=0.5)
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka's public code
                        raise KafkaException(error)
                    following = max(following, message.offset())
                elif message.offset() >= end:
                    # appended since the page began: the next page's. What lay between the last
                    # event read and it (transaction markers, aborted records) is read.
                    following = max(following, end)
                    break
                elif len(found) >= limit:
                    break
                else:
                    found.append(recorded_event(MessageRecord(message)))
                    following = message.offset() + 1
            if messages:
                idle_since = time.monotonic()
            elif (time.monotonic() - idle_since) * 1000 > self.timeout_ms:
                raise LogUnavailable(f"Kafka read of {self.topic}-{partition} stalled at {following} (end {end})")
        return found, following

    @staticmethod
    def _release(consumer: Consumer) -> None:
        consumer.unassign()

    def _drop_reader(self) -> None:
        reader, self._reader, self._admin = self._reader, None, None
        if reader is not None:
            try:
                reader.close()
            except Exception:  # noqa: BLE001 - a reader being dropped; a new one replaces it
                logger.debug("closing a Kafka reader failed", exc_info=True)

    def close(self) -> None:
        """Close the producers (each ends its transaction and flushes) and the reader."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _slot, producer in idle:
            if producer is not None:
                try:
                    producer.close()
                except Exception:  # noqa: BLE001 - shutting down: nothing left to do with it
                    logger.debug("closing a Kafka producer failed", exc_info=True)
        with self._reader_lock:
            self._drop_reader()
