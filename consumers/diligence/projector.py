"""The due-diligence projector: risks flagged and resolved, responses planned, audits, the risks inspections
raise, and the hand-overs of gold (who bought the flagged gold; what a suspended supplier sold later)."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, MetaData

from consumers.batch import BatchWrites
from consumers.diligence import tables as t
from consumers.lineage.graph import sort_key
from consumers.projector import Projector
from events.catalogue.diligence import inspection_flag_id, inspection_risks
from events.log import RecordedEvent

class DiligenceProjector(Projector):
    """Records OECD Annex II risks (reported or seen at inspections), how they were handled, and audits."""

    name = "diligence"
    #: 2: who may resolve a flag (the server's clock and the attesting key's role are kept); 3: responses
    #: planned (OECD step 3) and the hand-overs of gold
    version = 3
    handles = frozenset({"risk.flagged", "risk.resolved", "risk.response_planned", "audit.completed", "pit.inspected",
                         "lot.transferred"})

    @property
    def metadata(self) -> MetaData:
        """The ``dd_*`` tables."""
        return t.metadata

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Record the risk, resolution or audit of ``event``; inserts keyed by event id make it idempotent."""
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Record every event of a batch in one statement per table (the first row of a key wins, as one by one)."""
        writes = BatchWrites()
        for event in events:
            self._gather(writes, event)
        writes.flush(tx)

    def _gather(self, writes: BatchWrites, event: RecordedEvent) -> None:
        """Add the rows of one event to ``writes``."""
        envelope = event.envelope
        data = envelope["data"]
        key = sort_key(envelope["occurred_at"], event.event_id)
        common = {"event_id": event.event_id, "occurred_at": envelope["occurred_at"], "sort_key": key, "hash": event.hash}
        if event.type in ("risk.flagged", "pit.inspected"):
            common["recorded_at"] = event.recorded_at
        if event.type == "risk.flagged":
            writes.insert_ignore(t.risks, [{**common, "flag_id": data["flag_id"], "subject_id": data["subject_id"],
                                            "category": data["category"], "severity": data["severity"],
                                            "description": data["description"], "raised_by": envelope["recorded_by"],
                                            "automatic": False}])
        elif event.type == "pit.inspected":
            writes.insert_ignore(t.risks, [
                {**common, "flag_id": inspection_flag_id(event.event_id, category), "subject_id": data["pit_id"],
                 "category": category, "severity": severity, "description": description,
                 "raised_by": envelope["recorded_by"], "automatic": True}
                for category, severity, description in inspection_risks(data)
            ])
        elif event.type == "risk.resolved":
            writes.insert_ignore(t.resolutions, [{**common, "flag_id": data["flag_id"], "resolution": data["resolution"],
                                                  "note": data["note"], "recorded_by": envelope["recorded_by"],
                                                  "attested_role": event.attested_by.role if event.attested_by else None}])
        elif event.type == "risk.response_planned":
            writes.insert_ignore(t.responses, [{**common, "flag_id": data["flag_id"], "strategy": data["strategy"],
                                                "deadline": data["deadline"], "measures": data.get("measures"),
                                                "recorded_by": envelope["recorded_by"],
                                                "attested_role": event.attested_by.role if event.attested_by else None}])
        elif event.type == "lot.transferred":
            writes.insert_ignore(t.handovers, [{"event_id": event.event_id, "lot_id": data["lot_id"],
                                                "from_id": data["from_id"], "to_id": data["to_id"],
                                                "recorded_by": envelope["recorded_by"], "sort_key": key}])
        elif event.type == "audit.completed":
            writes.insert_ignore(t.audits, [{**common, "subject_id": data["subject_id"], "auditor": data["auditor"],
                                             "result": data["result"], "report_sha256": data.get("report_sha256"),
                                             "recorded_by": envelope["recorded_by"]}])
