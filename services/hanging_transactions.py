"""The repair of a held-back Kafka partition: close the hanging transaction that holds it, the way
its client was answered.

``services.held_back`` tells when a partition's readers have stood still below its end for a while;
this module looks at what holds them (``events.kafka_hanging``: Kafka's own rule for a *hanging*
transaction, one no coordinator will ever close) and closes it, so the events accepted after it
become readable again without an operator. A transaction its coordinator still means to close
(a live producer's, or one the broker will time out) is never touched, however long it holds
readers back.

Which marker closes it is decided by what capture answered for the transaction's first event, as
the capture-side index of accepted events (``services.event_index``) remembers it:

- the index holds that event at this very position: capture answered 200 for it, so its
  coordinator had decided to commit (a coordinator that skips a partition's marker, as one restarting
  can, leaves exactly this): a COMMIT marker makes it readable, as it was promised;
- the index holds it at another position: the client's retry stored it there; this copy is aborted;
- the index does not hold it (no client was told it is stored, or the index could not be written),
  or the record is not an Oretrail event: nothing is written; the partition stays reported in
  ``/readyz`` and the README says how an operator closes it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Protocol

from events.kafka_hanging import OpenTransaction, admin_client, first_event, hanging, holding_back, still_open, write_marker
from services.held_back import HeldBackWatch

logger = logging.getLogger(__name__)


class KafkaTopicLog(Protocol):
    """What the sweeper needs of the Kafka log (``events.kafka_log.KafkaEventLog``)."""

    servers: list[str]
    topic: str
    timeout_ms: int

    def end_offsets(self) -> dict[int, int]: ...

    def high_watermarks(self) -> dict[int, int]: ...


def uncommitted_reader(log: KafkaTopicLog) -> Any:
    """A consumer that reads records of transactions still open (the caller closes it)."""
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=list(log.servers), client_id="oretrail-hanging-transactions",
                         group_id=None, isolation_level="read_uncommitted", enable_auto_commit=False,
                         request_timeout_ms=log.timeout_ms + 1000, bootstrap_timeout_ms=log.timeout_ms)


class HangingTransactionSweeper:
    """Every ``interval_s``, closes the hanging transactions of the log's partitions held back for
    ``after_s`` or longer (``ORETRAIL_KAFKA_CLOSE_HANGING_AFTER``), by what capture answered.

    ``answered_position(event_id)`` is the position capture answered for an event (the capture-side
    index), None if it answered none; it raises when the index cannot be read.
    """

    def __init__(self, log: KafkaTopicLog, answered_position: Callable[[str], int | None], after_s: float = 60.0,
                 interval_s: float = 10.0, on_close: Callable[[OpenTransaction, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, admin_factory: Callable[[], Any] | None = None,
                 reader_factory: Callable[[], Any] | None = None):
        self.log = log
        self.answered_position = answered_position
        self.interval_s = interval_s
        self.watch = HeldBackWatch(after_s, clock)
        self.on_close = on_close
        self._admin_factory = admin_factory or (lambda: admin_client(log.servers, log.timeout_ms))
        self._reader_factory = reader_factory or (lambda: uncommitted_reader(log))
        self._told: set[tuple[int, int]] = set()  # (partition, offset) already reported as left to an operator
        self._failing = False

    def sweep(self) -> list[tuple[OpenTransaction, str]]:
        """One look: the hanging transactions closed now, each with its marker ("commit" or "abort")."""
        held = self.watch.observe(self.log.end_offsets(), self.log.high_watermarks())
        if not held:
            return []
        stuck = {entry["partition"]: entry["last_stable_offset"] for entry in held}
        admin, reader = self._admin_factory(), None
        try:
            closed = []
            for txn in hanging(admin, self.log.topic, holding_back(admin, self.log.topic, stuck)):
                reader = reader or self._reader_factory()
                marker = self._marker_for(txn, first_event(reader, self.log.topic, txn.partition, txn.start_offset))
                if marker is None or not still_open(admin, self.log.topic, txn):
                    continue
                write_marker(admin, self.log.topic, txn, commit=marker == "commit")
                logger.error("Kafka partition %d: closed a hanging transaction (producer %d, epoch %d, transactional id "
                             "%s) open since offset %d with a %s marker; readers go on past it", txn.partition,
                             txn.producer_id, txn.producer_epoch, txn.transactional_id or "unknown", txn.start_offset,
                             marker.upper())
                closed.append((txn, marker))
                if self.on_close is not None:
                    self.on_close(txn, marker)
            return closed
        finally:
            admin.close()
            if reader is not None:
                reader.close()

    def _marker_for(self, txn: OpenTransaction, event: Any) -> str | None:
        """"commit", "abort", or None (left to an operator), by what capture answered for ``event``."""
        if event is None:
            return self._left(txn, "its first record is not an Oretrail event")
        try:
            answered = self.answered_position(event.event_id)
        except Exception as exc:  # noqa: BLE001 - an index that cannot be read decides nothing
            return self._left(txn, f"the capture index could not be read ({exc!r})")
        if answered == event.position:
            return "commit"
        if answered is not None:
            return "abort"
        return self._left(txn, f"no client was answered for its first event {event.event_id}")

    def _left(self, txn: OpenTransaction, why: str) -> None:
        if (txn.partition, txn.start_offset) not in self._told:
            self._told.add((txn.partition, txn.start_offset))
            logger.error("Kafka partition %d: a hanging transaction (producer %d, epoch %d) holds readers back at offset "
                         "%d and is left to an operator: %s (README, \"Held-back partitions\")", txn.partition,
                         txn.producer_id, txn.producer_epoch, txn.start_offset, why)
        return None

    def run_forever(self, stop: threading.Event) -> None:
        """Sweep every ``interval_s`` until ``stop`` is set; a failed look is logged once and tried again."""
        while not stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the broker may be away; the next look tries again
                if not self._failing:
                    logger.warning("hanging-transaction sweep failed (tried again every %.0f s): %r", self.interval_s, exc)
                self._failing = True
            else:
                if self._failing:
                    logger.info("hanging-transaction sweep works again")
                self._failing = False
