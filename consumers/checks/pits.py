"""Rules on production: inactive pits, capacity (of a pit and of a miner in a month), unknown producers.

Pure functions: productions, inspections and capacity statements in, findings out.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from consumers.checks.facts import Capacity, Inspection, MonthTotal, Production, month_key
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


#: the productions, in the order they happened, up to the first one that takes the total over ``capacity_g``
Prefix = Callable[[float], list[Production]]


def pit_limit(produced: MonthTotal, statements: Iterable[Capacity]) -> Capacity | None:
    """The capacity a pit's month exceeds, or None if it does not (or none is known)."""
    capacity = capacity_in(produced.month, statements)
    return capacity if capacity is not None and produced.total_g > capacity.capacity_g else None


def miner_limit(month: str, by_pit: Iterable[MonthTotal], statements_by_pit: Mapping[str, list[Capacity]]) -> Capacity | None:
    """The largest capacity among a miner's pits of the month, if the miner's total exceeds it."""
    by_pit = list(by_pit)
    if not by_pit:
        return None
    capacities = [capacity_in(month, statements_by_pit.get(t.pit_id, ())) for t in by_pit]
    if any(capacity is None for capacity in capacities):
        return None
    most = max(capacities, key=lambda c: (c.capacity_g, c.sort_key))
    return most if sum(t.total_g for t in by_pit) > most.capacity_g else None


def pit_over_capacity(produced: MonthTotal, statements: Iterable[Capacity], prefix: Prefix) -> list[Finding]:
    """A pit whose production in a calendar month exceeds its capacity.

    The proof is the capacity statement and the first productions of the month that alone exceed it;
    the finding taints every lot of that pit and month.
    """
    capacity = capacity_in(produced.month, statements)
    if capacity is None or produced.total_g <= capacity.capacity_g:
        return []
    return [Finding(
        kind="over_capacity", subject_id=produced.pit_id, key=produced.month, severity="medium",
        message=(f"Pit {produced.pit_id} produced {grams(produced.total_g)} g in {produced.month}; its capacity is "
                 f"{grams(capacity.capacity_g)} g a month."),
        proof=(capacity.event_id, *(p.event_id for p in prefix(capacity.capacity_g))),
        detail={"month": produced.month, "produced_g": grams(produced.total_g), "capacity_g": grams(capacity.capacity_g),
                "productions": produced.productions},
        links=(month_key("pit", produced.month, produced.pit_id),),
    )]


def miner_over_capacity(miner_id: str, month: str, by_pit: Iterable[MonthTotal],
                        statements_by_pit: Mapping[str, list[Capacity]], prefix: Prefix) -> list[Finding]:
    """A miner credited in a month with more than the most any of their pits could yield.

    A miner is credited with the whole of every lot they are named on (a conservative reading: the
    claim "this miner produced this lot" must be possible on its own).
    """
    by_pit = list(by_pit)
    if not by_pit:
        return []
    capacities = {t.pit_id: capacity_in(month, statements_by_pit.get(t.pit_id, ())) for t in by_pit}
    if any(capacity is None for capacity in capacities.values()):
        return []
    most = max(capacities.values(), key=lambda c: (c.capacity_g, c.sort_key))
    total = sum(t.total_g for t in by_pit)
    if total <= most.capacity_g:
        return []
    return [Finding(
        kind="over_capacity", subject_id=miner_id, key=month, severity="medium",
        message=(f"Miner {miner_id} is credited with {grams(total)} g in {month}, more than their pits "
                 f"({', '.join(sorted(capacities))}) could yield ({grams(most.capacity_g)} g at most)."),
        proof=(*sorted({c.event_id for c in capacities.values()}), *(p.event_id for p in prefix(most.capacity_g))),
        detail={"month": month, "produced_g": grams(total), "capacity_g": grams(most.capacity_g),
                "productions": sum(t.productions for t in by_pit)},
        links=(month_key("miner", month, miner_id),),
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
