"""Spot the liar, second round: each sourcing problem is raised with its proof, on SQLite and PostgreSQL,
and withdrawn by the later events that resolve it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from consumers.checks.projector import ChecksProjector
from consumers.checks.sourcing import SourcingSettings
from consumers.checks.views import FindingsView
from tests import custody_stories as stories
from tests import factories as f
from tests import sourcing_stories as sourcing
from tests.checks_harness import open_findings, project_checks


def _of_kind(engine, kind: str) -> list[dict]:
    return [finding for finding in open_findings(engine) if finding["kind"] == kind]


@pytest.mark.parametrize("problem", sourcing.PROBLEMS, ids=lambda problem: problem.__name__)
def test_each_sourcing_problem_is_raised_with_its_proof(problem, read_models):
    story, kind, proof, _resolution = problem()
    found = _of_kind(project_checks(story.events, engine=read_models), kind)
    assert any(set(finding["proof"]) == set(proof) for finding in found), (kind, proof, found)
    assert all(finding["message"] and finding["lots"] for finding in found)


@pytest.mark.parametrize("problem", sourcing.PROBLEMS, ids=lambda problem: problem.__name__)
def test_each_sourcing_problem_is_withdrawn_by_the_events_that_resolve_it(problem, read_models):
    story, kind, proof, resolution = problem()
    engine = project_checks(story.events + resolution, engine=read_models, batch=1)
    assert _of_kind(engine, kind) == []
    withdrawn = [finding for finding in FindingsView(engine).list(kind=kind, status="withdrawn")[0]
                 if set(finding["proof"]) == set(proof)]
    assert withdrawn, (kind, proof)


def test_the_honest_chain_raises_no_sourcing_finding(read_models):
    assert open_findings(project_checks(stories.honest_chain().events, engine=read_models)) == []


def test_a_child_at_work_taints_the_lot_without_telling_the_birth_year():
    story, kind, _proof, _ = sourcing.problem_child_labour()
    [finding] = _of_kind(project_checks(story.events), kind)
    assert finding["severity"] == "high" and finding["subject_id"] == "m-1"
    assert finding["lots"] == ["lot-1"] and finding["detail"] == {"year": 2026, "under_age": 18}
    assert "2014" not in finding["message"]  # the birth year is personal: never in a finding


def test_a_miner_turning_18_during_the_year_is_not_a_child_for_sure():
    story = stories.honest_chain()
    story.replace("m1", f.miner("m-1", "site-a", photo_id_sha256="a1" * 32, birth_year=2008))  # 18 in 2026
    assert _of_kind(project_checks(story.events), "child_labour_suspected") == []


def test_the_price_finding_names_the_share_of_the_reference_and_a_lower_floor_accepts_it():
    story, kind, _proof, _ = sourcing.problem_price_below_reference()
    [finding] = _of_kind(project_checks(story.events), kind)
    assert finding["subject_id"] == "coop-mambasa"
    assert finding["detail"]["price_per_g_fine"] == "5.00" and finding["detail"]["ratio_to_reference"] == pytest.approx(5 / 99, abs=1e-4)
    lenient = ChecksProjector(sourcing=SourcingSettings(price_floor=Decimal("0.05")))
    assert _of_kind(project_checks(story.events, lenient), kind) == []


def test_a_price_without_a_reference_that_day_or_fineness_is_not_judged():
    story, kind, _proof, _ = sourcing.problem_price_below_reference()
    story.drop("fix")
    assert _of_kind(project_checks(story.events), kind) == []


def test_an_inspection_long_after_the_production_does_not_vouch_for_it():
    story, kind, _proof, _ = sourcing.problem_stale_inspection()
    late = f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}, **sourcing.later(story, 400))
    assert _of_kind(project_checks(story.events + [late]), kind)
    strict = ChecksProjector(sourcing=SourcingSettings(inspection_max_age_days=500))
    assert _of_kind(project_checks(story.events, strict), kind) == []


def test_a_head_count_within_the_tolerance_is_no_mismatch():
    story, kind, _proof, _ = sourcing.problem_workers_mismatch()
    loose = ChecksProjector(sourcing=SourcingSettings(workers_tolerance=1.0))  # one seen, two allowed
    assert _of_kind(project_checks(story.events, loose), kind) == []


def test_a_resolution_arriving_before_the_problem_gives_the_same_answer():
    for problem in sourcing.PROBLEMS:
        story, kind, _proof, resolution = problem()
        engine = project_checks(resolution + story.events, batch=1)
        assert _of_kind(engine, kind) == [], problem.__name__
