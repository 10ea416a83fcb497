"""What a projector is: a name, a version, its tables, the event types it handles and ``apply``."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from sqlalchemy import Connection, MetaData

from events.log import RecordedEvent


class Projector(ABC):
    """Builds one read model from the log.

    ``apply`` must be idempotent per ``event_id`` (a duplicate that reached the log changes nothing)
    and order tolerant across streams (events of different streams may arrive in any order).
    """

    #: the read model's name (``oretrail rebuild NAME``)
    name: str = ""
    #: bump when the tables or the meaning of ``apply`` change: the read model must then be rebuilt
    version: int = 1
    #: the event types ``apply`` looks at; others only advance the checkpoint
    handles: frozenset[str] = frozenset()

    @property
    @abstractmethod
    def metadata(self) -> MetaData:
        """The tables of this read model (and only them: a rebuild drops them all)."""

    @abstractmethod
    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Write the effect of ``event`` inside the runner's transaction ``tx``."""

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Write the effect of ``events``, in log order; override to write a batch in fewer statements.

        Must leave the same read model as ``apply`` on each event in turn.
        """
        for event in events:
            self.apply(tx, event)
