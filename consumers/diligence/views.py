"""Read side of the due-diligence model: the risks and audits of a set of subjects, with their state."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import bindparam, Engine, select

from consumers.diligence import tables as t

_CHUNK = 5000


def _chunks(ids: Iterable[str]):
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


class DiligenceView:
    """Queries over the ``dd_*`` tables."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def risks_for(self, subject_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Risks on these subjects, each with its state: ``open``, or ``resolved`` with how and when.

        A risk flagged again after its latest resolution is open again.
        """
        with self.engine.connect() as connection:
            flag_ids: set[str] = set()
            for chunk in _chunks(subject_ids):
                flag_ids.update(connection.execute(
                    select(t.risks.c.flag_id).where(t.risks.c.subject_id.in_(bindparam("ids", chunk, expanding=True)))).scalars())
            flags: dict[str, dict] = {}
            resolved: dict[str, dict] = {}
            for chunk in _chunks(flag_ids):
                for row in connection.execute(select(t.risks).where(t.risks.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    if row["flag_id"] not in flags or row["sort_key"] > flags[row["flag_id"]]["sort_key"]:
                        flags[row["flag_id"]] = dict(row)
                for row in connection.execute(select(t.resolutions).where(t.resolutions.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    if row["flag_id"] not in resolved or row["sort_key"] > resolved[row["flag_id"]]["sort_key"]:
                        resolved[row["flag_id"]] = dict(row)
        wanted = set(subject_ids)
        risks = []
        for flag_id, flag in sorted(flags.items(), key=lambda item: (item[1]["sort_key"], item[0])):
            if flag["subject_id"] not in wanted:  # flagged again on another subject
                continue
            resolution = resolved.get(flag_id)
            is_open = resolution is None or resolution["sort_key"] < flag["sort_key"]
            risks.append({
                "flag_id": flag_id, "subject_id": flag["subject_id"], "category": flag["category"],
                "severity": flag["severity"], "description": flag["description"], "raised_by": flag["raised_by"],
                "raised_at": flag["occurred_at"], "source": "inspection" if flag["automatic"] else "reported",
                "event_id": flag["event_id"], "hash": flag["hash"], "status": "open" if is_open else "resolved",
                "resolution": None if is_open else {
                    "resolution": resolution["resolution"], "note": resolution["note"],
                    "recorded_by": resolution["recorded_by"], "resolved_at": resolution["occurred_at"],
                    "event_id": resolution["event_id"], "hash": resolution["hash"],
                },
            })
        return risks

    def audits_for(self, subject_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Audits of these subjects, in the order they happened."""
        audits = []
        with self.engine.connect() as connection:
            for chunk in _chunks(subject_ids):
                audits += [dict(row) for row in connection.execute(
                    select(t.audits).where(t.audits.c.subject_id.in_(bindparam("ids", chunk, expanding=True)))).mappings()]
        audits.sort(key=lambda row: row["sort_key"])
        return [{key: value for key, value in row.items() if key != "sort_key"} for row in audits]
