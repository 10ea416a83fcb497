"""Rules on who dug the gold: a child at work, a miner with no photo ID, a miner working a pit of another
site, a miner's gold taken by a cooperative other than their own.

Pure functions: a production (or a production lot), the miners' and pits' latest registrations in,
findings out. Each rule reads only the registrations as they count now, so a new registration (with
the photo ID, the right site or cooperative, a corrected birth year) withdraws the finding.
"""
from __future__ import annotations

from typing import Mapping

from consumers.checks.facts import Creation, Miner, Pit, Production, Transfer
from consumers.checks.findings import Finding

#: the age under which a miner is a child (ILO C138 and C182: no hazardous work, mining included, under 18)
ADULT_AGE = 18


def age_in(year: int, birth_year: int) -> int:
    """The age a person reaches during ``year``: on any date of that year they are this age or one less."""
    return year - birth_year


def child_labour(production: Production, miners: Mapping[str, Miner]) -> list[Finding]:
    """A miner named in a production who was certainly under 18 on its date (by the registered birth year)."""
    year = int(production.month[:4])
    findings = []
    for miner_id in production.miner_ids:
        miner = miners.get(miner_id)
        if miner is None or miner.birth_year is None or age_in(year, miner.birth_year) >= ADULT_AGE:
            continue
        # the birth year is a personal field (sealed in the log, shown to few): the finding, which any
        # key reads, says only that its registration makes the miner a child that year
        findings.append(Finding(
            kind="child_labour_suspected", subject_id=miner_id, key=production.event_id, severity="high",
            message=(f"Miner {miner_id} is named in production {production.event_id} (lot {production.lot_id}) in "
                     f"{production.month}, but the birth year in their registration makes them under {ADULT_AGE} "
                     f"on every day of {year}."),
            proof=(miner.event_id, production.event_id),
            detail={"year": year, "under_age": ADULT_AGE},
            links=(production.lot_id,),
        ))
    return findings


def unverified(production: Production, miners: Mapping[str, Miner]) -> list[Finding]:
    """Production by a registered miner whose registration carries no photo-ID hash."""
    return [Finding(
        kind="unverified_miner", subject_id=miner_id, key=production.event_id, severity="low",
        message=(f"Lot {production.lot_id} was produced by {miner_id}, whose registration carries no photo ID: "
                 "nothing shows who really dug it."),
        proof=(miners[miner_id].event_id, production.event_id), detail={},
        links=(production.lot_id,),
    ) for miner_id in production.miner_ids if miner_id in miners and not miners[miner_id].photo_id]


def outside_site(production: Production, miners: Mapping[str, Miner], pit: Pit | None) -> list[Finding]:
    """A miner named in production at a pit of a site they are not registered at."""
    if pit is None:
        return []
    return [Finding(
        kind="pit_outside_site", subject_id=miner_id, key=production.event_id, severity="medium",
        message=(f"Miner {miner_id} is registered at site {miners[miner_id].site_id} but is named in lot "
                 f"{production.lot_id}, produced at pit {pit.pit_id} of site {pit.site_id}."),
        proof=(miners[miner_id].event_id, pit.event_id, production.event_id),
        detail={"miner_site_id": miners[miner_id].site_id, "pit_site_id": pit.site_id},
        links=(production.lot_id,),
    ) for miner_id in production.miner_ids if miner_id in miners and miners[miner_id].site_id != pit.site_id]


def foreign_cooperative(creation: Creation | None, transfers: tuple[Transfer, ...], miners: Mapping[str, Miner],
                        roles: Mapping[str, str]) -> list[Finding]:
    """A miner's production recorded by a registered organisation that is not the miner's cooperative
    (another cooperative, or an exporter: both may record production, and either may launder gold of
    unknown origin as a member's), or first sold to a cooperative that is not the miner's own.

    Only a registered cooperative counts as a buyer: the first sale of a lot to an exporter is another
    matter, and an unregistered party is already an ``unknown_actor``.
    """
    if creation is None or creation.type != "production.recorded":
        return []
    first = min(transfers, key=lambda x: x.sort_key) if transfers else None
    findings = []
    for miner_id in creation.miner_ids:
        miner = miners.get(miner_id)
        if miner is None:
            continue
        reasons, proof = [], [miner.event_id, creation.event_id]
        if creation.recorded_by in roles and creation.recorded_by != miner.cooperative_id:
            reasons.append(f"recorded by {creation.recorded_by}")
        if first is not None and roles.get(first.to_id) == "cooperative" and first.to_id != miner.cooperative_id:
            reasons.append(f"first sold to {first.to_id}")
            proof.append(first.event_id)
        if reasons:
            findings.append(Finding(
                kind="foreign_cooperative", subject_id=miner_id, key=creation.lot_id, severity="medium",
                message=(f"Lot {creation.lot_id} of miner {miner_id}, a member of {miner.cooperative_id}, was "
                         f"{' and '.join(reasons)}."),
                proof=tuple(proof),
                detail={"miner_cooperative_id": miner.cooperative_id, "recorded_by": creation.recorded_by,
                        "first_buyer": first.to_id if first is not None else None},
                links=(creation.lot_id,),
            ))
    return findings
