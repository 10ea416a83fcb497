"""OECD step 3 through HTTP: a buyer plans its response to a risk (continue with mitigation, suspend,
disengage) by a deadline; the due-diligence record lists it, turns red past the deadline, and shows the
lots a suspended supplier handed over afterwards.

The gold's story is recorded with an admin key; the diligence steps with each organisation's own key
(an admin key may plan any response, so the rule is only visible with ordinary keys). Runs with the
read models on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import pytest

from tests import custody_stories as stories
from tests import factories as f
from tests.conftest import bearer

ROLES = {"coop-mambasa": "cooperative", "exporter": "exporter", "refiner-x": "refiner", "atelier": "manufacturer",
         "coop-other": "cooperative", "ngo-x": "ngo"}
#: a deadline long past (the story happens in March 2026) and one far ahead: what counts is the day of the question
PAST, FUTURE = "2026-04-30", "2099-12-31"


class Chain:
    """The honest chain of ``custody_stories`` and one key per organisation for what each says itself."""

    def __init__(self, platform, client, admin_key):
        self.platform, self.client, self.admin_key = platform, client, admin_key
        self.keys = {org: platform.keys.create(org, role) for org, role in ROLES.items()}

    def record(self, events: list[dict], as_admin: bool = False) -> None:
        for event in events:
            key = self.admin_key if as_admin else self.keys[event["recorded_by"]]
            response = self.client.post("/v1/events", json={"events": [event]}, headers=bearer(key))
            assert response.status_code == 200, response.get_data(as_text=True)
        self.platform.catch_up()
        assert all(runner.dead_letter_count() == 0 for runner in self.platform.runners.values())

    def record_of(self, product_id: str = "ring-1") -> dict:
        response = self.client.get(f"/v1/products/{product_id}/due-diligence", headers=bearer(self.admin_key))
        assert response.status_code == 200
        return response.get_json()


@pytest.fixture
def chain(platform, client, admin_key) -> Chain:
    chain = Chain(platform, client, admin_key)
    chain.record(stories.honest_chain().events + [f.organisation("coop-other"), f.organisation("ngo-x", "ngo")],
                 as_admin=True)
    return chain


def flag(flag_id: str, by: str, subject: str = "coop-mambasa", severity: str = "medium") -> dict:
    return f.event("risk.flagged", {"flag_id": flag_id, "subject_id": subject, "category": "misrepresentation",
                                    "severity": severity, "description": "Sales records do not match the pit's output."},
                   recorded_by=by)


def plan(flag_id: str, by: str, strategy: str = "continue_with_mitigation", deadline: str = FUTURE, **kw) -> dict:
    return f.event("risk.response_planned", {"flag_id": flag_id, "strategy": strategy, "deadline": deadline,
                                             "measures": "Weekly reconciliation of purchases with pit output."},
                   recorded_by=by, **kw)


def resolved(flag_id: str, by: str, resolution: str = "mitigated") -> dict:
    return f.event("risk.resolved", {"flag_id": flag_id, "resolution": resolution, "note": f"closed by {by}"},
                   recorded_by=by)


def risk_of(record: dict, flag_id: str) -> dict:
    [risk] = [risk for risk in record["risks"] if risk["flag_id"] == flag_id]
    return risk


def test_a_plan_counts_from_the_flagger_and_from_a_buyer_of_the_flagged_gold(chain):
    by_flagger = plan("risk-refiner", "refiner-x", "suspend")
    by_buyer = plan("risk-ngo", "exporter")
    chain.record([flag("risk-refiner", "refiner-x"), by_flagger, flag("risk-ngo", "ngo-x"), by_buyer])
    record = chain.record_of()
    # the refiner raised its flag: its plan counts, though it never bought from the cooperative itself
    assert risk_of(record, "risk-refiner")["response"]["planned_by"] == "refiner-x"
    assert risk_of(record, "risk-refiner")["response"]["event_id"] == by_flagger["event_id"]
    # the exporter bought coop-1 from the flagged cooperative before planning: a buyer of the flagged gold
    response = risk_of(record, "risk-ngo")["response"]
    assert (response["strategy"], response["deadline"], response["planned_by"], response["overdue"]) == (
        "continue_with_mitigation", FUTURE, "exporter", False)
    steps = {step["flag_id"]: step for step in record["risk_responses"]}
    assert steps["risk-ngo"]["strategy"] == "continue_with_mitigation" and steps["risk-ngo"]["planned_by"] == "exporter"
    assert steps["risk-refiner"]["strategy"] == "suspend"
    assert by_buyer["event_id"] in {entry["event_id"] for entry in record["integrity"]["events"]}
    assert record["status"] == "attention"  # open medium risks, in time


def test_a_plan_by_a_stranger_or_by_the_flagged_supplier_is_refused_and_listed(chain):
    by_stranger = plan("risk-ngo", "coop-other", "disengage")
    by_refiner = plan("risk-ngo", "refiner-x", "suspend")  # bought from the exporter, never from the cooperative
    by_subject = plan("risk-ngo", "coop-mambasa", deadline=FUTURE)
    chain.record([flag("risk-ngo", "ngo-x"), by_stranger, by_refiner, by_subject])
    risk = risk_of(chain.record_of(), "risk-ngo")
    assert risk["response"] is None
    assert [(r["event_id"], r["reason"]) for r in risk["refused_responses"]] == [
        (by_stranger["event_id"], "unauthorised_response"), (by_refiner["event_id"], "unauthorised_response"),
        (by_subject["event_id"], "self_response")]
    [step] = chain.record_of()["risk_responses"]
    assert step["flag_id"] == "risk-ngo" and step["strategy"] is None and step["overdue"] is False
    # an NGO is no buyer: capture refuses its plan outright (role rule diligence.responses)
    response = chain.client.post("/v1/events", json={"events": [plan("risk-ngo", "ngo-x")]},
                                 headers=bearer(chain.keys["ngo-x"]))
    assert response.status_code == 403


def test_an_open_risk_past_its_response_deadline_is_red_until_resolved(chain):
    chain.record([flag("risk-exp", "exporter"), plan("risk-exp", "exporter", deadline=FUTURE)])
    record = chain.record_of()
    assert record["status"] == "attention" and [r["kind"] for r in record["reasons"]] == ["misrepresentation"]

    late = plan("risk-exp", "exporter", "suspend", deadline=PAST)  # a later plan replaces the first
    chain.record([late])
    record = chain.record_of()
    assert record["status"] == "red"
    [overdue] = [reason for reason in record["reasons"] if reason["red"]]
    assert (overdue["kind"], overdue["id"], overdue["source"]) == ("response_overdue", "risk-exp", "risk")
    assert PAST in overdue["message"]
    assert risk_of(record, "risk-exp")["response"]["overdue"] is True
    provenance = chain.client.get("/v1/products/ring-1/provenance", headers=bearer(chain.admin_key)).get_json()
    assert provenance["due_diligence"]["status"] == "red"

    chain.record([resolved("risk-exp", "exporter")])
    record = chain.record_of()
    assert record["status"] == "clear" and record["risk_responses"] == []
    assert risk_of(record, "risk-exp")["response"]["overdue"] is False  # resolved: nothing is overdue


def later_ring() -> list[dict]:
    """The cooperative's next lot, sold to the exporter after it disengaged, made into ring-5."""
    bar_g = round(40.0 * 0.85 * 0.996 / 0.9999, 2)
    return [
        f.production("lot-5", "pit-a", 40.0, 0.85, miners=("m-1",)),
        f.transfer("lot-5", "m-1", "coop-mambasa", 40.0),
        f.hand_over("lot-5", "coop-mambasa", "exporter", 40.0),
        f.event("lot.received", {"lot_id": "lot-5", "mass_g": 40.0}, recorded_by="exporter"),
        f.event("lot.exported", {"lot_id": "lot-5", "export_permit": "CEEC-2026-9", "destination_country": "CH",
                                 "royalties_paid": "98.00", "currency": "USD"}, recorded_by="exporter"),
        f.hand_over("lot-5", "exporter", "refiner-x", 40.0),
        f.event("lot.received", {"lot_id": "lot-5", "mass_g": 40.0}, recorded_by="refiner-x"),
        f.refine({"lot-5": 40.0}, {"bar-5": (bar_g, 0.9999)}),
        f.hand_over("bar-5", "refiner-x", "atelier", bar_g),
        f.event("lot.received", {"lot_id": "bar-5", "mass_g": bar_g}, recorded_by="atelier"),
        f.manufacture("ring-5", {"bar-5": 7.5}, mass_g=10.0, fineness=0.75),
    ]


