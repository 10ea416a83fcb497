"""Pure arithmetic of the impact indicators: medians, gaps, weighted averages, exact allocation.

Money is ``decimal.Decimal`` throughout; exact shares are ``fractions.Fraction``. Nothing here
touches a database.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor
from typing import Iterable, Mapping, Sequence

CENT = Decimal("0.01")


def median(values: Sequence[Decimal]) -> Decimal | None:
    """The median (the mean of the two middle values for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def gap(men: Decimal | None, women: Decimal | None) -> Decimal | None:
    """The gender gap as a fraction of the men's value: (men - women) / men.

    Positive when women get less (0.25: women get 25 % less than men); None when either value is
    missing or the men's value is zero.
    """
    if men is None or women is None or men == 0:
        return None
    return (men - women) / men


def decimal(value: Decimal | int | float | str) -> Decimal:
    """A Decimal of ``value``; a float is taken at its shortest repr (12.5 -> Decimal("12.5"))."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def ratio(part: Decimal | int | float, whole: Decimal | int | float) -> Decimal | None:
    """``part / whole`` as a Decimal; None when ``whole`` is zero."""
    if not whole:
        return None
    return decimal(part) / decimal(whole)


def weighted_average(pairs: Iterable[tuple[Decimal | None, Decimal]]) -> tuple[Decimal | None, Decimal]:
    """The average of ``(value, weight)`` pairs over those that have a value, and the weight covered.

    A missing value (unknown or suppressed) is left out and the other weights are renormalised, so a
    hidden value can never be recovered from the average and the visible ones. Returns
    ``(average, covered_weight)``; the average is None when no weight is covered.
    """
    total = Decimal(0)
    covered = Decimal(0)
    for value, weight in pairs:
        if value is None or weight <= 0:
            continue
        total += value * weight
        covered += weight
    if covered == 0:
        return None, covered
    return total / covered, covered


def age_band(birth_year: int | None, year: int) -> str | None:
    """The age band of someone born in ``birth_year``, in ``year`` (age = year - birth year); ``None``
    when the birth year is unknown (an erased miner counts in the totals, in no age band)."""
    if birth_year is None:
        return None
    age = year - birth_year
    if age < 18:
        return "under_18"
    if age <= 24:
        return "18_24"
    if age <= 34:
        return "25_34"
    if age <= 44:
        return "35_44"
    if age <= 54:
        return "45_54"
    return "55_plus"


def to_cents(amount: Decimal) -> Decimal:
    """Round an amount to the cent, half up (0.005 -> 0.01)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def largest_remainder(total: Decimal, weights: Mapping[str, Fraction | Decimal | int],
                      quantum: Decimal = CENT) -> dict[str, Decimal]:
    """Split ``total`` (a whole number of ``quantum``) over ``weights`` so the parts add up exactly.

    Each recipient first gets its exact quota rounded down to the quantum; the quanta left over go,
    one each, to the recipients with the largest remainders (ties: the smaller recipient id first).
    This is the largest-remainder (Hamilton) method: no part is ever more than one quantum away from
    its exact quota, and the sum is ``total`` to the quantum. Zero weights get zero.
    """
    units = total / quantum
    if units != units.to_integral_value():
        raise ValueError(f"{total} is not a whole number of {quantum}")
    units_left = int(units)
    exact = {key: Fraction(weight) for key, weight in weights.items()}
    if any(weight < 0 for weight in exact.values()):
        raise ValueError("weights must not be negative")
    whole = sum(exact.values(), Fraction(0))
    if whole == 0:
        if units_left:
            raise ValueError("cannot allocate a non-zero total over zero weights")
        return {key: Decimal(0) * quantum for key in weights}
    quotas = {key: units_left * weight / whole for key, weight in exact.items()}
    parts = {key: floor(quota) for key, quota in quotas.items()}
    leftover = units_left - sum(parts.values())
    by_remainder = sorted(quotas, key=lambda key: (-(quotas[key] - parts[key]), key))
    for key in by_remainder[:leftover]:
        parts[key] += 1
    return {key: quantum * count for key, count in parts.items()}
