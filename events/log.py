"""The event log: one interface (append a batch, read from a position), one module per backend."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

from events.envelope import NewEvent


@dataclass(frozen=True)
class AppendResult:
    """What became of one event of a batch: ``accepted`` or ``duplicate``, and its position."""

    event_id: str
    status: str
    position: int


@dataclass(frozen=True)
class RecordedEvent:
    """An event as the log holds it: the submitted envelope plus the server's fields."""

    position: int
    event_id: str
    type: str
    stream_id: str
    recorded_at: str
    hash: str
    body: bytes = field(repr=False)

    @property
    def envelope(self) -> dict[str, Any]:
        """The submitted envelope (event_id, type, occurred_at, recorded_by, data, evidence)."""
        return json.loads(self.body)

    def as_dict(self) -> dict[str, Any]:
        """The envelope with ``recorded_at``, ``position`` and ``hash``, as the API shows it."""
        return {**self.envelope, "recorded_at": self.recorded_at, "position": self.position, "hash": self.hash}


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

    @abstractmethod
    def append(self, batch: Sequence[NewEvent]) -> list[AppendResult]:
        """Append a batch all-or-nothing; an ``event_id`` already logged answers ``duplicate``.

        Raises :class:`IdempotencyConflict` if an ``event_id`` is reused with other content,
        :class:`LogUnavailable` if the log cannot be reached. In both cases nothing is appended.
        """

    @abstractmethod
    def read(self, after: int, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events with a position greater than ``after``, in position order."""

    @abstractmethod
    def end_position(self) -> int:
        """The position of the last event in the log (0 when empty)."""

    def wait_for_append(self, after: int, timeout: float) -> bool:
        """Block until an event past ``after`` may exist or ``timeout`` passes; True if one may."""
        return self.end_position() > after

    def close(self) -> None:
        """Release connections."""
