"""Who may raise and resolve a red flag: the first recorded raising defines it, only its flagger, an
auditor or an admin may resolve it, never its subject; the verdict does not depend on arrival order."""
from __future__ import annotations

from hypothesis import given, strategies as st

from consumers.authority import FlagClaim, ResolutionClaim, flag_verdict, resolution_refusal


def at(day: int, hour: int = 8) -> str:
    """A moment / recorded_at stamp on day ``day`` of 2026 (lexicographic order is time order)."""
    return f"2026-03-{day:02d}T{hour:02d}:00:00.000000Z"


RAISED = FlagClaim("flag-1", raised_by="ngo-watch", subject_id="coop-mambasa", recorded_at=at(1, 9), moment=at(1))


def resolution(event_id: str, by: str, role: str | None, day: int = 3, hour: int = 8) -> ResolutionClaim:
    return ResolutionClaim(event_id, recorded_by=by, attested_role=role, moment=at(day, hour))


def test_an_unresolved_flag_is_open():
    verdict = flag_verdict([RAISED], [])
    assert verdict.is_open and verdict.defining == RAISED and verdict.refused == {}


def test_the_subject_cannot_resolve_its_own_flag_even_through_an_admin():
    by_itself = resolution("self", "coop-mambasa", "cooperative")
    admin_for_it = resolution("admin-for-it", "coop-mambasa", "admin", day=4)
    verdict = flag_verdict([RAISED], [by_itself, admin_for_it])
    assert verdict.is_open
    assert verdict.refused == {"self": "self_resolution", "admin-for-it": "self_resolution"}


def test_who_may_resolve():
    assert resolution_refusal(RAISED, resolution("r", "ngo-watch", "ngo")) is None
    assert resolution_refusal(RAISED, resolution("r", "audit-co", "auditor")) is None
    assert resolution_refusal(RAISED, resolution("r", "oretrail-admin", "admin")) is None
    assert resolution_refusal(RAISED, resolution("r", "coop-other", "cooperative")) == "unauthorised_resolution"
    # an event logged before attestation existed: only the flagger's word counts
    assert resolution_refusal(RAISED, resolution("r", "audit-co", None)) == "unauthorised_resolution"


def test_the_flaggers_resolution_closes_it_and_a_later_raising_reopens_it():
    closed = flag_verdict([RAISED], [resolution("ok", "ngo-watch", "ngo", day=3)])
    assert not closed.is_open and closed.resolved_by == "ok"
    again = FlagClaim("flag-2", "ngo-watch", "coop-mambasa", recorded_at=at(5, 9), moment=at(5))
    assert flag_verdict([RAISED, again], [resolution("ok", "ngo-watch", "ngo", day=3)]).is_open


def test_a_reuse_of_the_id_on_another_subject_or_by_another_flagger_changes_nothing():
    # back-dated before the first raising, but recorded after it: the server's clock decides
    elsewhere = FlagClaim("elsewhere", "ngo-watch", "coop-other", recorded_at=at(2, 9), moment=at(1, 1))
    by_other = FlagClaim("by-other", "coop-other", "coop-mambasa", recorded_at=at(2, 10), moment=at(4))
    verdict = flag_verdict([elsewhere, RAISED, by_other], [resolution("ok", "ngo-watch", "ngo", day=3)])
    assert verdict.defining == RAISED
    assert verdict.conflicting == ("by-other", "elsewhere")
    assert not verdict.is_open  # the other organisation's later raising does not reopen it


def test_a_resolution_at_the_same_instant_as_the_flag_comes_after_it_whatever_the_event_ids():
    for resolution_id in ("0-before-flag-1", "z-after-flag-1"):
        verdict = flag_verdict([RAISED], [ResolutionClaim(resolution_id, "ngo-watch", "ngo", moment=RAISED.moment)])
        assert not verdict.is_open and verdict.resolved_by == resolution_id


def test_resolutions_of_a_flag_not_seen_yet_are_not_judged():
    verdict = flag_verdict([], [resolution("early", "coop-mambasa", "cooperative")])
    assert verdict.defining is None and verdict.refused == {} and not verdict.is_open


CLAIMS = [
    RAISED,
    FlagClaim("again", "ngo-watch", "coop-mambasa", recorded_at=at(6, 9), moment=at(6)),
    FlagClaim("elsewhere", "coop-other", "coop-x", recorded_at=at(2, 9), moment=at(1, 1)),
]
RESOLUTIONS = [
    resolution("self", "coop-mambasa", "cooperative", day=7),
    resolution("ok", "ngo-watch", "ngo", day=3),
    resolution("audit", "audit-co", "auditor", day=6),
]


@given(st.permutations(CLAIMS), st.permutations(RESOLUTIONS))
def test_the_verdict_does_not_depend_on_arrival_order(claims, resolutions):
    verdict = flag_verdict(claims, resolutions)
    assert verdict.defining == RAISED and verdict.conflicting == ("elsewhere",)
    # raised again on day 6 at 08:00, resolved by the auditor at the same instant: resolved
    assert verdict.resolved_by == "audit" and verdict.refused == {"self": "self_resolution"}
