"""Read side of the due-diligence model: the risks and audits of a set of subjects, with their state,
and a product's due diligence (its ``flags`` and ``due_diligence`` sections, its record).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import orjson
from sqlalchemy import bindparam, Engine, select

from consumers.authority import FlagClaim, ResolutionClaim, flag_verdict
from consumers.checks.views import FindingsView
from consumers.diligence import tables as t
from consumers.diligence.record import Ancestry, ancestry_of, build_record, refinings, status_of
from consumers.diligence.responses import judge_plans, response_fields, suspended_handovers
from consumers.lineage.graph import moment_of
from consumers.sql import among
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

    def risks_for(self, subject_ids: Iterable[str], today: str | None = None) -> list[dict[str, Any]]:
        """Risks on these subjects, each with its state: ``open``, or ``resolved`` with how and when, and
        its response (OECD step 3; ``overdue`` when open past its deadline on ``today``, YYYY-MM-DD, by
        default the day of the question in UTC).

        Each flag is decided by :func:`consumers.authority.flag_verdict`: its first recorded raising
        names its subject and flagger, a reuse of its id elsewhere changes nothing, and only the
        flagger, an auditor or an admin (never the subject) can resolve it. The refused resolutions
        and conflicting raisings are listed with the risk. A risk raised again after its latest
        resolution is open again. Plans are judged by :func:`consumers.authority.response_verdict`.
        """
        wanted = set(subject_ids)
        today = today or datetime.now(timezone.utc).date().isoformat()
        with self.engine.connect() as connection:
            # the subjects of a product's ancestry run to thousands: bound as one parameter
            flag_ids = set(connection.execute(select(t.risks.c.flag_id).where(
                among(t.risks.c.subject_id, wanted))).scalars())
            raisings: dict[str, list[dict]] = {}
            resolutions: dict[str, list[dict]] = {}
            plans: dict[str, list[dict]] = {}
            for chunk in _chunks(flag_ids):
                for row in connection.execute(select(t.risks).where(t.risks.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    raisings.setdefault(row["flag_id"], []).append(dict(row))
                for row in connection.execute(select(t.resolutions).where(t.resolutions.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    resolutions.setdefault(row["flag_id"], []).append(dict(row))
                for row in connection.execute(select(t.responses).where(t.responses.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    plans.setdefault(row["flag_id"], []).append(dict(row))
            handovers = self._handovers_to({row["recorded_by"] for rows in plans.values() for row in rows})
        risks = []
        for flag_id, rows in raisings.items():
            answered = resolutions.get(flag_id, [])
            verdict = flag_verdict([_flag_claim(row) for row in rows], [_resolution_claim(row) for row in answered])
            defining = verdict.defining
            if defining is None or defining.subject_id not in wanted:
                continue
            counted = [row for row in rows if row["event_id"] not in verdict.conflicting]
            latest = max(counted, key=lambda row: row["sort_key"])  # the latest raising: its severity and words
            resolution = next((row for row in answered if row["event_id"] == verdict.resolved_by), None)
            risks.append({
                "flag_id": flag_id, "subject_id": defining.subject_id, "category": latest["category"],
                "severity": latest["severity"], "description": latest["description"], "raised_by": defining.raised_by,
                "raised_at": latest["occurred_at"], "source": "inspection" if latest["automatic"] else "reported",
                "event_id": latest["event_id"], "hash": latest["hash"], "status": "open" if verdict.is_open else "resolved",
                "resolution": None if resolution is None else {
                    "resolution": resolution["resolution"], "note": resolution["note"],
                    "recorded_by": resolution["recorded_by"], "resolved_at": resolution["occurred_at"],
                    "event_id": resolution["event_id"], "hash": resolution["hash"],
                },
                "refused_resolutions": [
                    {"event_id": row["event_id"], "recorded_by": row["recorded_by"], "resolution": row["resolution"],
                     "resolved_at": row["occurred_at"], "reason": verdict.refused[row["event_id"]]}
                    for row in sorted(answered, key=lambda row: row["sort_key"]) if row["event_id"] in verdict.refused],
                "conflicting_raisings": list(verdict.conflicting),
                **response_fields(plans.get(flag_id, []),
                                  judge_plans(defining, plans.get(flag_id, []), handovers.get(defining.subject_id, ())),
                                  verdict.is_open, today),
                "_sort": defining.moment,
            })
        risks.sort(key=lambda risk: (risk.pop("_sort"), risk["flag_id"]))
        return risks

    def _handovers_to(self, buyers: set[str]) -> dict[str, list[dict[str, Any]]]:
        """Hand-overs to these organisations, by every id they could make a buyer of a flag's subject:
        the lot handed over and its giver."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(buyers):
                for row in connection.execute(select(t.handovers).where(
                        t.handovers.c.to_id.in_(bindparam("ids", chunk, expanding=True)))).mappings():
                    found.setdefault(row["lot_id"], []).append(dict(row))
                    if row["from_id"] != row["lot_id"]:
                        found.setdefault(row["from_id"], []).append(dict(row))
        return found

    def raisings(self, flag_ids: Iterable[str]) -> dict[str, set[str]]:
        """The event ids raising each of these flag ids (reported or by an inspection), as projected so far."""
        found: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(flag_ids):
                for flag_id, event_id in connection.execute(select(t.risks.c.flag_id, t.risks.c.event_id).where(
                        t.risks.c.flag_id.in_(bindparam("ids", chunk, expanding=True)))):
                    found.setdefault(flag_id, set()).add(event_id)
        return found

    def audits_for(self, subject_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Audits of these subjects, in the order they happened."""
        with self.engine.connect() as connection:
            audits = [dict(row) for row in connection.execute(select(t.audits).where(
                among(t.audits.c.subject_id, subject_ids))).mappings()]
        audits.sort(key=lambda row: row["sort_key"])
        return [{key: value for key, value in row.items() if key != "sort_key"} for row in audits]


def _flag_claim(row: Mapping[str, Any]) -> FlagClaim:
    return FlagClaim(event_id=row["event_id"], raised_by=row["raised_by"], subject_id=row["subject_id"],
                     recorded_at=row["recorded_at"], moment=moment_of(row["sort_key"]))


def _resolution_claim(row: Mapping[str, Any]) -> ResolutionClaim:
    return ResolutionClaim(event_id=row["event_id"], recorded_by=row["recorded_by"],
                           attested_role=row["attested_role"], moment=moment_of(row["sort_key"]))


def _with_timeline(provenance: dict[str, Any]) -> dict[str, Any]:
    """The provenance with its timeline as a list (the API may hand sections a pre-serialised one)."""
    if isinstance(provenance["timeline"], list):
        return provenance
    return {**provenance, "timeline": orjson.loads(orjson.dumps(provenance["timeline"]))}


@dataclass(frozen=True)
class Gathered:
    """What a product's due diligence is made of: its ancestry and what the read models say about it."""

    ancestry: Ancestry
    findings: list[dict[str, Any]]
    risks: list[dict[str, Any]]
    audits: list[dict[str, Any]]
    balances: dict[str, dict[str, Any]]
    #: hand-overs by a supplier under a suspend or disengage response (``responses.suspended_handovers``)
    suspended: list[dict[str, Any]]


class DueDiligenceView:
    """A product's due diligence at query time: the findings, risks and audits of its whole ancestry."""

    def __init__(self, findings: FindingsView, diligence: DiligenceView):
        self.findings = findings
        self.diligence = diligence

    def _gather(self, provenance: dict[str, Any], today: str | None = None) -> Gathered:
        """The ancestry of the product and the findings, risks, audits and refining balances on it, and
        the hand-overs of suspended suppliers in it (risks overdue on ``today``, by default the day in UTC)."""
        provenance = _with_timeline(provenance)
        ancestry = ancestry_of(provenance)
        # findings on the ancestry's lots and pieces, and on its organisations, sites, pits and miners
        # (a refused resolution of a flag on them, a conflicting registration)
        findings = self.findings.for_nodes(ancestry.tainted_by | ancestry.subjects)
        risks = self.diligence.risks_for(ancestry.subjects, today)
        audits = self.diligence.audits_for(ancestry.subjects)
        refining_events = [n["created_by_event"] for n in provenance["lineage"]["nodes"]
                           if n["kind"] == "refining" and n.get("created_by_event")]
        balances = self.findings.balances(refining_events)
        suspended = suspended_handovers(risks, provenance["timeline"])
        return Gathered(ancestry, findings, risks, audits, balances, suspended)

    def flag_raisings(self, flag_ids: Iterable[str]) -> dict[str, set[str]]:
        """The event ids already raising each of these flag ids (for capture's 409 on a reused flag id)."""
        return self.diligence.raisings(flag_ids)

    def section(self, product_id: str, provenance: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The ``flags`` (open findings of the ancestry) and ``due_diligence`` sections of a product's provenance."""
        found = self._gather(provenance)
        status, reasons = status_of(found.findings, found.risks, found.audits, found.suspended)
        return {
            "flags": [finding for finding in found.findings if finding["status"] == "open"],
            "due_diligence": {"status": status, "reasons": reasons, "risks": found.risks, "audits": found.audits,
                              "refinings": refinings(provenance, found.balances),
                              "suspended_handovers": found.suspended},
        }

    def record(self, provenance: dict[str, Any], generated_at: str) -> dict[str, Any]:
        """The due-diligence record a jeweller files for a regulator (see ``record.build_record``)."""
        found = self._gather(provenance, generated_at[:10])
        known = self.findings.actors(found.ancestry.organisations | found.ancestry.miners)
        return build_record(provenance, found.ancestry, found.findings, found.risks, found.audits, found.balances,
                            known, generated_at, found.suspended)
