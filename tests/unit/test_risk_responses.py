"""OECD step 3 as pure functions: who may plan a response, which plan counts, when it is overdue, and
which hand-overs of a suspended supplier need attention."""
from __future__ import annotations

from consumers.authority import FlagClaim, ResponseClaim, response_refusal, response_verdict
from consumers.diligence.record import status_of
from consumers.diligence.responses import bought_flagged_gold, response_fields, suspended_handovers

FLAG = FlagClaim(event_id="e-flag", raised_by="ngo-x", subject_id="coop-a", recorded_at="2026-03-01T00:00:00Z",
                 moment="2026-03-01T00:00:00.000000Z")


def claim(event_id: str, by: str, moment: str = "2026-03-05T00:00:00.000000Z", role: str | None = "exporter",
          buyer: bool = False) -> ResponseClaim:
    return ResponseClaim(event_id=event_id, recorded_by=by, attested_role=role, moment=moment, buyer=buyer)


def test_the_flagger_a_buyer_and_an_admin_may_plan_the_subject_and_a_stranger_may_not():
    assert response_refusal(FLAG, claim("a", "ngo-x", role="ngo")) is None
    assert response_refusal(FLAG, claim("b", "exporter", buyer=True)) is None
    assert response_refusal(FLAG, claim("c", "exporter", role="admin")) is None
    assert response_refusal(FLAG, claim("d", "coop-b")) == "unauthorised_response"
    assert response_refusal(FLAG, claim("e", "coop-a", role="admin", buyer=True)) == "self_response"


def test_the_latest_counted_plan_counts_whatever_the_order_they_arrive_in():
    plans = [claim("p1", "ngo-x", "2026-03-05T00:00:00.000000Z"), claim("p2", "coop-b", "2026-03-09T00:00:00.000000Z"),
             claim("p3", "ngo-x", "2026-03-07T00:00:00.000000Z")]
    for ordered in (plans, plans[::-1]):
        verdict = response_verdict(FLAG, ordered)
        assert verdict.counted == "p3" and verdict.refused == {"p2": "unauthorised_response"}
    assert response_verdict(None, plans).counted is None  # the flag is not known yet: nothing counts


def handover(lot: str, giver: str, to: str, by: str, when: str = "2026-03-03T00:00:00.000000Z|h") -> dict:
    return {"event_id": f"h-{lot}-{to}", "lot_id": lot, "from_id": giver, "to_id": to, "recorded_by": by, "sort_key": when}


def test_a_buyer_received_the_flagged_gold_from_its_giver_before_planning():
    row = {"recorded_by": "exporter", "sort_key": "2026-03-05T00:00:00.000000Z|p"}
    assert bought_flagged_gold(FLAG, row, [handover("lot-1", "coop-a", "exporter", "coop-a")])
    assert not bought_flagged_gold(FLAG, row, [handover("lot-1", "coop-a", "exporter", "exporter")])  # self-made
    assert not bought_flagged_gold(FLAG, row, [handover("lot-1", "coop-a", "exporter", "coop-a",
                                                        "2026-03-06T00:00:00.000000Z|h")])  # after the plan
    assert not bought_flagged_gold(FLAG, row, [handover("lot-1", "coop-b", "exporter", "coop-b")])


PLAN_ROW = {"event_id": "p1", "strategy": "suspend", "deadline": "2026-06-30", "measures": None,
            "recorded_by": "ngo-x", "occurred_at": "2026-03-05T00:00:00+00:00", "hash": "0" * 64,
            "sort_key": "2026-03-05T00:00:00.000000Z|p1"}


def test_an_open_risk_is_overdue_from_the_day_after_its_deadline_without_any_new_event():
    verdict = response_verdict(FLAG, [claim("p1", "ngo-x")])
    assert response_fields([PLAN_ROW], verdict, True, "2026-06-30")["response"]["overdue"] is False
    assert response_fields([PLAN_ROW], verdict, True, "2026-07-01")["response"]["overdue"] is True
    assert response_fields([PLAN_ROW], verdict, False, "2026-07-01")["response"]["overdue"] is False


def risk(response: dict | None, status: str = "open", resolution: dict | None = None) -> dict:
    return {"flag_id": "f1", "subject_id": "coop-a", "category": "bribery", "severity": "medium",
            "description": "a fee", "status": status, "response": response, "resolution": resolution}


def test_an_overdue_response_is_red_and_an_early_one_is_not():
    response = {"strategy": "suspend", "deadline": "2026-06-30", "planned_by": "ngo-x", "overdue": True}
    status, reasons = status_of([], [risk(response)])
    assert status == "red" and [r["kind"] for r in reasons] == ["response_overdue", "bribery"]
    assert status_of([], [risk({**response, "overdue": False})])[0] == "attention"


def sale(lot: str, when: str, giver: str = "coop-a") -> dict:
    return {"event_id": f"t-{lot}", "type": "lot.transferred", "occurred_at": when,
            "data": {"lot_id": lot, "from_id": giver, "to_id": "exporter"}}


def test_only_a_suspended_suppliers_hand_overs_after_the_plan_need_attention():
    response = {"strategy": "suspend", "deadline": "2026-06-30", "planned_by": "exporter",
                "planned_at": "2026-03-05T00:00:00+00:00", "event_id": "p1", "overdue": False}
    timeline = [sale("lot-1", "2026-03-04T00:00:00+00:00"), sale("lot-2", "2026-03-06T00:00:00+00:00"),
                sale("lot-3", "2026-03-06T00:00:00+00:00", giver="coop-b")]
    assert [h["lot_id"] for h in suspended_handovers([risk(response)], timeline)] == ["lot-2"]
    assert suspended_handovers([risk({**response, "strategy": "continue_with_mitigation"})], timeline) == []
    lifted = {"resolution": "mitigated", "resolved_at": "2026-03-05T12:00:00+00:00", "event_id": "r1"}
    assert suspended_handovers([risk(response, "resolved", lifted)], timeline) == []
    disengaged = {**lifted, "resolution": "disengaged"}
    assert [h["lot_id"] for h in suspended_handovers([risk(response, "resolved", disengaged)], timeline)] == ["lot-2"]
    _, reasons = status_of([], [], [], suspended_handovers([risk(response)], timeline))
    assert [(r["source"], r["kind"], r["id"], r["red"]) for r in reasons] == [("response", "supplier_suspended", "p1", False)]
