"""Rebuild a read model from a Kafka topic into fresh tables while the API reads the old ones.

Order of work (:func:`rebuild_from_kafka`), and why:
1. create the projector's tables, empty, in a staging area (:mod:`consumers.staging`);
2. read the topic from the beginning of every partition (read_committed, outside the group) up to
   the end offsets taken when the rebuild starts, applying batches into the staging tables in
   their own transactions: the live tables, and the projector processes writing them, are untouched;
3. switch in one write transaction: copy the staged rows over the live tables, store the rebuild's
   positions as the projector's offsets, record the projector's version; commit. Readers see the
   old read model until the commit, the new one after;
4. a projector process of the group that was running all along finds, on its next batch, that the
   stored offsets are not the ones it wrote (the compare-and-set in :mod:`consumers.kafka_runner`),
   seeks to them and applies whatever arrived after the rebuild's end: nothing lost, nothing twice.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from kafka import TopicPartition

from consumers import tracking
from consumers.offsets import save_offsets
from consumers.staging import Staging, quote_literal
from events.kafka_records import recorded_event

if TYPE_CHECKING:
    from consumers.kafka_runner import KafkaProjectionRunner

logger = logging.getLogger(__name__)


def rebuild_from_kafka(runner: "KafkaProjectionRunner", on_progress: Callable[[int, int], None] | None = None) -> int:
    """Replay the whole topic into fresh tables, then switch; the number of events applied."""
    runner.prepare()
    runner.kafka_log.ensure_topic()
    ends = runner.kafka_log.settled_end_offsets()
    total = sum(ends.values())
    staging = Staging(runner.engine, runner.projector.name)
    consumer = runner._consumer(group_id=None)  # noqa: SLF001
    partitions = [TopicPartition(runner.topic, partition) for partition in sorted(ends)]
    done = 0
    try:
        with staging.connection() as connection:
            with connection.begin():
                runner.projector.metadata.create_all(connection)
                tracking.metadata.create_all(connection)
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            positions = {tp.partition: 0 for tp in partitions}
            stalled = 0
            while any(positions[p] < end for p, end in ends.items()):
                polled = consumer.poll(timeout_ms=500, max_records=runner.batch_size)
                if polled:
                    events = [recorded_event(record) for records in polled.values() for record in records]
                    with connection.begin():
                        runner._apply_all(connection, events)  # noqa: SLF001
                    done += len(events)
                    stalled = 0
                    if on_progress is not None:
                        on_progress(done, max(total, done))
                else:
                    stalled += 1
                    if stalled * 500 > 6 * runner.timeout_ms:
                        raise TimeoutError(f"rebuild of {runner.projector.name}: no progress at {positions} of {ends}")
                for tp in partitions:
                    position = consumer.position(tp, timeout_ms=runner.timeout_ms)
                    if position is not None:
                        positions[tp.partition] = position
            _switch(runner, staging, positions)
    finally:
        consumer.close(autocommit=False)
        staging.drop()
    logger.info("%s: rebuilt from %d events and switched", runner.projector.name, done)
    return done


def _switch(runner: "KafkaProjectionRunner", staging: Staging, positions: dict[int, int]) -> None:
    name = runner.projector.name
    with staging.switch_connection() as connection, connection.begin():
        runner._lock(connection)  # noqa: SLF001 - the running members of the group wait for the switch
        live = staging.live_schema(connection)
        staging.replace(connection, runner.projector.metadata.sorted_tables, live)
        staging.replace(connection, [tracking.dead_letters], live, where=f"projector = {quote_literal(name)}")
        connection.execute(tracking.offsets.delete().where(tracking.offsets.c.projector == name,
                                                           tracking.offsets.c.topic == runner.topic))
        save_offsets(connection, name, runner.topic, positions)
        runner.save_version(connection)
