"""A product's due diligence, computed at query time from its provenance, findings, risks and audits.

Pure functions: the provenance answer (lineage and timeline) gives the ancestry; the views give the
findings, risks and audits on it; these functions decide the status and assemble the record a
jeweller files for a regulator (OECD five-step framework).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

from consumers.checks.facts import month_key, month_of
from consumers.checks.findings import RED_KINDS
from consumers.diligence.responses import responses_step


@dataclass(frozen=True)
class Ancestry:
    """Everything a product's gold passed through: lots and products, pits, sites, organisations, miners."""

    nodes: frozenset[str]
    pits: frozenset[str]
    sites: frozenset[str]
    organisations: frozenset[str]
    miners: frozenset[str]
    #: the pit-months and miner-months its production lots belong to, and the months its buyers bought it in
    #: (capacity findings taint those)
    months: frozenset[str] = frozenset()

    @property
    def tainted_by(self) -> frozenset[str]:
        """Every id a finding's links may name to taint this product."""
        return self.nodes | self.months

    @property
    def subjects(self) -> frozenset[str]:
        """Every id a risk or an audit may name."""
        return self.nodes | self.pits | self.sites | self.organisations | self.miners


def ancestry_of(provenance: dict[str, Any]) -> Ancestry:
    """The ancestry of a product, read from its provenance answer."""
    nodes = provenance["lineage"]["nodes"]
    organisations: set[str] = set()
    miners: set[str] = set()
    months: set[str] = set()
    month_of_date: dict[str, str] = {}  # a field time's month is that of its date (in its own zone)
    for event in provenance["timeline"]:
        kind = event.get("type")
        if kind == "event.retracted" or event.get("retracted_by_event"):
            continue  # a retracted event (and its retraction) names no party of the gold's path
        organisations.add(event["recorded_by"])
        if kind != "lot.transferred" and kind != "production.recorded":
            continue
        occurred_at = event["occurred_at"]
        month = month_of_date.get(occurred_at[:10])
        if month is None:
            month = month_of_date[occurred_at[:10]] = month_of(occurred_at)
        data = event["data"]
        if kind == "lot.transferred":
            organisations.add(data["from_id"])
            organisations.add(data["to_id"])
            months.add(month_key("coop", month, data["to_id"]))  # what its buyer bought then
        else:
            miners.update(data["miner_ids"])
            months.add(month_key("pit", month, data["pit_id"]))
            months.update(month_key("miner", month, miner) for miner in data["miner_ids"])
    organisations -= miners  # a miner selling to a cooperative appears as ``from_id``
    pits: set[str] = set()
    sites: set[str] = set()
    for node in nodes:
        if node.get("pit_id"):
            pits.add(node["pit_id"])
        if node.get("site_id"):
            sites.add(node["site_id"])
    return Ancestry(
        nodes=frozenset(node["id"] for node in nodes),
        pits=frozenset(pits),
        sites=frozenset(sites),
        organisations=frozenset(organisations),
        miners=frozenset(miners),
        months=frozenset(months),
    )


def status_of(findings: Iterable[dict[str, Any]], risks: Iterable[dict[str, Any]],
              audits: Iterable[dict[str, Any]] = (), suspended: Iterable[dict[str, Any]] = ()) -> tuple[str, list[dict[str, Any]]]:
    """``red``, ``attention`` or ``clear``, and the reasons (open findings and risks, overdue responses,
    failed audits, hand-overs by a suspended supplier).

    Red: an open high-severity risk, an open risk past its response's deadline, or an open finding of a
    red kind (``RED_KINDS``: double use, mass gain, custody break, suspected child labour). Attention:
    anything else open, a subject whose latest audit failed, or a lot handed over by a supplier under a
    suspend or disengage response (``suspended``). Clear otherwise.
    """
    reasons: list[dict[str, Any]] = []
    for finding in findings:
        if finding["status"] == "open":
            reasons.append({"source": "finding", "id": finding["finding_id"], "kind": finding["kind"],
                            "subject_id": finding["subject_id"], "severity": finding["severity"],
                            "red": finding["kind"] in RED_KINDS, "message": finding["message"]})
    for risk in risks:
        if risk["status"] == "open":
            reasons.append({"source": "risk", "id": risk["flag_id"], "kind": risk["category"],
                            "subject_id": risk["subject_id"], "severity": risk["severity"],
                            "red": risk["severity"] == "high", "message": risk["description"]})
            plan = risk.get("response")
            if plan and plan["overdue"]:
                reasons.append({"source": "risk", "id": risk["flag_id"], "kind": "response_overdue",
                                "subject_id": risk["subject_id"], "severity": risk["severity"], "red": True,
                                "message": f"The response to risk {risk['flag_id']} ({plan['strategy']}, planned by "
                                           f"{plan['planned_by']}) was due by {plan['deadline']}; the risk is still open."})
    for handover in suspended:
        reasons.append({"source": "response", "id": handover["plan_event_id"], "kind": "supplier_suspended",
                        "subject_id": handover["lot_id"], "severity": "medium", "red": False,
                        "message": f"{handover['supplier']} handed {handover['lot_id']} to {handover['buyer']} on "
                                   f"{handover['handed_over_at'][:10]}, after {handover['planned_by']} planned to "
                                   f"{handover['strategy']} (risk {handover['flag_id']}, {handover['planned_at'][:10]})."})
    latest: dict[str, dict[str, Any]] = {}
    for audit in audits:  # in the order they happened: the last one of a subject counts
        latest[audit["subject_id"]] = audit
    for subject, audit in sorted(latest.items()):
        if audit["result"] == "fail":
            reasons.append({"source": "audit", "id": audit["event_id"], "kind": "audit_failed", "subject_id": subject,
                            "severity": "medium", "red": False,
                            "message": f"The latest audit of {subject} by {audit['auditor']} failed."})
    reasons.sort(key=lambda r: (not r["red"], r["source"], r["kind"], r["subject_id"], r["id"]))
    status = "red" if any(r["red"] for r in reasons) else "attention" if reasons else "clear"
    return status, reasons


