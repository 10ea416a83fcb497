"""What ``/v1/findings`` filters on, written with the findings: each finding's time and its proof as rows.

A finding's time is the latest field time (``occurred_at`` in UTC) among the events that prove it; the
proof rows let a query find the findings of a site (proof at its pits) or of an organisation (proof it
recorded). Both follow from the finding's proof alone, so they are the same for any arrival order.
"""
from __future__ import annotations

from typing import Collection, Iterable, Mapping

from sqlalchemy import Connection, select

from consumers.checks import tables as t

from consumers.lineage.graph import moment_of
from consumers.sql import among, insert_ignore


def latest_moments(tx: Connection, proofs: Mapping[str, Iterable[str]]) -> dict[str, str | None]:
    """The time of each finding (finding id -> its proof): the latest moment among its proof events."""
    wanted = {event_id for proof in proofs.values() for event_id in proof}
    keys: dict[str, str] = dict(tx.execute(select(t.events.c.event_id, t.events.c.sort_key)
                                           .where(among(t.events.c.event_id, wanted))).all()) if wanted else {}
    return {finding_id: max((moment_of(keys[event_id]) for event_id in proof if event_id in keys), default=None)
            for finding_id, proof in proofs.items()}


def write_proofs(tx: Connection, proofs: Mapping[str, Iterable[str]], replacing: Collection[str]) -> None:
    """Write the proof rows of these findings (finding id -> its proof), replacing those stored of the
    findings ``replacing`` names (the others have none yet)."""
    if replacing:
        tx.execute(t.finding_proof.delete().where(among(t.finding_proof.c.finding_id, replacing)))
    insert_ignore(tx, t.finding_proof, ({"finding_id": finding_id, "event_id": event_id}
                                        for finding_id, proof in proofs.items() for event_id in proof))
