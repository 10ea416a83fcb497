"""Readiness: the ``/readyz`` report of a wired platform (also ``oretrail status`` and the metrics' state)."""
from __future__ import annotations

import logging
from typing import Any, Mapping, Protocol

from sqlalchemy import Engine, text

from consumers.runner import Runner
from events.log import EventLog
from services.held_back import HeldBackWatch

logger = logging.getLogger(__name__)


class PartitionEnds(Protocol):
    """A partitioned log's ends with open transactions included (the Kafka logs); its ``end()`` is
    each partition's last stable offset."""

    def high_watermarks(self) -> dict[int, int]:
        """Each partition's high watermark."""


class Readiness:
    """Whether the log and the database can be reached, each projector's position, lag and dead
    letters, and (Kafka) the partitions whose readers an unclosed transaction holds back."""

    def __init__(self, log: EventLog, engine: Engine, runners: Mapping[str, Runner],
                 partitions: PartitionEnds | None = None, held_back: HeldBackWatch | None = None):
        self.log = log
        self.engine = engine
        self.runners = runners
        self.partitions = partitions
        self.held_back = held_back if held_back is not None else HeldBackWatch()
        self._alarmed: set[tuple[int, int]] = set()  # (partition, offset) already logged

    def report(self) -> dict[str, Any]:
        """The ``/readyz`` report."""
        report: dict[str, Any] = {"status": "ready", "log": {}, "database": {}, "projectors": {}}
        try:
            end = self.log.end()
            # end_position: the end's total (on SQLite the last event's position); end_offsets: per partition
            report["log"] = {"reachable": True, "end_position": end.total, "end_offsets": end.as_json()}
            if self.partitions is not None:
                report["log"]["held_back"] = self._held_back(end)
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports, it does not raise
            end = None
            report["status"] = "unavailable"
            report["log"] = {"reachable": False, "error": str(exc)}
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["database"] = {"reachable": True, "backend": self.engine.dialect.name}
            for name, runner in self.runners.items():
                progress = runner.progress(end) if end is not None else {"position": runner.checkpoint().total, "lag": None}
                report["projectors"][name] = {**progress, "dead_letters": runner.dead_letter_count()}
        except Exception as exc:  # noqa: BLE001
            report["status"] = "unavailable"
            report["database"] = {"reachable": False, "error": str(exc)}
        return report

    def _held_back(self, stable: Mapping[int, int]) -> list[dict[str, Any]]:
        """The partitions an unclosed transaction holds back (``services.held_back``), given the log's
        end (each partition's last stable offset, just read), each logged once."""
        held = self.held_back.observe(stable, self.partitions.high_watermarks())
        for partition in held:
            key = (partition["partition"], partition["last_stable_offset"])
            if key not in self._alarmed:
                self._alarmed.add(key)
                logger.error("Kafka partition %d: readers held back at offset %d for %.0f s (high watermark %d): "
                             "a transaction that nobody closes hides every later event of the partition from the "
                             "projectors; find and abort it (kafka-transactions.sh find-hanging / abort)",
                             key[0], key[1], partition["held_for_s"], partition["high_watermark"])
        return held
