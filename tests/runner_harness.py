"""The real projection runner over a log whose arrival order and server times a test chooses: retractions
sorted, ``apply_retracted``, undo and rebuild beside the live read model, as in production."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sqlalchemy import Engine

from consumers.checks.projector import ChecksProjector
from consumers.runner import ProjectionRunner
from events.log import EventLog, Page, RecordedEvent
from events.position import LogPosition
from services.database import create_database_engine
from tests.checks_harness import open_signature, recorded


class ChosenLog(EventLog):
    """One partition, events in the order added, each recorded at the server time the test gives."""

    name = "chosen"

    def __init__(self, times: dict[str, str]):
        self.times = times
        self.events: list[RecordedEvent] = []

    def add(self, envelopes: Sequence[dict]) -> None:
        """Append ``envelopes`` in this order."""
        for envelope in envelopes:
            offset = len(self.events)
            event = recorded(envelope, offset + 1, self.times[envelope["event_id"]])
            self.events.append(RecordedEvent(event.position, event.event_id, event.type, event.stream_id,
                                             event.recorded_at, event.hash, event.body, partition=0, offset=offset))

    def append(self, batch):
        """Not used: events come in through ``add``."""
        raise NotImplementedError

    def page(self, after: LogPosition, limit: int) -> Page:
        """The next ``limit`` events after ``after``."""
        start = after.offset(0)
        events = self.events[start:start + limit]
        return Page(events, after.advanced({0: start + len(events)}) if events else after)

    def end(self) -> LogPosition:
        """The position after the last event."""
        return LogPosition({0: len(self.events)})


def times_in_order(envelopes: Sequence[dict]) -> dict[str, str]:
    """Server times one second apart, in the order given (the order they were recorded)."""
    return {e["event_id"]: f"2026-03-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000Z"
            for i, e in enumerate(envelopes)}


def run_checks(stages: Sequence[Sequence[dict]], times: dict[str, str], path: Path,
               batch: int = 500) -> tuple[Engine, ProjectionRunner]:
    """Each stage reaches the log, then the checks' runner catches up (rebuilding when a retraction asks)."""
    engine = create_database_engine(f"sqlite:///{path}")
    log = ChosenLog(times)
    runner = ProjectionRunner(log, engine, ChecksProjector(), batch_size=batch)
    runner.prepare()
    for stage in stages:
        log.add(stage)
        runner.catch_up()
    return engine, runner


def open_of_kind(engine: Engine, kind: str) -> list[tuple]:
    """The open findings of ``kind`` (``open_signature`` rows)."""
    return [row for row in open_signature(engine) if row[1] == kind]