def refinings(provenance: dict[str, Any], balances: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The recovery ratio of every refining in the ancestry."""
    out = []
    for node in provenance["lineage"]["nodes"]:
        if node["kind"] != "refining" or not node.get("created_by_event"):
            continue
        balance = balances.get(node["created_by_event"], {})
        out.append({
            "node_id": node["id"], "event_id": node["created_by_event"], "refiner": node["created_by"],
            "refined_at": node["created_at"], "basis": balance.get("basis"),
            "input_g": _g(balance.get("fine_in_g") if balance.get("basis") == "fine_gold" else balance.get("input_g")),
            "output_g": _g(balance.get("fine_out_g") if balance.get("basis") == "fine_gold" else balance.get("output_g")),
            "recovery": None if balance.get("recovery") is None else round(balance["recovery"], 6),
        })
    return out


def _g(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def actors(ancestry: Ancestry, provenance: dict[str, Any], known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every organisation with its role and country and what it did; miners counted, not named."""
    did: dict[str, set[str]] = {}
    for event in provenance["timeline"]:
        did.setdefault(event["recorded_by"], set()).add(event["type"])
        if event["type"] == "lot.transferred":
            did.setdefault(event["data"]["to_id"], set()).add("lot.transferred (received)")
    organisations = []
    for org_id in sorted(ancestry.organisations):
        info = known.get(org_id, {})
        organisations.append({
            "org_id": org_id, "registered": info.get("kind") == "organisation", "name": info.get("name"),
            "role": info.get("role"), "country": info.get("country"), "recorded": sorted(did.get(org_id, ())),
        })
    registered = sorted(m for m in ancestry.miners if known.get(m, {}).get("kind") == "miner")
    return {
        "organisations": organisations,
        "miners": {"count": len(ancestry.miners), "registered": len(registered),
                   "unregistered_ids": sorted(ancestry.miners - set(registered))},
        "pits": sorted(ancestry.pits),
    }


def integrity(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The hashes of the events behind the record and one digest over them all (in the order listed)."""
    listed = [{"event_id": e["event_id"], "type": e["type"], "hash": e["hash"]} for e in events]
    digest = hashlib.sha256("\n".join(e["hash"] for e in listed).encode()).hexdigest()
    return {
        "algorithm": "SHA-256 of each event's RFC 8785 canonical JSON (without recorded_at, position, hash, "
                     "attested_by, signed_by, retracted_by_event and signature)",
        "signature_algorithm": "Ed25519 over the 32 raw bytes of an event's hash, by a key its organisation "
                               "registered (organization.key_registered); signed_by names it where verified",
        "digest_algorithm": "SHA-256 of the listed hashes joined by newlines, in the order listed",
        "digest": digest,
        "events": listed,
    }


def build_record(provenance: dict[str, Any], ancestry: Ancestry, findings: list[dict[str, Any]],
                 risks: list[dict[str, Any]], audits: list[dict[str, Any]], balances: dict[str, dict[str, Any]],
                 known: dict[str, dict[str, Any]], generated_at: str,
                 suspended: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """The due-diligence record of a product, organised by the OECD five steps (step 3, managing the
    risks: ``risk_responses`` and ``suspended_handovers``)."""
    status, reasons = status_of(findings, risks, audits, suspended)
    chain = [{
        "event_id": e["event_id"], "type": e["type"], "occurred_at": e["occurred_at"], "recorded_by": e["recorded_by"],
        "data": e.get("data", {}), "evidence": e.get("evidence", []), "hash": e["hash"],
        "attested_by": e.get("attested_by"), "signature": e.get("signature"), "signed_by": e.get("signed_by"),
    } for e in provenance["timeline"]]
    diligence_events = ([{"event_id": r["event_id"], "type": "risk.flagged" if r["source"] == "reported" else "pit.inspected",
                          "hash": r["hash"]} for r in risks]
                        + [{"event_id": r["resolution"]["event_id"], "type": "risk.resolved", "hash": r["resolution"]["hash"]}
                           for r in risks if r["resolution"]]
                        + [{"event_id": r["response"]["event_id"], "type": "risk.response_planned",
                            "hash": r["response"]["hash"]} for r in risks if r.get("response")]
                        + [{"event_id": a["event_id"], "type": "audit.completed", "hash": a["hash"]} for a in audits])
    return {
        "product": provenance["product"],
        "generated_at": generated_at,
        "status": status,
        "reasons": reasons,
        "origin": provenance["origin"],
        "origin_basis": provenance["origin_basis"],
        "actors": actors(ancestry, provenance, known),
        "chain_of_custody": chain,
        "refinings": refinings(provenance, balances),
        "findings": findings,
        "risks": risks,
        "risk_responses": responses_step(risks),
        "suspended_handovers": list(suspended),
        "audits": audits,
        "integrity": integrity(chain + diligence_events),
    }
