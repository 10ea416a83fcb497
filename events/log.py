"""The event log: one interface (append a batch, read from a position), one module per backend.

Every log meets the same contract (``tests/integration/test_log_contract.py``). Where a reader is
is a :class:`~events.position.LogPosition` (partition -> next offset); an event's ``position`` is
the number the v1 API shows: on SQLite its place in the one total order, on Kafka
``partition * 2**48 + offset + 1`` (see :mod:`events.kafka_records`).
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import orjson

from events.attestation import Attestation, attested_dict
from events.envelope import NewEvent
from events.position import LogPosition


@dataclass(frozen=True)
class AppendResult:
    """What became of one event of a batch: ``accepted`` or ``duplicate``, and its position (the API's number)."""

    event_id: str
    status: str
    position: int


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the log holds it: the submitted envelope plus the server's fields.

    ``position`` is the number the API shows; ``partition`` and ``offset`` say where the event sits,
    which is what a reader's :class:`LogPosition` counts. ``attested_by`` is the key that recorded
    it (``None`` for events logged before the field existed).
    """

    position: int
    event_id: str
    type: str
    stream_id: str
    recorded_at: str
    hash: str
    body: bytes = field(repr=False)
    partition: int = 0
    offset: int = 0
    attested_by: Attestation | None = None

    @property
    def after(self) -> dict[int, int]:
        """The partition's next offset once this event is read (for :meth:`LogPosition.advanced`)."""
        return {self.partition: self.offset + 1}

    @property
    def envelope(self) -> dict[str, Any]:
        """The submitted envelope (event_id, type, occurred_at, recorded_by, data, evidence)."""
        return orjson.loads(self.body)

    def server_fields(self) -> dict[str, Any]:
        """What the server adds to the envelope: ``recorded_at``, ``position``, ``hash``, ``attested_by``."""
        return {"recorded_at": self.recorded_at, "position": self.position, "hash": self.hash,
                "attested_by": attested_dict(self.attested_by)}

    def as_dict(self) -> dict[str, Any]:
        """The envelope with the server's fields, as the API shows it."""
        return {**self.envelope, **self.server_fields()}


@dataclass(frozen=True)
class Page:
    """Events read from a position, and the position after them (past any record that is not an
    event, such as Kafka's transaction markers): the next read starts there."""

    events: list[RecordedEvent]
    next: LogPosition


class LogError(Exception):
    """Base of the log's errors."""


class LogUnavailable(LogError):
    """The log cannot be reached now; nothing of the batch was appended. Retry later."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyConflict(LogError):
    """An ``event_id`` already in the log (or twice in a batch) names a different event."""

    def __init__(self, event_ids: Sequence[str]):
        super().__init__("event_id reused for a different event: " + ", ".join(event_ids))
        self.event_ids = list(event_ids)


class EventLog(ABC):
    """An append-only log of events. Implementations: SQLite (embedded) and Kafka (distributed)."""

    #: whether ``append`` recognises an ``event_id`` appended by an earlier batch (Kafka cannot)
    detects_duplicates: bool = True
    #: how projectors follow this log (``consumers.runners`` maps it to a runner): ``poll`` reads
    #: pages from the stored position; ``consumer_group`` also shares partitions among processes
    runner_kind: str = "poll"
    #: the name under which a projector stores its position in this log (a Kafka topic)
    name: str = "events"

    @abstractmethod
    def append(self, batch: Sequence[NewEvent]) -> list[AppendResult]:
        """Append a batch all-or-nothing; an ``event_id`` already logged answers ``duplicate``.

        Raises :class:`IdempotencyConflict` if an ``event_id`` is reused with other content,
        :class:`LogUnavailable` if the log cannot be reached. In both cases nothing is appended.
        """

    @abstractmethod
    def page(self, after: LogPosition, limit: int) -> Page:
        """Up to ``limit`` events not covered by ``after``, each partition in offset order, and the
        position after them."""

    @abstractmethod
    def end(self) -> LogPosition:
        """The position past every event committed before the call."""

    def read(self, after: LogPosition = LogPosition(), limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events not covered by ``after`` (from the start by default)."""
        return self.page(after, limit).events

    def wait_for_append(self, after: LogPosition, timeout: float) -> bool:
        """Block until an event past ``after`` may exist or ``timeout`` passes; True if one may."""
        deadline = time.monotonic() + timeout
        while not self.has_events_past(after):
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))  # a log without notifications: poll
        return True

    def has_events_past(self, after: LogPosition) -> bool:
        """True if the log has records ``after`` has not reached."""
        return not after.reached(self.end())

    def close(self) -> None:
        """Release connections."""
