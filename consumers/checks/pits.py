"""Rules on production: inactive pits, capacity (of a pit and of a miner in a month), unknown producers,
pits of unknown capacity or not inspected lately, more miners than an inspection saw.

Pure functions: productions, inspections and capacity statements in, findings out.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Mapping, Sequence

from consumers.checks.facts import Capacity, Inspection, MonthTotal, Pit, Production, month_key
from consumers.checks.findings import Finding, grams, ratio
from consumers.lineage.graph import moment_of

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


#: the ids of the productions, in the order they happened, up to the first one that takes the total over ``capacity_g``
Prefix = Callable[[float], Sequence[str]]


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
        kind="over_capacity", subject_id=produced.pit_id, key=capacity_key("pit", produced.month), severity="medium",
        message=(f"Pit {produced.pit_id} produced {grams(produced.total_g)} g in {produced.month}; its capacity is "
                 f"{grams(capacity.capacity_g)} g a month."),
        proof=(capacity.event_id, *prefix(capacity.capacity_g)),
        detail={"month": produced.month, "produced_g": grams(produced.total_g), "capacity_g": grams(capacity.capacity_g),
                "productions": produced.productions},
        links=(month_key("pit", produced.month, produced.pit_id),),
    )]


def capacity_key(kind: str, month: str) -> str:
    """The key of the ``over_capacity`` finding of a pit's (``kind`` "pit") or a miner's ("miner") month.

    Pits and miners are named by whoever registers them, and nothing stops a miner from bearing a pit's
    id: a miner's key names its kind, so the two findings of one id and month never share a finding id
    (one would silently replace the other).
    """
    return month if kind == "pit" else f"miner:{month}"


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
        kind="over_capacity", subject_id=miner_id, key=capacity_key("miner", month), severity="medium",
        message=(f"Miner {miner_id} is credited with {grams(total)} g in {month}, more than their pits "
                 f"({', '.join(sorted(capacities))}) could yield ({grams(most.capacity_g)} g at most)."),
        proof=(*sorted({c.event_id for c in capacities.values()}), *prefix(most.capacity_g)),
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
            kind="unknown_actor", subject_id=production.pit_id, key=f"{production.event_id}:pit", severity="medium",
            message=f"Lot {production.lot_id} was produced at pit {production.pit_id}, which is not registered.",
            proof=(production.event_id,), detail={"role": "pit"}, links=(production.lot_id,),
        ))
    return findings


def capacity_unknown(production: Production, pit: Pit | None, statements: Iterable[Capacity]) -> list[Finding]:
    """Production at a registered pit for which no capacity was ever stated: it cannot be checked, so it is said."""
    if pit is None or any(True for _ in statements):
        return []
    return [Finding(
        kind="capacity_unknown", subject_id=production.pit_id, key=production.event_id, severity="low",
        message=(f"{grams(production.mass_g)} g (lot {production.lot_id}) recorded at pit {production.pit_id}, whose "
                 "capacity no registration or inspection states: what it can yield is not known."),
        proof=(pit.event_id, production.event_id), detail={"mass_g": grams(production.mass_g)},
        links=(production.lot_id,),
    )]


def _days_between(key_a: str, key_b: str) -> float:
    a = datetime.fromisoformat(moment_of(key_a).replace("Z", "+00:00"))
    b = datetime.fromisoformat(moment_of(key_b).replace("Z", "+00:00"))
    return abs((a - b).total_seconds()) / 86400


def stale_inspection(production: Production, pit: Pit | None, inspections: Iterable[Inspection],
                     max_age_days: int) -> list[Finding]:
    """Production at a registered pit with no inspection within ``max_age_days`` of it.

    An inspection after the production but within the window counts: the pit was seen as the gold came
    out of it (so a late visit withdraws the finding, whatever order the events arrive in).
    """
    if pit is None:
        return []
    seen = [i for i in inspections if i.pit_id == production.pit_id]
    if any(_days_between(i.sort_key, production.sort_key) <= max_age_days for i in seen):
        return []
    before = [i for i in seen if i.sort_key < production.sort_key]
    latest = max(before, key=lambda i: i.sort_key) if before else None
    when = (f"last inspected {int(_days_between(latest.sort_key, production.sort_key))} days before"
            if latest is not None else "never inspected before")
    return [Finding(
        kind="stale_inspection", subject_id=production.pit_id, key=production.event_id, severity="low",
        message=(f"Lot {production.lot_id} comes from pit {production.pit_id}, {when}; no inspection within "
                 f"{max_age_days} days of the production."),
        proof=((latest.event_id,) if latest is not None else ()) + (production.event_id,),
        detail={"max_age_days": max_age_days, "latest_inspection": latest.event_id if latest is not None else None},
        links=(production.lot_id,),
    )]


def observed_in(month: str, inspections: Iterable[Inspection]) -> Inspection | None:
    """The head count in force in ``month``: the latest inspection that counted workers by then, else the earliest."""
    counted = sorted((i for i in inspections if i.workers_observed is not None), key=lambda i: i.sort_key)
    made = [i for i in counted if i.month <= month]
    if made:
        return made[-1]
    return counted[0] if counted else None


def workers_limit(observed: int, tolerance: float) -> float:
    """The most distinct miners a pit's month may name for an inspection's head count."""
    return observed * (1 + tolerance)


def workers_mismatch(pit_id: str, month: str, first_productions: list[tuple[str, str]], inspection: Inspection | None,
                     tolerance: float) -> list[Finding]:
    """More distinct miners producing at a pit in a month than its inspection saw working, beyond ``tolerance``.

    ``first_productions``: (miner, the id of their first production of the month), in the order they happened.
    """
    if inspection is None or len(first_productions) <= workers_limit(inspection.workers_observed, tolerance):
        return []
    count = len(first_productions)
    return [Finding(
        kind="workers_mismatch", subject_id=pit_id, key=month, severity="medium",
        message=(f"{count} different miners are named in production at pit {pit_id} in {month}; its inspection "
                 f"{inspection.event_id} saw {inspection.workers_observed} people working there."),
        proof=(inspection.event_id, *sorted({event_id for _miner, event_id in first_productions})),
        detail={"month": month, "miners": count, "workers_observed": inspection.workers_observed,
                "tolerance": ratio(tolerance)},
        links=(month_key("pit", month, pit_id),),
    )]
