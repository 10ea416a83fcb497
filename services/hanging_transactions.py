"""The repair of a held-back Kafka partition: close the hanging transaction that holds it, the way
its client was answered.

``services.held_back`` tells when a partition's readers have stood still below its end for a while;
this module looks at what holds them (``events.kafka_hanging``: Kafka's own rule for a *hanging*
transaction, one no coordinator will ever close) and closes it, so the events accepted after it
become readable again without an operator. A transaction its coordinator still means to close
(a live producer's, or one the broker will time out) is never touched, however long it holds
readers back.

Which marker closes it is decided by what capture answered for the transaction's events, as the
capture-side index of accepted events (``services.event_index``) remembers them. The transaction's
events are the Oretrail records of the held-back span that carry its first record's
``recorded_at`` (one value, to the microsecond, per capture transaction):

- one of them is indexed at its very position: capture answered 200 for that transaction, so its
  coordinator had decided to commit (a coordinator that skips a partition's marker, as one restarting
  can, leaves exactly this): a COMMIT marker makes them readable, as was promised;
- every one of them is indexed elsewhere with the same content: the client's retry stored them
  there; this copy is aborted;
- anything else (an event no client was told is stored, other content under the same id, a
  record that is not an Oretrail event, an index that cannot be read): nothing is written; the
  partition stays reported in ``/readyz`` and the README says how an operator closes it.

A marker is only written when no producer can still be adding to that transaction: its
transactional id has moved to a newer epoch (the partition then refuses a stale marker), or its
coordinator knows no such producer, or the id is one of this host's and its process is gone. An
idle capture slot of this very process still at that epoch is retired first (the log initialises
it again, a newer epoch), and the next look closes the transaction.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from typing import Any, Callable, Protocol, Sequence

from events.kafka_hanging import OpenTransaction, admin_client, hanging, holding_back, span_events, still_open, write_marker
from events.log import RecordedEvent
from services.held_back import HeldBackWatch

logger = logging.getLogger(__name__)

#: what capture answered for event ids it accepted: event id -> (hash, position) (``IndexedLog.answered``)
Answers = Callable[[Sequence[str]], dict[str, tuple[str, int]]]


class KafkaTopicLog(Protocol):
    """What the sweeper needs of the Kafka log (``events.kafka_log.KafkaEventLog``)."""

    servers: list[str]
    topic: str
    timeout_ms: int
    transactional_prefix: str

    def end_offsets(self) -> dict[int, int]: ...

    def high_watermarks(self) -> dict[int, int]: ...


def uncommitted_reader(log: KafkaTopicLog) -> Any:
    """A consumer that reads records of transactions still open (the caller closes it)."""
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=list(log.servers), client_id="oretrail-hanging-transactions",
                         group_id=None, isolation_level="read_uncommitted", enable_auto_commit=False,
                         request_timeout_ms=log.timeout_ms + 1000, bootstrap_timeout_ms=log.timeout_ms)


def process_gone(transactional_id: str, prefix: str, host: str | None = None) -> bool:
    """Whether ``transactional_id`` is a capture slot of a process of this host (``PREFIX-host-pid-slot``,
    ``KafkaEventLog.transactional_id``) that no longer runs. Another host's, or a running one: False."""
    head, _, slot = transactional_id.rpartition("-")
    head, _, pid = head.rpartition("-")
    if head != f"{prefix}-{host or socket.gethostname()}" or not pid.isdigit() or not slot.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, as another user
        return False
    return False


