"""The due-diligence projector: risks flagged and resolved, audits, and the risks inspections raise."""
from __future__ import annotations

from sqlalchemy import Connection, MetaData

from consumers.diligence import tables as t
from consumers.lineage.graph import sort_key
from consumers.projector import Projector
from consumers.sql import insert_ignore
from events.catalogue.diligence import inspection_flag_id
from events.log import RecordedEvent

#: what an inspection that reports a condition raises: (data field, category, severity, description)
INSPECTION_RISKS = (
    ("children_present", "child_labour", "high", "Children were present at the pit during an inspection."),
    ("armed_presence", "armed_group", "high", "Armed people were present at the pit during an inspection."),
    ("mercury_use", "environment", "medium", "Mercury was in use at the pit during an inspection."),
)


class DiligenceProjector(Projector):
    """Records OECD Annex II risks (reported or seen at inspections), how they were handled, and audits."""

    name = "diligence"
    version = 1
    handles = frozenset({"risk.flagged", "risk.resolved", "audit.completed", "pit.inspected"})

    @property
    def metadata(self) -> MetaData:
        """The ``dd_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the risk, resolution or audit of ``event``; inserts keyed by event id make it idempotent."""
        envelope = event.envelope
        data = envelope["data"]
        key = sort_key(envelope["occurred_at"], event.event_id)
        common = {"event_id": event.event_id, "occurred_at": envelope["occurred_at"], "sort_key": key, "hash": event.hash}
        if event.type == "risk.flagged":
            insert_ignore(tx, t.risks, [{**common, "flag_id": data["flag_id"], "subject_id": data["subject_id"],
                                         "category": data["category"], "severity": data["severity"],
                                         "description": data["description"], "raised_by": envelope["recorded_by"],
                                         "automatic": False}])
        elif event.type == "pit.inspected":
            insert_ignore(tx, t.risks, [
                {**common, "flag_id": inspection_flag_id(event.event_id, category), "subject_id": data["pit_id"],
                 "category": category, "severity": severity, "description": description,
                 "raised_by": envelope["recorded_by"], "automatic": True}
                for field, category, severity, description in INSPECTION_RISKS if data.get(field)
            ])
        elif event.type == "risk.resolved":
            insert_ignore(tx, t.resolutions, [{**common, "flag_id": data["flag_id"], "resolution": data["resolution"],
                                               "note": data["note"], "recorded_by": envelope["recorded_by"]}])
        elif event.type == "audit.completed":
            insert_ignore(tx, t.audits, [{**common, "subject_id": data["subject_id"], "auditor": data["auditor"],
                                          "result": data["result"], "report_sha256": data.get("report_sha256"),
                                          "recorded_by": envelope["recorded_by"]}])
