"""Rules on one lot's custody: double use, custody breaks, time order, transit, export permits, unknown parties,
steps retracted after others relied on them.

Pure functions: a lot's facts in, findings out. Facts are ordered by when they happened.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from consumers.checks.facts import LotFacts, Receipt, Transfer, moment
from consumers.checks.findings import Finding, grams, ratio

#: consumptions that use a lot up: after one of them the lot no longer exists. A manufacturer may
#: take grams from one bar for many pieces, so manufacturing alone may recur (within the grams).
EXCLUSIVE = frozenset({"lots.merged", "lot.split", "lot.refined"})


def double_use(lot: LotFacts, tolerance: float) -> list[Finding]:
    """A lot used up twice, used after it was used up, or more grams of it consumed than it holds."""
    uses = sorted(lot.consumptions, key=lambda c: c.sort_key)
    if not uses:
        return []
    findings: list[Finding] = []
    exclusive = [use for use in uses if use.type in EXCLUSIVE]
    if exclusive:
        first = exclusive[0]
        again = [use for use in uses if use is not first and (use.type in EXCLUSIVE or use.sort_key > first.sort_key)]
        if again:
            proof = tuple(use.event_id for use in [first, *again])
            findings.append(Finding(
                kind="double_use", subject_id=lot.lot_id, key="reused", severity="high",
                message=(f"Lot {lot.lot_id} was used up by {first.type} {first.event_id} and used again "
                         f"{len(again)} time(s)."),
                proof=proof, detail={"uses": len(uses)}, links=(lot.lot_id,),
            ))
    available = lot.available_g()
    consumed = sum(use.mass_g for use in uses)
    if available is not None and consumed > available * (1 + tolerance):
        basis = lot.creation.event_id if lot.creation is not None else None
        proof = tuple(([basis] if basis else []) + [use.event_id for use in uses])
        findings.append(Finding(
            kind="double_use", subject_id=lot.lot_id, key="overdrawn", severity="high",
            message=f"{grams(consumed)} g of lot {lot.lot_id} were consumed; it holds {grams(available)} g.",
            proof=proof,
            detail={"available_g": grams(available), "consumed_g": grams(consumed),
                    "excess_g": grams(consumed - available), "tolerance": tolerance},
            links=(lot.lot_id,),
        ))
    return findings


def custody_break(lot: LotFacts) -> list[Finding]:
    """A transfer by someone who does not hold the lot; a consumption by an organisation that never received it."""
    findings: list[Finding] = []
    creation = lot.creation
    holders: set[str] | None = None
    basis: str | None = None
    if creation is not None:
        holders = {creation.recorded_by, *creation.miner_ids}
        basis = creation.event_id
    for transfer in sorted(lot.transfers, key=lambda t: t.sort_key):
        if holders is not None and transfer.from_id not in holders:
            findings.append(Finding(
                kind="custody_break", subject_id=lot.lot_id, key=transfer.event_id, severity="high",
                message=(f"{transfer.from_id} transferred lot {lot.lot_id} to {transfer.to_id} but did not hold it "
                         f"(held by {', '.join(sorted(holders))})."),
                proof=tuple(filter(None, (basis, transfer.event_id))),
                detail={"transferred_by": transfer.from_id, "holders": sorted(holders)}, links=(lot.lot_id,),
            ))
        holders, basis = {transfer.to_id}, transfer.event_id
    received: dict[str, str] = {}
    if creation is not None:
        for actor in (creation.recorded_by, *creation.miner_ids):
            received.setdefault(actor, creation.event_id)
    for transfer in lot.transfers:
        received.setdefault(transfer.to_id, transfer.event_id)
    for receipt in lot.receipts:
        received.setdefault(receipt.recorded_by, receipt.event_id)
    if not received:  # nothing is known of this lot's custody: no evidence either way
        return findings
    for use in sorted(lot.consumptions, key=lambda c: c.sort_key):
        if use.recorded_by not in received:
            findings.append(Finding(
                kind="custody_break", subject_id=lot.lot_id, key=use.event_id, severity="high",
                message=f"{use.recorded_by} consumed lot {lot.lot_id} ({use.type}) but never received it.",
                proof=tuple(sorted(set(received.values()))) + (use.event_id,),
                detail={"consumed_by": use.recorded_by, "received_by": sorted(received)}, links=(lot.lot_id,),
            ))
    return findings


def time_order(lot: LotFacts) -> list[Finding]:
    """Events about a lot (uses, transfers, receipts, assays, exports) that happened before it existed."""
    creation = lot.creation
    if creation is None:
        return []
    born = moment(creation.sort_key)
    touching = ([(c.event_id, c.type, c.sort_key) for c in lot.consumptions]
                + [(t.event_id, "lot.transferred", t.sort_key) for t in lot.transfers]
                + [(r.event_id, "lot.received", r.sort_key) for r in lot.receipts]
                + [(s.event_id, s.type, s.sort_key) for s in lot.others])
    return [
        Finding(
            kind="time_order", subject_id=lot.lot_id, key=event_id, severity="medium",
            message=f"{event_type} {event_id} happened at {moment(key)}, before lot {lot.lot_id} existed ({born}).",
            proof=(creation.event_id, event_id),
            detail={"happened_at": moment(key), "lot_created_at": born}, links=(lot.lot_id,),
        )
        for event_id, event_type, key in sorted(touching, key=lambda item: item[2])
        if moment(key) < born
    ]


def _transfer_received(receipt: Receipt, transfers: list[Transfer]) -> Transfer | None:
    before = [t for t in transfers if t.sort_key <= receipt.sort_key]
    to_receiver = [t for t in before if t.to_id == receipt.recorded_by]
    chosen = to_receiver or before
    return chosen[-1] if chosen else None


def transit_discrepancy(lot: LotFacts, tolerance: float) -> list[Finding]:
    """A receipt whose weight differs from the transfer it concludes by more than ``tolerance``, either way."""
    transfers = sorted(lot.transfers, key=lambda t: t.sort_key)
    findings = []
    for receipt in sorted(lot.receipts, key=lambda r: r.sort_key):
        transfer = _transfer_received(receipt, transfers)
        if transfer is None:
            continue
        difference = receipt.mass_g - transfer.mass_g
        if abs(difference) <= tolerance * transfer.mass_g:
            continue
        gained = difference > 0
        findings.append(Finding(
            kind="transit_discrepancy", subject_id=lot.lot_id, key=receipt.event_id,
            severity="high" if gained else "medium",
            message=(f"Lot {lot.lot_id} {'gained' if gained else 'lost'} {grams(abs(difference))} g in transit: "
                     f"{grams(transfer.mass_g)} g sent by {transfer.from_id}, {grams(receipt.mass_g)} g "
                     f"received by {receipt.recorded_by}."),
            proof=(transfer.event_id, receipt.event_id),
            detail={"transferred_g": grams(transfer.mass_g), "received_g": grams(receipt.mass_g),
                    "difference_g": grams(difference), "ratio": ratio(receipt.mass_g / transfer.mass_g),
                    "tolerance": tolerance},
            links=(lot.lot_id,),
        ))
    return findings


def border_crossings(lot: LotFacts, countries: Mapping[str, str]) -> list[Transfer]:
    """Transfers of the lot between organisations of two different (known) countries."""
    return [
        t for t in sorted(lot.transfers, key=lambda t: t.sort_key)
        if countries.get(t.from_id) and countries.get(t.to_id) and countries[t.from_id] != countries[t.to_id]
    ]


def export_without_permit(lot: LotFacts, countries: Mapping[str, str], permits_on_path: Iterable[str]) -> list[Finding]:
    """A lot leaving its country with no ``lot.exported`` permit on it or on any lot it came from."""
    if list(permits_on_path):
        return []
    return [
        Finding(
            kind="export_without_permit", subject_id=lot.lot_id, key=t.event_id, severity="high",
            message=(f"Lot {lot.lot_id} went from {t.from_id} ({countries[t.from_id]}) to {t.to_id} "
                     f"({countries[t.to_id]}) with no export permit on its path."),
            proof=(t.event_id,),
            detail={"from_country": countries[t.from_id], "to_country": countries[t.to_id]}, links=(lot.lot_id,),
        )
        for t in border_crossings(lot, countries)
    ]


def unknown_parties(lot: LotFacts, is_registered: Callable[[str], bool]) -> list[Finding]:
    """Transfers to or from someone who is neither a registered organisation nor a registered miner."""
    findings = []
    for transfer in sorted(lot.transfers, key=lambda t: t.sort_key):
        for role, party in (("from", transfer.from_id), ("to", transfer.to_id)):
            if not is_registered(party):
                findings.append(Finding(
                    kind="unknown_actor", subject_id=party, key=f"{transfer.event_id}:{role}", severity="medium",
                    message=f"Lot {lot.lot_id} was transferred {role} {party}, who is not registered.",
                    proof=(transfer.event_id,), detail={"role": role}, links=(lot.lot_id,),
                ))
    return findings


def retracted_after_use(lot: LotFacts) -> list[Finding]:
    """A hand-over or a creation of the lot its author retracted after another organisation had recorded
    steps on the lot relying on it: the receiver of a hand-over (its steps no longer count), anyone who
    used, assayed or passed on a lot whose making was taken back and not recorded again.

    A retraction is its author's word and counts (the log's corrections are never second-guessed), so the
    platform does not pick a side; the finding names the dispute, proved by the retracted event, its
    retraction and the steps that relied on it, so that taking back gold a buyer had already worked on, to
    sell it again, is never silent (the back-dated second hand-over it resembles is refused outright).
    A correction made before anyone relied on the event, or recorded again (the same hand-over, the lot made
    again from the same lots), raises nothing.
    """
    findings = []
    for taken in sorted(lot.retracted, key=lambda r: r.sort_key):
        handed_over = taken.type == "lot.transferred"
        if not taken.relying or taken.remade:
            continue
        relying = sorted({organisation for _event_id, organisation in taken.relying})
        what = "hand-over" if handed_over else f"making ({taken.type})"
        findings.append(Finding(
            kind="retracted_after_use", subject_id=lot.lot_id, key=taken.event_id, severity="high",
            message=(f"{taken.author} retracted its {what} of lot {lot.lot_id} ({taken.event_id}) after "
                     f"{', '.join(relying)} had recorded {len(taken.relying)} step(s) on the lot relying on it."),
            proof=(taken.event_id, taken.retraction_id, *(event_id for event_id, _organisation in taken.relying)),
            detail={"retracted_by": taken.author, "retracted_type": taken.type, "relying": relying,
                    "steps": len(taken.relying)},
            links=(lot.lot_id,),
        ))
    return findings


def check_lot(lot: LotFacts, *, mass_tolerance: float, transit_tolerance: float,
              countries: Mapping[str, str], is_registered: Callable[[str], bool],
              permits_on_path: Callable[[], list[str]]) -> list[Finding]:
    """Every custody rule on one lot. ``permits_on_path`` is called only if the lot crossed a border."""
    findings = (double_use(lot, mass_tolerance) + custody_break(lot) + time_order(lot)
                + transit_discrepancy(lot, transit_tolerance) + unknown_parties(lot, is_registered)
                + retracted_after_use(lot))
    if border_crossings(lot, countries):
        findings += export_without_permit(lot, countries, permits_on_path())
    return findings

