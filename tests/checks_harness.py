"""Project events straight into a fresh in-memory read model (no log, no HTTP) and read the findings."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool

from consumers.checks import tables as t
from consumers.checks.projector import ChecksProjector
from consumers.checks.views import FindingsView
from events.envelope import prepare
from events.log import RecordedEvent


def recorded(envelope: dict, position: int) -> RecordedEvent:
    """An envelope as the log would hand it to a projector."""
    new = prepare(envelope)
    return RecordedEvent(position, new.event_id, new.type, new.stream_id, "2026-03-02T00:00:00Z", new.hash, new.body)


def project_checks(events: list[dict], projector: ChecksProjector | None = None, batch: int = 500,
                   engine: Engine | None = None) -> Engine:
    """A read model built by the checks projector from ``events`` in this arrival order, in batches
    of ``batch`` events as the runner applies them."""
    engine = engine or create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    projector = projector or ChecksProjector()
    projector.metadata.create_all(engine)
    handled = [event for event in (recorded(envelope, position) for position, envelope in enumerate(events, start=1))
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
