"""The repair of a held-back Kafka partition: abort the hanging transaction that holds it.

``services.held_back`` tells when a partition's readers have stood still below its end for a while;
this module looks at what holds them (``events.kafka_hanging``: Kafka's own rule for a *hanging*
transaction, one no coordinator will ever close) and aborts it, so the events accepted after it
become readable again without an operator. A transaction its coordinator still means to close
(a live producer's, or one the coordinator will time out) is never touched, however long it holds
readers back: it stays reported in ``/readyz``.

Records of a hanging transaction were never committed by its coordinator, so aborting them drops
nothing a producer was told is stored; the capture that wrote them answered 503 and its client
sent the batch again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Protocol

from events.kafka_hanging import OpenTransaction, abort, admin_client, hanging, holding_back, still_open
from services.held_back import HeldBackWatch

logger = logging.getLogger(__name__)


class KafkaTopicLog(Protocol):
    """What the sweeper needs of the Kafka log (``events.kafka_log.KafkaEventLog``)."""

    servers: list[str]
    topic: str
    timeout_ms: int

    def end_offsets(self) -> dict[int, int]: ...

    def high_watermarks(self) -> dict[int, int]: ...


class HangingTransactionSweeper:
    """Every ``interval_s``, aborts the hanging transactions of the log's partitions held back for
    ``after_s`` or longer (``ORETRAIL_KAFKA_ABORT_HANGING_AFTER``)."""

    def __init__(self, log: KafkaTopicLog, after_s: float = 60.0, interval_s: float = 10.0,
                 on_abort: Callable[[OpenTransaction], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, admin_factory: Callable[[], Any] | None = None):
        self.log = log
        self.interval_s = interval_s
        self.watch = HeldBackWatch(after_s, clock)
        self.on_abort = on_abort
        self._admin_factory = admin_factory or (lambda: admin_client(log.servers, log.timeout_ms))

    def sweep(self) -> list[OpenTransaction]:
        """One look: the hanging transactions aborted now (usually none)."""
        held = self.watch.observe(self.log.end_offsets(), self.log.high_watermarks())
        if not held:
            return []
        admin = self._admin_factory()
        try:
            stuck = {entry["partition"]: entry["last_stable_offset"] for entry in held}
            found = hanging(admin, self.log.topic, holding_back(admin, self.log.topic, stuck))
            aborted = []
            for txn in found:
                if not still_open(admin, self.log.topic, txn):
                    continue
                abort(admin, self.log.topic, txn)
                logger.error("Kafka partition %d: aborted a hanging transaction (producer %d, epoch %d, transactional "
                             "id %s) open since offset %d, which no coordinator would close; readers go on past it",
                             txn.partition, txn.producer_id, txn.producer_epoch, txn.transactional_id or "unknown",
                             txn.start_offset)
                aborted.append(txn)
                if self.on_abort is not None:
                    self.on_abort(txn)
            left = sorted(set(stuck) - {txn.partition for txn in aborted})
            if left:
                logger.info("Kafka partitions %s held back by transactions their coordinator still means to close: "
                            "left alone", left)
            return aborted
        finally:
            admin.close()

    def run_forever(self, stop: threading.Event) -> None:
        """Sweep every ``interval_s`` until ``stop`` is set; a failed look is logged and tried again."""
        while not stop.wait(self.interval_s):
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the broker may be away; the next look tries again
                logger.warning("hanging-transaction sweep failed: %r", exc)
