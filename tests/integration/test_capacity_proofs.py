"""Capacity findings over a busy month: the proof is the month's first facts up to the one that takes the
total over, however many, whatever the arrival order and batch size (the prefix is read page by page)."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests import factories as f
from tests.checks_harness import open_findings, open_signature, project_checks
from tests.databases import BACKENDS, fresh_postgres_database, postgres_server_url

#: grams a month the pit can give; every lot weighs one gram, so the proof holds 81 lots (more than a page)
CAPACITY_G = 80.0
LOTS = 150


@pytest.fixture(params=BACKENDS)
def read_models(request):
    """A fresh read-model engine on each backend (None: SQLite in memory)."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_postgres_database(postgres_server_url()) as url:
        engine = create_engine(url, poolclass=NullPool)
        yield engine
        engine.dispose()


def busy_month() -> tuple[list[dict], dict, list[dict], list[dict]]:
    """A cooperative buys 150 one-gram lots in March from a pit that can give 80 g a month."""
    pit = f.pit("pit-a", "site-a", capacity=CAPACITY_G)
    registry = [f.organisation("coop-mambasa", "cooperative", "CD"), f.site("site-a"), pit,
                f.event("pit.inspected", {"pit_id": "pit-a", "status": "active"}),
                f.miner("m-1", "site-a", photo_id_sha256="a1" * 32)]
    productions, purchases = [], []
    for number in range(LOTS):
        productions.append(f.production(f"lot-{number}", "pit-a", 1.0, 0.85, miners=("m-1",)))
        purchases.append(f.transfer(f"lot-{number}", "m-1", "coop-mambasa", 1.0))
    return registry + [event for pair in zip(productions, purchases) for event in pair], pit, productions, purchases


def _finding(engine, kind: str, subject: str) -> dict:
    [finding] = [x for x in open_findings(engine) if x["kind"] == kind and x["subject_id"] == subject]
    return finding


def test_a_busy_months_proofs_hold_its_first_facts_up_to_the_one_over(read_models):
    events, pit, productions, purchases = busy_month()
    engine = project_checks(events, engine=read_models)
    first = int(CAPACITY_G) + 1  # the total before each of the first 81 is at most 80 g
    assert _finding(engine, "over_capacity", "pit-a")["proof"] == [pit["event_id"]] + [e["event_id"] for e in productions[:first]]
    assert _finding(engine, "over_capacity", "m-1")["proof"] == [pit["event_id"]] + [e["event_id"] for e in productions[:first]]
    assert _finding(engine, "cooperative_over_capacity", "coop-mambasa")["proof"] == (
        [pit["event_id"]] + [e["event_id"] for e in purchases[:first]])


def test_the_proofs_do_not_depend_on_arrival_order_or_batch_size(read_models):
    events = busy_month()[0]
    in_order = open_signature(project_checks(events, batch=1000))
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    assert open_signature(project_checks(shuffled, batch=7, engine=read_models)) == in_order
