"""Rules on trade: a miner paid far below the reference price, a cooperative buying more than its pits can
give, an export with no royalties recorded.

Pure functions: transfers, reference prices, capacities and exports in, findings out.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable, Iterable, Mapping

from consumers.checks.facts import Capacity, Purchase, Stamp, Transfer, month_key
from consumers.checks.findings import Finding, grams, ratio
from consumers.checks.pits import capacity_in
from consumers.impact.value_chain import ReferencePrices


def price_below_reference(transfer: Transfer, fineness: tuple[float, str] | None, prices: ReferencePrices,
                          price_events: Mapping[tuple[str, str], str], floor: Decimal) -> list[Finding]:
    """A purchase paid, per gram of fine gold, less than ``floor`` times the reference price of its day.

    ``fineness``: the lot's stated fineness and the event stating it (None: unknown, nothing to compare);
    the reference is the latest ``market.price_recorded`` in the purchase's currency on or before its
    day (``price_events``: the id of the event behind each (currency, date) price).
    """
    if transfer.price_per_g is None or transfer.currency is None or fineness is None or not fineness[0]:
        return []
    reference = prices.on(transfer.day, transfer.currency)
    if reference is None or not reference[1]:
        return []
    date, price = reference
    paid = Decimal(transfer.price_per_g) / Decimal(str(fineness[0]))
    if paid >= floor * price:
        return []
    share = paid / price
    return [Finding(
        kind="price_below_reference", subject_id=transfer.to_id, key=transfer.event_id, severity="medium",
        message=(f"{transfer.to_id} paid {transfer.from_id} {transfer.price_per_g} {transfer.currency} a gram for lot "
                 f"{transfer.lot_id} on {transfer.day}: {paid.quantize(Decimal('0.01'))} a gram of fine gold, "
                 f"{ratio(float(share)):.0%} of the reference {price} (the floor is {float(floor):.0%})."),
        proof=(transfer.event_id, fineness[1], price_events[(transfer.currency, date)]),
        detail={"currency": transfer.currency, "price_per_g_fine": str(paid.quantize(Decimal("0.01"))),
                "reference_per_g_fine": str(price), "reference_date": date, "ratio_to_reference": ratio(float(share)),
                "floor": float(floor), "fineness": fineness[0]},
        links=(transfer.lot_id,),
    )]


def royalties_unrecorded(lot_id: str, stamps: Iterable[Stamp]) -> list[Finding]:
    """A lot exported without any of its exports stating the royalties paid."""
    exports = sorted((s for s in stamps if s.type == "lot.exported"), key=lambda s: s.sort_key)
    if not exports or any(s.royalties for s in exports):
        return []
    return [Finding(
        kind="royalties_unrecorded", subject_id=lot_id, key=lot_id, severity="low",
        message=(f"Lot {lot_id} was exported with no royalties recorded: the community and the buyer cannot "
                 "see that the taxes due on it were paid."),
        proof=tuple(s.event_id for s in exports), detail={"exports": len(exports)},
        links=(lot_id,),
    )]


def cooperative_over_capacity(buyer: str, month: str, by_pit: Mapping[str, tuple[float, int]],
                              statements_by_pit: Mapping[str, list[Capacity]],
                              prefix: Callable[[Iterable[str], float], list[Purchase]]) -> list[Finding]:
    """A cooperative buying, in a month, more production than the pits it came from can yield together.

    ``by_pit``: the grams and number of production lots it bought that month, by pit. Lots of pits of
    unknown capacity are left out of both sides (``capacity_unknown`` says so). ``prefix(pits, limit)``:
    its purchases from those pits in the order they happened, up to the first that takes them over ``limit``.
    """
    capacities = {pit_id: capacity_in(month, statements_by_pit.get(pit_id, ())) for pit_id in by_pit}
    capacities = {pit_id: capacity for pit_id, capacity in capacities.items() if capacity is not None}
    if not capacities:
        return []
    limit = sum(c.capacity_g for c in capacities.values())
    total = sum(by_pit[pit_id][0] for pit_id in sorted(capacities))
    if total <= limit:
        return []
    return [Finding(
        kind="cooperative_over_capacity", subject_id=buyer, key=month, severity="medium",
        message=(f"{buyer} bought {grams(total)} g of production in {month} from pits "
                 f"({', '.join(sorted(capacities))}) that can yield {grams(limit)} g a month together."),
        proof=(*sorted({c.event_id for c in capacities.values()}), *(p.event_id for p in prefix(capacities, limit))),
        detail={"month": month, "purchased_g": grams(total), "capacity_g": grams(limit),
                "purchases": sum(by_pit[pit_id][1] for pit_id in capacities), "pits": len(capacities)},
        # every lot the cooperative bought that month (a key, not a list: it grows with each purchase)
        links=(month_key("coop", month, buyer),),
    )]