def test_a_disengaged_suppliers_later_lot_needs_attention_and_its_earlier_lot_not(chain):
    disengage = plan("risk-exp", "exporter", "disengage")
    chain.record([flag("risk-exp", "exporter"), disengage, resolved("risk-exp", "exporter", "disengaged")])
    earlier = chain.record_of("ring-1")  # coop-1 was handed over before the plan
    assert earlier["status"] == "clear" and earlier["suspended_handovers"] == []

    chain.record(later_ring(), as_admin=True)
    record = chain.record_of("ring-5")
    assert record["status"] == "attention"
    [reason] = record["reasons"]
    assert (reason["source"], reason["kind"], reason["id"], reason["subject_id"]) == (
        "response", "supplier_suspended", disengage["event_id"], "lot-5")
    [handover] = record["suspended_handovers"]
    assert (handover["supplier"], handover["buyer"], handover["strategy"], handover["planned_by"]) == (
        "coop-mambasa", "exporter", "disengage", "exporter")
    section = chain.client.get("/v1/products/ring-5/provenance", headers=bearer(chain.admin_key)).get_json()
    assert section["due_diligence"]["status"] == "attention"
    assert chain.record_of("ring-1")["status"] == "clear"


def test_a_suspension_lifted_by_a_mitigation_leaves_later_lots_clear(chain):
    chain.record([flag("risk-exp", "exporter"), plan("risk-exp", "exporter", "suspend"),
                  resolved("risk-exp", "exporter", "mitigated")])
    chain.record(later_ring(), as_admin=True)
    record = chain.record_of("ring-5")
    assert record["status"] == "clear" and record["suspended_handovers"] == []