class HangingTransactionSweeper:
    """Every ``interval_s``, closes the hanging transactions of the log's partitions held back for
    ``after_s`` or longer (``ORETRAIL_KAFKA_CLOSE_HANGING_AFTER``), by what capture answered.

    ``answered(event_ids)`` is what capture answered for those it accepted (the capture-side index);
    it raises when the index cannot be read.
    """

    def __init__(self, log: KafkaTopicLog, answered: Answers, after_s: float = 60.0, interval_s: float = 10.0,
                 on_close: Callable[[OpenTransaction, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, admin_factory: Callable[[], Any] | None = None,
                 reader_factory: Callable[[], Any] | None = None,
                 gone: Callable[[str], bool] | None = None, retire: Callable[[str], bool] | None = None):
        self.log = log
        self.answered = answered
        self.interval_s = interval_s
        self.watch = HeldBackWatch(after_s, clock)
        self.on_close = on_close
        self._admin_factory = admin_factory or (lambda: admin_client(log.servers, log.timeout_ms))
        self._reader_factory = reader_factory or (lambda: uncommitted_reader(log))
        self._gone = gone or (lambda transactional_id: process_gone(transactional_id, log.transactional_prefix))
        self._retire = retire or getattr(log, "retire_slot", lambda _transactional_id: False)
        self._told: set[tuple[int, int]] = set()  # (partition, offset) already reported as left to an operator
        self._failing = False

    def sweep(self) -> list[tuple[OpenTransaction, str]]:
        """One look: the hanging transactions closed now, each with its marker ("commit" or "abort")."""
        held = {entry["partition"]: entry for entry in
                self.watch.observe(self.log.end_offsets(), self.log.high_watermarks())}
        if not held:
            return []
        admin, reader = self._admin_factory(), None
        try:
            closed = []
            stuck = {partition: entry["last_stable_offset"] for partition, entry in held.items()}
            for txn in hanging(admin, self.log.topic, holding_back(admin, self.log.topic, stuck)):
                if not self._nobody_writes(txn):
                    continue
                reader = reader or self._reader_factory()
                span = span_events(reader, self.log.topic, txn.partition, txn.start_offset,
                                   held[txn.partition]["high_watermark"])
                marker = self._marker_for(txn, span)
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

    def _nobody_writes(self, txn: OpenTransaction) -> bool:
        """Whether no producer can still add records to ``txn`` (see the module docstring)."""
        if txn.current_epoch is None or txn.current_epoch > txn.producer_epoch:  # unknown to it, or re-initialised
            return True
        if txn.transactional_id is not None and self._gone(txn.transactional_id):
            return True
        if txn.transactional_id is not None and self._retire(txn.transactional_id):
            logger.info("Kafka partition %d: retired this process's capture slot %s (epoch %d) that holds a hanging "
                        "transaction; it is initialised again, and the next look closes the transaction",
                        txn.partition, txn.transactional_id, txn.producer_epoch)
            return False
        self._left(txn, f"its producer ({txn.transactional_id}, epoch {txn.producer_epoch}) may still run: it closes "
                        "the transaction itself when it next writes to the partition")
        return False

    def _marker_for(self, txn: OpenTransaction, span: Sequence[RecordedEvent | None]) -> str | None:
        """"commit", "abort", or None (left to an operator), by what capture answered for ``txn``'s events."""
        first = span[0] if span else None
        if first is None:
            return self._left(txn, "its first record is not an Oretrail event")
        events = [event for event in span if event is not None and event.recorded_at == first.recorded_at]
        try:
            answers = self.answered([event.event_id for event in events])
        except Exception as exc:  # noqa: BLE001 - an index that cannot be read decides nothing
            return self._left(txn, f"the capture index could not be read ({exc!r})")
        unanswered = (None, None)  # equal to no hash and no position
        if any(answers.get(event.event_id, unanswered)[1] == event.position for event in events):
            return "commit"
        if all(answers.get(event.event_id, unanswered)[0] == event.hash for event in events):
            return "abort"
        return self._left(txn, f"capture cannot vouch for all of its {len(events)} events (first {first.event_id})")

    def _left(self, txn: OpenTransaction, why: str) -> None:
        if (txn.partition, txn.start_offset) not in self._told:
            self._told.add((txn.partition, txn.start_offset))
            logger.error("Kafka partition %d: a hanging transaction (producer %d, epoch %d) holds readers back at offset "
                         "%d and is left to an operator: %s (README, \"Held-back partitions\")", txn.partition,
                         txn.producer_id, txn.producer_epoch, txn.start_offset, why)
        return None

    def run_forever(self, stop: threading.Event) -> None:
        """Sweep every ``interval_s`` (give or take a fifth, so the workers of a deployment do not look
        in step) until ``stop`` is set; a failed look is logged once and tried again."""
        while not stop.wait(self.interval_s * random.uniform(0.8, 1.2)):
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
