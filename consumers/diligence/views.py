"""Read side of the due-diligence model: the risks and audits of a set of subjects, with their state,
and a product's due diligence (its ``flags`` and ``due_diligence`` sections, its record).
"""
from __future__ import annotations

from typing import Any, Iterable

import orjson
from sqlalchemy import bindparam, Engine, select

from consumers.checks.views import FindingsView
from consumers.diligence import tables as t
from consumers.diligence.record import Ancestry, ancestry_of, build_record, refinings, status_of
from services.auth import Principal

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


def _with_timeline(provenance: dict[str, Any]) -> dict[str, Any]:
    """The provenance with its timeline as a list (the API may hand sections a pre-serialised one)."""
    if isinstance(provenance["timeline"], list):
        return provenance
    return {**provenance, "timeline": orjson.loads(orjson.dumps(provenance["timeline"]))}


class DueDiligenceView:
    """A product's due diligence at query time: the findings, risks and audits of its whole ancestry."""

    def __init__(self, findings: FindingsView, diligence: DiligenceView):
        self.findings = findings
        self.diligence = diligence

    def _gather(self, provenance: dict[str, Any]) -> tuple[Ancestry, list[dict], list[dict], list[dict], dict[str, dict]]:
        """The ancestry of the product and the findings, risks, audits and refining balances on it."""
        ancestry = ancestry_of(_with_timeline(provenance))
        findings = self.findings.for_nodes(ancestry.tainted_by)
        risks = self.diligence.risks_for(ancestry.subjects)
        audits = self.diligence.audits_for(ancestry.subjects)
        refining_events = [n["created_by_event"] for n in provenance["lineage"]["nodes"]
                           if n["kind"] == "refining" and n.get("created_by_event")]
        balances = self.findings.balances(refining_events)
        return ancestry, findings, risks, audits, balances

    def section(self, product_id: str, provenance: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The ``flags`` (open findings of the ancestry) and ``due_diligence`` sections of a product's provenance."""
        _, findings, risks, audits, balances = self._gather(provenance)
        status, reasons = status_of(findings, risks, audits)
        return {
            "flags": [finding for finding in findings if finding["status"] == "open"],
            "due_diligence": {"status": status, "reasons": reasons, "risks": risks, "audits": audits,
                              "refinings": refinings(provenance, balances)},
        }

    def record(self, provenance: dict[str, Any], generated_at: str) -> dict[str, Any]:
        """The due-diligence record a jeweller files for a regulator (see ``record.build_record``)."""
        ancestry, findings, risks, audits, balances = self._gather(provenance)
        known = self.findings.actors(ancestry.organisations | ancestry.miners)
        return build_record(provenance, ancestry, findings, risks, audits, balances, known, generated_at)
