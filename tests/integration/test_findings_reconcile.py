"""Reconciling stored findings: a finding's proof rows and links always follow its latest proof.

New findings are written without deleting anything first (nothing of theirs is stored); these tests
pin what must still be replaced: the rows of a finding stored before, by the same scope or another.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from consumers.checks import tables as t
from consumers.checks.findings import Finding
from consumers.checks.recompute import reconcile
from services.database import create_database_engine


@pytest.fixture
def engine(database_url):
    """An empty checks read model on each backend."""
    engine = create_database_engine(database_url)
    t.metadata.create_all(engine)
    with engine.begin() as tx:  # the proof events, for the finding's time
        tx.execute(t.events.insert(), [
            {"event_id": f"e{n}", "type": "lot.transferred", "sort_key": f"2026-03-0{n}T00:00:00.000000Z|e{n}",
             "recorded_by": "coop"} for n in (1, 2, 3)])
    yield engine
    engine.dispose()


def _finding(proof: tuple[str, ...], links: tuple[str, ...]) -> Finding:
    return Finding("custody_break", "lot-1", "k", "high", "a break", proof, {"g": 1}, links)


def _stored(engine, finding_id: str) -> tuple[set, set, str | None, str]:
    with engine.connect() as tx:
        proof = set(tx.execute(select(t.finding_proof.c.event_id).where(t.finding_proof.c.finding_id == finding_id)).scalars())
        links = set(tx.execute(select(t.finding_links.c.node_id).where(t.finding_links.c.finding_id == finding_id)).scalars())
        at, scope = tx.execute(select(t.findings.c.at, t.findings.c.scope).where(t.findings.c.finding_id == finding_id)).one()
    return proof, links, at, scope


def test_a_new_finding_gets_its_proof_rows_links_and_time(engine):
    finding = _finding(("e1", "e2"), ("lot-1", "lot-2"))
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": [finding]})
    assert _stored(engine, finding.finding_id) == ({"e1", "e2"}, {"lot-1", "lot-2"}, "2026-03-02T00:00:00.000000Z", "lot:lot-1")


def test_a_finding_recomputed_by_its_scope_replaces_its_proof_rows_and_links(engine):
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": [_finding(("e1", "e2"), ("lot-1", "lot-2"))]})
    finding = _finding(("e3",), ("lot-3",))
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": [finding]})
    assert _stored(engine, finding.finding_id) == ({"e3"}, {"lot-3"}, "2026-03-03T00:00:00.000000Z", "lot:lot-1")


def test_a_finding_stored_by_another_scope_has_its_rows_replaced_too(engine):
    """The same kind, subject and key give the same id whichever scope raises it: the rows stored for it
    by the first scope are not left beside the second's."""
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": [_finding(("e1", "e2"), ("lot-1", "lot-2"))]})
    finding = _finding(("e3",), ("lot-3",))
    with engine.begin() as tx:
        reconcile(tx, {"item:lot-1": [finding]})
    assert _stored(engine, finding.finding_id) == ({"e3"}, {"lot-3"}, "2026-03-03T00:00:00.000000Z", "item:lot-1")


def test_a_vanished_finding_is_withdrawn_and_keeps_its_proof(engine):
    finding = _finding(("e1",), ("lot-1",))
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": [finding]})
    with engine.begin() as tx:
        reconcile(tx, {"lot:lot-1": []})
    with engine.connect() as tx:
        status = tx.execute(select(t.findings.c.status).where(t.findings.c.finding_id == finding.finding_id)).scalar()
    assert status == "withdrawn"
    assert _stored(engine, finding.finding_id)[:2] == ({"e1"}, {"lot-1"})
