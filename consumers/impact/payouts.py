"""Retroactive payments, pure: who is owed what share of a sale, and the exact split of an amount.

A sale's payout is ``payout share x sale price``, rounded half up to the cent; when the miners of a
sale fall under different policies (a cooperative with a share of its own), each recipient's part
is ``its share x its weight x price`` and the payout is their sum, rounded half up to the cent. It is owed to the
miners whose gold is in the piece, through the lineage by fine gold: each production lot's share of
the piece's fine gold (the same weighting as the origin shares of the provenance answer), split
equally among the miners named on that lot. Gold with no production record (recycled gold, a lot
from outside the chain) is owed to nobody: its part is the line :data:`UNTRACED`, so that the lines
of a sale always add up to its payout. Cents are resolved by the largest-remainder method
(``arithmetic.largest_remainder``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Mapping

from consumers.impact.arithmetic import decimal, largest_remainder, to_cents
from consumers.provenance.lineage import is_untraced

#: the recipient of the share of gold not traced to any miner ("/" cannot occur in an identifier)
UNTRACED = "/untraced"


@dataclass
class Entitlement:
    """One recipient's exact share of a sale, the fine grams behind it and the lots they came from."""

    weight: Fraction = Fraction(0)
    fine_g: float = 0.0
    lots: list[str] = field(default_factory=list)


def entitlements(composition: Mapping[str, float], lot_miners: Mapping[str, list[str]],
                 fine_g: float | None) -> dict[str, Entitlement]:
    """Each miner's exact share of a piece, from its composition by production lot.

    ``composition`` maps a production lot (or an ``untraced:*`` key) to its share of the piece's
    fine gold; ``lot_miners`` names each lot's miners; ``fine_g`` is the piece's fine gold.
    """
    out: dict[str, Entitlement] = defaultdict(Entitlement)
    for source, share in sorted(composition.items()):
        exact = Fraction(decimal(float(share)))
        miners = sorted(set(lot_miners.get(source, ()))) if not is_untraced(source) else []
        recipients = miners or [UNTRACED]
        for recipient in recipients:
            entry = out[recipient]
            entry.weight += exact / len(recipients)
            entry.fine_g += (fine_g or 0.0) * float(share) / len(recipients)
            if recipient != UNTRACED or not is_untraced(source):
                entry.lots.append(source)
    return dict(out)


def payout_pool(price: Decimal, payout_share: Decimal) -> Decimal:
    """What a sale owes back: ``payout_share x price``, half up to the cent."""
    return to_cents(price * payout_share)


def allocate(price: Decimal, payout_share: Decimal, weights: Mapping[str, Fraction]) -> tuple[Decimal, dict[str, Decimal]]:
    """The pool of a sale and its split over ``weights``, adding up to the pool exactly."""
    pool = payout_pool(price, payout_share)
    if not weights or sum(weights.values()) == 0:
        return pool, {UNTRACED: pool}
    return pool, largest_remainder(pool, weights)


def allocate_by_share(price: Decimal, shares: Mapping[str, Decimal], weights: Mapping[str, Fraction],
                      default_share: Decimal) -> tuple[Decimal, dict[str, Decimal]]:
    """The pool of a sale whose recipients may owe different shares, and its split, adding up exactly.

    ``shares`` gives each recipient's share (``default_share`` for the others). With one share for
    all, this is :func:`allocate` to the cent.
    """
    if not weights or sum(weights.values()) == 0:
        return allocate(price, shares.get(UNTRACED, default_share), weights)
    distinct = {shares.get(recipient, default_share) for recipient in weights}
    if len(distinct) == 1:
        return allocate(price, distinct.pop(), weights)
    exact = {recipient: Fraction(shares.get(recipient, default_share)) * weight for recipient, weight in weights.items()}
    whole = sum(exact.values(), Fraction(0)) * Fraction(price)
    pool = to_cents(Decimal(whole.numerator) / Decimal(whole.denominator))
    if pool == 0:
        return pool, {recipient: Decimal("0.00") for recipient in weights}
    return pool, largest_remainder(pool, exact)
