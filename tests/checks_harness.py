"""Project events straight into a fresh in-memory read model (no log, no HTTP) and read the findings."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool

from consumers.checks import tables as t
from consumers.checks.projector import ChecksProjector
from consumers.checks.views import FindingsView
from events.envelope import prepare
from events.log import RecordedEvent


def recorded(envelope: dict, position: int, recorded_at: str = "2026-03-02T00:00:00Z") -> RecordedEvent:
    """An envelope as the log would hand it to a projector (stamped ``recorded_at`` by the server)."""
    new = prepare(envelope)
    return RecordedEvent(position, new.event_id, new.type, new.stream_id, recorded_at, new.hash, new.body)


def recording_times(events: list[dict]) -> dict[str, str]:
    """Server times for a story: each event recorded one second after the one before it in the story."""
    return {envelope["event_id"]: f"2026-03-02T{index // 3600:02d}:{index // 60 % 60:02d}:{index % 60:02d}Z"
            for index, envelope in enumerate(events)}


def project_checks(events: list[dict], projector: ChecksProjector | None = None, batch: int = 500,
                   engine: Engine | None = None, recorded_at: dict[str, str] | None = None) -> Engine:
    """A read model built by the checks projector from ``events`` in this arrival order, in batches
    of ``batch`` events as the runner applies them (``recorded_at``: the server time of each event;
    by default the order of the list given)."""
    engine = engine or create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    projector = projector or ChecksProjector()
    projector.metadata.create_all(engine)
    times = recorded_at or recording_times(events)
    handled = [event for event in (recorded(envelope, position, times[envelope["event_id"]])
                                   for position, envelope in enumerate(events, start=1))
               if event.type in projector.handles]
    with engine.begin() as tx:
        for start in range(0, len(handled), batch):
            projector.apply_batch(tx, handled[start:start + batch])
    return engine


def open_findings(engine: Engine) -> list[dict]:
    """Every open finding, in a stable order."""
    return FindingsView(engine).list(status="open", limit=1000)[0]


def open_signature(engine: Engine) -> list[tuple]:
    """What the open findings say, comparable across read models."""
    return sorted((f["finding_id"], f["kind"], f["subject_id"], f["severity"], f["message"], tuple(f["proof"]),
                   tuple(sorted(f["detail"].items())), tuple(f["lots"])) for f in open_findings(engine))


def balances(engine: Engine) -> list[tuple]:
    """The mass balances of every transformation."""
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(select(t.balances)))
