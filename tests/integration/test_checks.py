"""Spot the liar: every lie told in an otherwise honest chain is caught, with the events that prove it."""
from __future__ import annotations

import pytest

from consumers.checks.projector import ChecksProjector
from tests import custody_stories as stories
from consumers.checks.views import FindingsView
from tests.checks_harness import balances, open_findings, project_checks


def test_the_honest_chain_raises_no_finding(read_models):
    engine = project_checks(stories.honest_chain().events, engine=read_models)
    assert open_findings(engine) == []


def test_the_honest_refining_reports_its_recovery():
    story = stories.honest_chain()
    engine = project_checks(story.events)
    by_event = {row[0]: row for row in balances(engine)}
    _, kind, _, input_g, output_g, fine_in, fine_out, basis, recovery = by_event[story.id("refine")]
    assert (kind, basis) == ("lot.refined", "fine_gold")
    assert fine_in == pytest.approx(99.9 * 0.87)
    assert recovery == pytest.approx(0.996, abs=1e-4)


@pytest.mark.parametrize("lie", stories.LIES, ids=lambda lie: lie.__name__)
def test_each_lie_is_caught_with_its_proof(lie, read_models):
    story, kind, proof = lie()
    found = [f for f in open_findings(project_checks(story.events, engine=read_models)) if f["kind"] == kind]
    assert any(set(f["proof"]) == set(proof) for f in found), (kind, proof, found)
    assert all(f["status"] == "open" and f["message"] for f in found)


def test_the_mass_gain_reports_grams_and_ratio():
    story, _, _ = stories.lie_mass_gain()
    [finding] = [f for f in open_findings(project_checks(story.events)) if f["kind"] == "mass_gain"]
    assert finding["subject_id"] == f"refining/{story.id('refine')}"
    assert finding["detail"]["basis"] == "fine_gold"
    assert finding["detail"]["recovery"] == pytest.approx(95 * 0.9999 / (99.9 * 0.87), abs=1e-5)
    assert finding["detail"]["gain_g"] == pytest.approx(95 * 0.9999 - 99.9 * 0.87, abs=1e-3)
    assert "bar-1" in finding["lots"]


def test_a_transit_loss_within_the_tolerance_is_not_a_finding_and_a_looser_setting_accepts_a_gain():
    story, _, _ = stories.lie_transit()  # 101 g received for 100 g sent: 1 %
    assert any(f["kind"] == "transit_discrepancy" for f in open_findings(project_checks(story.events)))
    loose = ChecksProjector(transit_tolerance=0.02)
    assert not any(f["kind"] == "transit_discrepancy" for f in open_findings(project_checks(story.events, loose)))


def test_a_finding_waiting_for_data_is_withdrawn_when_the_data_arrives():
    story = stories.honest_chain()
    registration = story["m2"]
    story.drop("m2")
    events = story.events
    engine = project_checks(events + [registration], batch=1)
    assert open_findings(engine) == []
    withdrawn = FindingsView(engine).list(status="withdrawn")[0]
    assert {f["subject_id"] for f in withdrawn} == {"m-2"}
    assert {f["kind"] for f in withdrawn} == {"unknown_actor"}


def test_a_finding_needing_data_not_yet_seen_appears_when_it_arrives():
    story = stories.honest_chain()
    inspection = story["inspection"]
    story.replace("inspection", {**inspection, "data": {"pit_id": "pit-a", "status": "inactive"}})
    late = story["inspection"]
    story.drop("inspection")
    engine = project_checks(story.events + [late], batch=1)  # the inspection reaches the platform last
    found = [f for f in open_findings(engine) if f["kind"] == "inactive_pit"]
    assert {f["proof"][1] for f in found} == {story.id("prod1"), story.id("prod2")}
