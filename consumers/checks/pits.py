"""Rules on production: inactive pits, capacity (of a pit and of a miner in a month), unknown producers.

Pure functions: productions, inspections and capacity statements in, findings out.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from consumers.checks.facts import Capacity, Inspection, Production
from consumers.checks.findings import Finding, grams

CLOSED = frozenset({"inactive", "abandoned"})


def inactive_pit(production: Production, inspections: Iterable[Inspection]) -> list[Finding]:
    """Production at a pit whose latest inspection before it said inactive or abandoned."""
    before = [i for i in inspections if i.pit_id == production.pit_id and i.sort_key < production.sort_key]
    if not before:
        return []
    latest = max(before, key=lambda i: i.sort_key)
    if latest.status not in CLOSED:
        return []
    return [Finding(
        kind="inactive_pit", subject_id=production.pit_id, key=production.event_id, severity="high",
        message=(f"{grams(production.mass_g)} g (lot {production.lot_id}) recorded at pit {production.pit_id}, "
                 f"which its latest inspection before ({latest.event_id}) found {latest.status}."),
        proof=(latest.event_id, production.event_id),
        detail={"inspection_status": latest.status, "mass_g": grams(production.mass_g)},
        links=(production.lot_id,),
    )]


def capacity_in(month: str, statements: Iterable[Capacity]) -> Capacity | None:
    """The capacity in force in ``month``: the latest statement made by then, else the earliest one."""
    ordered = sorted(statements, key=lambda c: c.sort_key)
    made = [c for c in ordered if c.month <= month]
    if made:
        return made[-1]
    return ordered[0] if ordered else None


def pit_over_capacity(pit_id: str, month: str, productions: Iterable[Production],
                      statements: Iterable[Capacity]) -> list[Finding]:
    """A pit whose production in a calendar month exceeds its capacity."""
    produced = sorted((p for p in productions if p.pit_id == pit_id and p.month == month), key=lambda p: p.sort_key)
    capacity = capacity_in(month, statements)
    total = sum(p.mass_g for p in produced)
    if capacity is None or not produced or total <= capacity.capacity_g:
        return []
    return [Finding(
        kind="over_capacity", subject_id=pit_id, key=month, severity="medium",
        message=(f"Pit {pit_id} produced {grams(total)} g in {month}; its capacity is "
                 f"{grams(capacity.capacity_g)} g a month."),
        proof=(capacity.event_id, *(p.event_id for p in produced)),
        detail={"month": month, "produced_g": grams(total), "capacity_g": grams(capacity.capacity_g),
                "productions": len(produced)},
        links=tuple(dict.fromkeys(p.lot_id for p in produced)),
    )]


def miner_over_capacity(miner_id: str, month: str, productions: Iterable[Production],
                        statements_by_pit: Mapping[str, list[Capacity]]) -> list[Finding]:
    """A miner credited in a month with more than the most any of their pits could yield.

    A miner is credited with the whole of every lot they are named on (a conservative reading: the
    claim "this miner produced this lot" must be possible on its own).
    """
    produced = sorted((p for p in productions if miner_id in p.miner_ids and p.month == month),
                      key=lambda p: p.sort_key)
    if not produced:
        return []
    capacities = {pit: capacity_in(month, statements_by_pit.get(pit, ())) for pit in {p.pit_id for p in produced}}
    if any(capacity is None for capacity in capacities.values()):
        return []
    most = max(capacities.values(), key=lambda c: c.capacity_g)
    total = sum(p.mass_g for p in produced)
    if total <= most.capacity_g:
        return []
    return [Finding(
        kind="over_capacity", subject_id=miner_id, key=month, severity="medium",
        message=(f"Miner {miner_id} is credited with {grams(total)} g in {month}, more than their pits "
                 f"({', '.join(sorted(capacities))}) could yield ({grams(most.capacity_g)} g at most)."),
        proof=tuple(sorted({c.event_id for c in capacities.values()})) + tuple(p.event_id for p in produced),
        detail={"month": month, "produced_g": grams(total), "capacity_g": grams(most.capacity_g),
                "productions": len(produced)},
        links=tuple(dict.fromkeys(p.lot_id for p in produced)),
    )]


def unknown_producers(production: Production, miner_registered: Callable[[str], bool],
                      pit_registered: bool) -> list[Finding]:
    """Production by a miner who is not registered, or at a pit that is not."""
    findings = [
        Finding(
            kind="unknown_actor", subject_id=miner_id, key=production.event_id, severity="medium",
            message=f"Lot {production.lot_id} was produced by {miner_id}, who is not a registered miner.",
            proof=(production.event_id,), detail={"role": "miner"}, links=(production.lot_id,),
        )
        for miner_id in production.miner_ids if not miner_registered(miner_id)
    ]
    if not pit_registered:
        findings.append(Finding(
            kind="unknown_actor", subject_id=production.pit_id, key=production.event_id, severity="medium",
            message=f"Lot {production.lot_id} was produced at pit {production.pit_id}, which is not registered.",
            proof=(production.event_id,), detail={"role": "pit"}, links=(production.lot_id,),
        ))
    return findings
