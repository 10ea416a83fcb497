"""Order tolerance of the checks: any interleaving of streams that keeps each stream's own order
gives the same open findings and mass balances, provisional findings included (raised, then withdrawn)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from events.envelope import prepare
from tests import custody_stories as stories
from tests import factories as f
from tests.checks_harness import balances, open_signature, project_checks, recording_times


def story_with_lies() -> list[dict]:
    """The honest chain with a double use, a transit gain, a greedy miner, a split and an unknown trader."""
    s = stories.honest_chain()
    s.replace("arrive", f.event("lot.received", {"lot_id": "coop-1", "mass_g": 101.0}, recorded_by="exporter"))
    s.add("merge_again", f.merge("coop-2", {"lot-1": 40.0}))
    s.add("pit_b", f.pit("pit-b", "site-a", capacity=300.0))
    s.add("prod3", f.production("lot-3", "pit-b", 250.0, 0.85, miners=("m-1",)))
    s.add("prod4", f.production("lot-4", "pit-a", 230.0, 0.85, miners=("m-1",)))
    s.add("split", f.split("lot-3", {"lot-3a": 150.0, "lot-3b": 110.0}))  # 10 g more than lot-3 holds
    s.add("pass_on", f.transfer("lot-3a", "coop-mambasa", "shadow-trader", 150.0))
    s.add("assay3", f.assay("lot-3b", 0.9))
    s.add("lot3b_out", f.hand_over("lot-3b", "coop-mambasa", "atelier", 110.0))
    s.add("pendant", f.manufacture("pendant-1", {"bar-1": 2.0, "lot-3b": 1.0}, mass_g=3.5, fineness=0.75))
    # attacks by other organisations, recorded last by the server's clock however they are dated
    s.add("fake_site", f.event("site.registered", {"site_id": "site-a", "name": "Bahnhofstrasse", "country": "CH",
                                                   "region": "Zurich", "mineral": "gold"}, recorded_by="coop-other"))
    s.add("fake_ring", f.manufacture("ring-1", {"scrap-9": 3.0}, mass_g=4.0, fineness=0.375, recorded_by="coop-other",
                                     at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
    s.add("grab", f.transfer("bar-1", "atelier", "thief", 20.0, recorded_by="thief"))
    s.add("rival_assay", RIVAL_ASSAY)
    return s.events


#: a rival refiner assays lot-3b (which it never held) at 0.20: refused, out of every balance
RIVAL_ASSAY = f.assay("lot-3b", 0.20, recorded_by="refiner-rival", at=f.BASE_TIME + timedelta(days=1))


CHAIN = story_with_lies()
STREAMS: dict[str, list[dict]] = defaultdict(list)
for envelope in CHAIN:
    STREAMS[prepare(envelope).stream_id].append(envelope)
LABELS = [stream for stream, events in STREAMS.items() for _ in events]
#: when the server recorded each event: a property of the event, whatever order a projector reads them in
RECORDED_AT = recording_times(CHAIN)
REFERENCE = project_checks(CHAIN, batch=1, recorded_at=RECORDED_AT)
REFERENCE_FINDINGS = open_signature(REFERENCE)
REFERENCE_BALANCES = balances(REFERENCE)


def test_the_reference_catches_every_lie_told():
    kinds = {finding[1] for finding in REFERENCE_FINDINGS}
    assert {"double_use", "transit_discrepancy", "over_capacity", "mass_gain", "unknown_actor",
            "conflicting_claim", "not_holder"} <= kinds
    assert any(kind == "not_holder" and proof == (RIVAL_ASSAY["event_id"],)
               for _id, kind, _subject, _severity, _message, proof, *_ in REFERENCE_FINDINGS)


def test_the_rival_assay_changes_no_balance():
    honest = [event for event in CHAIN if event is not RIVAL_ASSAY]
    assert balances(project_checks(honest, batch=1, recorded_at=RECORDED_AT)) == REFERENCE_BALANCES
    assert len(STREAMS) > 10


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(LABELS), st.integers(min_value=1, max_value=len(CHAIN)))
def test_any_interleaving_of_streams_gives_the_same_findings(interleaving, batch):
    cursors = {stream: iter(events) for stream, events in STREAMS.items()}
    order = [next(cursors[stream]) for stream in interleaving]
    engine = project_checks(order, batch=batch, recorded_at=RECORDED_AT)
    assert open_signature(engine) == REFERENCE_FINDINGS
    assert balances(engine) == REFERENCE_BALANCES


def test_the_reverse_order_of_streams_too_in_one_batch():
    order = [event for stream in reversed(list(STREAMS)) for event in STREAMS[stream]]
    assert open_signature(project_checks(order, batch=len(order), recorded_at=RECORDED_AT)) == REFERENCE_FINDINGS
