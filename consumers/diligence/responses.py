"""OECD step 3 (manage the risks): the response planned for each risk, whether it is overdue, and the
hand-overs of a supplier under a ``suspend`` or ``disengage`` response.

Pure functions over the rows of the due-diligence tables and a product's provenance. Two of their
answers depend on the time of the question, not only on the events: a risk is overdue once the day
of the question is past its response's deadline, so the same record turns red with time alone.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from consumers.authority import FlagClaim, ResponseClaim, ResponseVerdict, response_verdict
from consumers.lineage.graph import moment_of, sort_key
from events.catalogue.vocabulary import SUSPENDING_STRATEGIES


def bought_flagged_gold(flag: FlagClaim, plan: Mapping[str, Any], handovers: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the planner of ``plan`` bought the flagged gold before planning: a hand-over recorded by its
    giver, to the planner, of the flagged lot or piece or by the flagged supplier, at or before the plan."""
    moment = moment_of(plan["sort_key"])
    return any(row["to_id"] == plan["recorded_by"] and row["recorded_by"] == row["from_id"]
               and flag.subject_id in (row["lot_id"], row["from_id"]) and moment_of(row["sort_key"]) <= moment
               for row in handovers)


def judge_plans(flag: FlagClaim | None, plans: list[Mapping[str, Any]],
                handovers: Iterable[Mapping[str, Any]]) -> ResponseVerdict:
    """Which of a flag's plans counts (see ``consumers.authority.response_verdict``)."""
    handovers = list(handovers)
    claims = [ResponseClaim(event_id=row["event_id"], recorded_by=row["recorded_by"],
                            attested_role=row["attested_role"], moment=moment_of(row["sort_key"]),
                            buyer=flag is not None and bought_flagged_gold(flag, row, handovers))
              for row in plans]
    return response_verdict(flag, claims)


def response_fields(plans: list[Mapping[str, Any]], verdict: ResponseVerdict, is_open: bool,
                    today: str) -> dict[str, Any]:
    """The ``response`` (the counted plan, ``overdue`` when the risk is open past its deadline on
    ``today``, YYYY-MM-DD) and the ``refused_responses`` of a risk."""
    counted = next((row for row in plans if row["event_id"] == verdict.counted), None)
    return {
        "response": None if counted is None else {
            "strategy": counted["strategy"], "deadline": counted["deadline"], "measures": counted["measures"],
            "planned_by": counted["recorded_by"], "planned_at": counted["occurred_at"],
            "event_id": counted["event_id"], "hash": counted["hash"],
            "overdue": is_open and today > counted["deadline"],
        },
        "refused_responses": [
            {"event_id": row["event_id"], "recorded_by": row["recorded_by"], "strategy": row["strategy"],
             "planned_at": row["occurred_at"], "reason": verdict.refused[row["event_id"]]}
            for row in sorted(plans, key=lambda row: row["sort_key"]) if row["event_id"] in verdict.refused],
    }


def suspended_handovers(risks: Iterable[Mapping[str, Any]], timeline: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The hand-overs of a product's ancestry by a supplier under a ``suspend`` or ``disengage`` response,
    made at or after the plan: their buyers' attention, naming the plan.

    A resolution ``mitigated`` or ``unfounded`` lifts the suspension from its time on; ``disengaged``
    does not (gold from a supplier one disengaged from is the thing to look at).
    """
    suspensions = [risk for risk in risks
                   if risk.get("response") and risk["response"]["strategy"] in SUSPENDING_STRATEGIES]
    if not suspensions:
        return []  # the usual case: nothing to walk the timeline for
    found = []
    for event in timeline:
        if event.get("type") != "lot.transferred":
            continue
        moment = moment_of(sort_key(event["occurred_at"], event["event_id"]))
        for risk in suspensions:
            plan = risk["response"]
            resolution = risk.get("resolution")
            if resolution and resolution["resolution"] == "disengaged":
                resolution = None
            if (event["data"]["from_id"] != risk["subject_id"]
                    or moment < moment_of(sort_key(plan["planned_at"], plan["event_id"]))
                    or (resolution and moment >= moment_of(sort_key(resolution["resolved_at"], resolution["event_id"])))):
                continue
            found.append({
                "flag_id": risk["flag_id"], "plan_event_id": plan["event_id"], "strategy": plan["strategy"],
                "planned_by": plan["planned_by"], "planned_at": plan["planned_at"], "supplier": risk["subject_id"],
                "lot_id": event["data"]["lot_id"], "buyer": event["data"]["to_id"], "event_id": event["event_id"],
                "handed_over_at": event["occurred_at"],
            })
    return found


def responses_step(risks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OECD step 3 in the record: each open risk with its response (``strategy`` None: none planned yet)."""
    out = []
    for risk in risks:
        if risk["status"] != "open":
            continue
        plan = risk.get("response") or {}
        out.append({"flag_id": risk["flag_id"], "subject_id": risk["subject_id"], "category": risk["category"],
                    "severity": risk["severity"], "strategy": plan.get("strategy"), "deadline": plan.get("deadline"),
                    "measures": plan.get("measures"), "planned_by": plan.get("planned_by"),
                    "planned_at": plan.get("planned_at"), "overdue": bool(plan.get("overdue"))})
    return out
