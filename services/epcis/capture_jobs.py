"""EPCIS capture: a document's events mapped to v1 events and recorded through the capture service,
and the capture job that says what became of each.

The mapped events go through ``CaptureService`` exactly as a ``POST /v1/events`` would (the same
rights, validation and attribution). The whole batch is tried first; if it is refused (a 403, 409
or 422 refuses a batch whole), each event is tried alone, so that one bad event does not hide what
the others became. A job is kept in the read-model database (not a projection: never rebuilt).
"""
from __future__ import annotations

import json
import uuid
from contextlib import suppress
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, select

from services.auth import Principal
from services.database import SCHEMA_LOCK, serialise, write_transaction
from services.epcis.documents import check_document, document_events
from services.epcis.importing import Mapped, read_document
from services.errors import Conflict, Forbidden, InvalidRequest, OretrailError, TooLarge

metadata = MetaData()
capture_jobs = Table(
    "epcis_capture_jobs", metadata,
    Column("capture_id", String(36), primary_key=True),
    Column("org_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("job", Text, nullable=False),  # the job as GET /epcis/capture/{captureID} answers it
)


class Capture(Protocol):
    """What records v1 events (``services.capture.CaptureService``)."""

    def capture(self, principal: Principal, payload: Any) -> list[Any]:
        """Record ``{"events": [...]}`` for ``principal``, all or nothing."""


class CaptureJobs:
    """The store of capture jobs."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_tables(self) -> None:
        """Create the jobs table if missing."""
        with write_transaction(self.engine) as connection:
            serialise(connection, SCHEMA_LOCK)
            metadata.create_all(connection)

    def save(self, principal: Principal, job: dict[str, Any]) -> None:
        """Keep ``job`` (its ``captureID`` is new)."""
        with write_transaction(self.engine) as connection:
            connection.execute(capture_jobs.insert().values(
                capture_id=job["captureID"], org_id=principal.org_id, created_at=datetime.now(timezone.utc),
                job=json.dumps(job)))

    def get(self, principal: Principal, capture_id: str) -> dict[str, Any] | None:
        """A job, for its own organisation's keys or an admin's; None otherwise."""
        with self.engine.connect() as connection:
            row = connection.execute(select(capture_jobs.c.org_id, capture_jobs.c.job)
                                     .where(capture_jobs.c.capture_id == capture_id)).first()
        if row is None or (row.org_id != principal.org_id and not principal.is_admin):
            return None
        return json.loads(row.job)


class EpcisCapture:
    """Imports EPCIS documents through the capture service and keeps a job for each."""

    def __init__(self, capture: Capture, jobs: CaptureJobs, max_events: int):
        self.capture = capture
        self.jobs = jobs
        self.max_events = max_events

    def import_document(self, principal: Principal, document: Any) -> dict[str, Any]:
        """Check, map and record ``document``; the job (already stored) saying what became of each event.

        Raises ``InvalidDocument`` (nothing recorded) if the schema refuses it, ``TooLarge`` if it has
        more events than a capture batch may."""
        check_document(document)
        events = document_events(document)
        if len(events) > self.max_events:
            raise TooLarge(f"At most {self.max_events} events per document; this one has {len(events)}.",
                           {"epcisBody": [f"{len(events)} events."]})
        mapped = read_document(document, events, principal.org_id)
        outcomes = self._record(principal, [item for item in mapped if item.envelope is not None])
        entries = [self._entry(item, outcomes.get(item.index)) for item in mapped]
        job = {"captureID": str(uuid.uuid4()), "running": False,
               "success": all(entry["status"] in ("recorded", "duplicate") for entry in entries),
               "captureErrorBehaviour": "proceed", "createdAt": datetime.now(timezone.utc).isoformat(),
               "events": entries,
               "errors": [f"event {entry['index']}: {entry['reason']}" for entry in entries if entry.get("reason")]}
        self.jobs.save(principal, job)
        return job

    def _record(self, principal: Principal, mapped: list[Mapped]) -> dict[int, dict[str, Any]]:
        """What each mapped event became, by its index in the document."""
        if not mapped:
            return {}
        with suppress(InvalidRequest, Forbidden, Conflict):  # one refused event refuses the batch: then one by one
            results = self.capture.capture(principal, {"events": [item.envelope for item in mapped]})
            return {item.index: {"status": result.status, "position": result.position}
                    for item, result in zip(mapped, results)}
        outcomes = {}
        for item in mapped:
            try:
                (result,) = self.capture.capture(principal, {"events": [item.envelope]})
                outcomes[item.index] = {"status": result.status, "position": result.position}
            except (InvalidRequest, Forbidden, Conflict) as error:
                outcomes[item.index] = {"status": "refused", "reason": _reason(error)}
        return outcomes

    @staticmethod
    def _entry(item: Mapped, outcome: dict[str, Any] | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": item.index, "eventID": item.event_id}
        if item.envelope is None:
            return {**entry, "status": "not_mappable", "v1_events": [], "reason": item.reason}
        assert outcome is not None
        v1 = {"event_id": item.envelope["event_id"], "type": item.envelope["type"]}
        if outcome["status"] == "refused":
            return {**entry, "status": "refused", "v1_events": [v1], "reason": outcome["reason"]}
        return {**entry, "status": "recorded" if outcome["status"] == "accepted" else outcome["status"],
                "v1_events": [{**v1, "position": outcome["position"]}]}


def _reason(error: OretrailError) -> str:
    """A refusal of the capture service as one line: its message and where (the v1 field paths)."""
    details = error.details if isinstance(error.details, dict) else {}
    where = "; ".join(f"{path.removeprefix('events.0.')}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                      for path, messages in list(details.items())[:10])
    return f"{error.code}: {error.message}" + (f" ({where})" if where else "")
