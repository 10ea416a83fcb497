"""Rules on who may say what: claims outside an organisation's rights, and GTINs it does not own.

Pure functions: the verdicts of ``consumers.authority`` (as stored by ``consumers.lineage``) in,
findings out. A claim outside the rights is kept as evidence and changes nothing of the honest
record; these findings make it visible.
- ``conflicting_claim``: an organisation registered (or created) an entity that belongs to another;
- ``not_holder``: an organisation handed over, used or sold a lot or piece it did not hold then;
- ``gtin_not_owned``: a piece carries a GTIN that does not start with one of its maker's GS1
  company prefixes;
- ``self_resolution``: the subject of a flag recorded its resolution (it counts for nothing);
- ``unauthorised_resolution``: a flag was resolved by someone other than its flagger, an auditor or
  an admin (it counts for nothing);
- ``conflicting_claim`` on a flag: a ``risk.flagged`` reused a flag id another organisation raised,
  or named another subject (it changes nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from consumers.authority import FlagClaim, ResolutionClaim, flag_verdict, gtin_owned_by
from consumers.checks.findings import Finding
from consumers.lineage.ownership import EntityVerdict


@dataclass(frozen=True)
class Refusal:
    """A custody step that does not count: its event, what it claimed and why it was refused."""

    event_id: str
    type: str
    item_id: str
    recorded_by: str
    reason: str  # not_holder, conflicting_claim
    #: who held the item then (not_holder) or owns it (conflicting_claim)
    holder: str | None
    #: the owner's first creation of the item (for a conflicting creation), else None
    basis: str | None = None


@dataclass(frozen=True)
class Piece:
    """A manufactured piece as it counts: its GTIN, maker and the maker's declared GS1 prefixes."""

    product_id: str
    created_event_id: str
    gtin: str | None
    maker: str
    prefixes: tuple[str, ...]
    #: the registration that declared the maker's prefixes (None if it declared none)
    registration: str | None = None


def refused_steps(refusals: Iterable[Refusal]) -> list[Finding]:
    """A ``not_holder`` or ``conflicting_claim`` finding for each refused custody step of an item."""
    findings = []
    for step in sorted(refusals, key=lambda r: r.event_id):
        if step.reason == "not_holder":
            held = f"{step.holder} held it then" if step.holder else "nobody had recorded holding it"
            findings.append(Finding(
                kind="not_holder", subject_id=step.item_id, key=step.event_id, severity="medium",
                message=(f"{step.recorded_by} recorded {step.type} of {step.item_id} but did not hold it ({held}); "
                         f"the step is kept as evidence and counts for nothing."),
                proof=(step.event_id,),
                detail={"recorded_by": step.recorded_by, "holder": step.holder, "type": step.type},
                links=(step.item_id,),
            ))
        else:
            findings.append(Finding(
                kind="conflicting_claim", subject_id=step.item_id, key=step.event_id, severity="medium",
                message=(f"{step.recorded_by} recorded the creation of {step.item_id}, which {step.holder} created "
                         f"first; the claim is kept as evidence and changes nothing."),
                proof=tuple(filter(None, (step.basis, step.event_id))),
                detail={"entity_kind": "item", "owner": step.holder, "claimed_by": step.recorded_by},
                links=(step.item_id,),
            ))
    return findings


def conflicting_registrations(entry: EntityVerdict, organisation_of: dict[str, str],
                              descendants: Iterable[str] = ()) -> list[Finding]:
    """A ``conflicting_claim`` for each registration of an entity by another organisation than its owner.

    ``descendants``: the lots made from the entity (production at a site, a pit, by a miner): the
    pieces made from them inherit the finding through their ancestry.
    """
    links = (entry.entity_id, *sorted(set(descendants) - {entry.entity_id}))
    return [
        Finding(
            kind="conflicting_claim", subject_id=entry.entity_id, key=event_id, severity="medium",
            message=(f"{organisation_of.get(event_id)} registered {entry.kind} {entry.entity_id}, which belongs to "
                     f"{entry.owner}; the claim is kept as evidence and changes nothing."),
            proof=tuple(filter(None, (entry.first_claim, event_id))),
            detail={"entity_kind": entry.kind, "owner": entry.owner, "claimed_by": organisation_of.get(event_id)},
            links=links,
        )
        for event_id in entry.conflicting
    ]


def gtin_not_owned(piece: Piece) -> list[Finding]:
    """A ``gtin_not_owned`` finding if the piece's GTIN does not start with one of its maker's GS1 prefixes."""
    if piece.gtin is None or gtin_owned_by(piece.gtin, piece.prefixes):
        return []
    declared = ", ".join(piece.prefixes) if piece.prefixes else "none"
    return [Finding(
        kind="gtin_not_owned", subject_id=piece.product_id, key=piece.gtin, severity="medium",
        message=(f"{piece.product_id} carries GTIN {piece.gtin}, which does not start with a GS1 company prefix of "
                 f"its maker {piece.maker} (declared: {declared})."),
        proof=tuple(filter(None, (piece.created_event_id, piece.registration))),
        detail={"gtin": piece.gtin, "maker": piece.maker, "prefixes": list(piece.prefixes)},
        links=(piece.product_id,),
    )]


def flag_findings(flag_id: str, raisings: list[FlagClaim], resolutions: list[ResolutionClaim]) -> list[Finding]:
    """A finding for each raising of ``flag_id`` that conflicts with its first and each refused resolution.

    Each is about the flag's subject (a reused id also about the subject it named), so the due-diligence
    record of every piece whose ancestry holds that subject shows it.
    """
    verdict = flag_verdict(raisings, resolutions)
    flag = verdict.defining
    if flag is None:
        return []
    by_id = {claim.event_id: claim for claim in [*raisings, *resolutions]}
    findings = [
        Finding(
            kind="conflicting_claim", subject_id=flag.subject_id, key=event_id, severity="medium",
            message=(f"{by_id[event_id].raised_by} raised flag {flag_id} on {by_id[event_id].subject_id}, but "
                     f"{flag.raised_by} raised it first on {flag.subject_id}; the reuse changes nothing."),
            proof=(flag.event_id, event_id),
            detail={"entity_kind": "flag", "flag_id": flag_id, "owner": flag.raised_by,
                    "claimed_by": by_id[event_id].raised_by, "claimed_subject": by_id[event_id].subject_id},
            links=tuple(sorted({flag.subject_id, by_id[event_id].subject_id})),
        )
        for event_id in verdict.conflicting
    ]
    for event_id, reason in sorted(verdict.refused.items()):
        recorder = by_id[event_id].recorded_by
        why = ("it is the flag's own subject" if reason == "self_resolution"
               else f"only {flag.raised_by} (who raised it), an auditor or an admin may resolve it")
        findings.append(Finding(
            kind=reason, subject_id=flag.subject_id, key=event_id,
            severity="high" if reason == "self_resolution" else "medium",
            message=f"{recorder} recorded a resolution of flag {flag_id} on {flag.subject_id}, but {why}; "
                    f"the resolution counts for nothing.",
            proof=(flag.event_id, event_id),
            detail={"flag_id": flag_id, "raised_by": flag.raised_by, "resolved_by": recorder},
            links=(flag.subject_id,),
        ))
    return findings
