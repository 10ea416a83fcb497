"""Cells of the impact tables and the suppression of small ones.

A cell is one number of one indicator for one period and one group of people (a gender, an age
band, a work role or training kind, or "all"). Each cell knows ``n``, the number of distinct
people it was computed from.

Suppression, for every reader who is not an admin:
1. **primary**: a cell computed from fewer than :data:`MIN_CELL` people is suppressed, zero
   included (showing zeros while hiding 1 to 4 would tell that a small group exists);
2. **secondary**: where a breakdown adds up to a shown total ("all"), a single hidden part could be
   recovered by subtraction; so when exactly one part of a shown total is hidden and it stands for
   some people, the smallest other part is hidden too, repeated along every breakdown (gender, age
   band, role or kind) until no such lone part is left. (A lone hidden zero may be recovered: it
   discloses nobody.) Medians and comparisons do not add up and skip this step.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Iterable

from consumers.impact.arithmetic import decimal, to_cents
from consumers.impact.catalogue import INDICATORS

MIN_CELL = 5
ALL = "all"


@dataclass(frozen=True)
class Cell:
    """One number of an indicator, with the count of people behind it."""

    period: str
    indicator: str
    value: Any
    n: int
    gender: str = ALL
    age_band: str = ALL
    category: str = ALL
    suppressed: bool = False

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Where the cell sits: period, indicator, category, gender, age band."""
        return (self.period, self.indicator, self.category, self.gender, self.age_band)


def suppress(cells: Iterable[Cell], minimum: int = MIN_CELL) -> list[Cell]:
    """The cells with primary and secondary suppression applied (see the module's docstring)."""
    marked = {cell.key: replace(cell, suppressed=True) if cell.n < minimum and not cell.suppressed else cell
              for cell in cells}
    groups = _sibling_sets(marked)
    changed = True
    while changed:
        changed = False
        for total_key, part_keys in groups:
            total = marked[total_key]
            if total.suppressed:
                continue
            parts = [marked[key] for key in part_keys]
            hidden = [cell for cell in parts if cell.suppressed]
            if len(hidden) != 1 or hidden[0].n == 0:
                continue
            shown = [cell for cell in parts if not cell.suppressed]
            if shown:
                smallest = min(shown, key=lambda cell: (cell.n, cell.key))
                marked[smallest.key] = replace(smallest, suppressed=True)
            else:  # the total is the hidden part itself
                marked[total.key] = replace(total, suppressed=True)
            changed = True
    return list(marked.values())


def _sibling_sets(cells: dict[tuple, Cell]) -> list[tuple[tuple, list[tuple]]]:
    """For every shown breakdown of an additive indicator: the key of its total and of its parts.

    Cells that differ only in one dimension (category, gender or age band) are siblings; the one
    whose value there is "all" is their total.
    """
    groups: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for key in cells:
        period, indicator, category, gender, band = key
        if not INDICATORS[indicator].additive:
            continue
        groups[(period, indicator, 0, gender, band)][category] = key
        groups[(period, indicator, 1, category, band)][gender] = key
        groups[(period, indicator, 2, category, gender)][band] = key
    return [(group[ALL], [key for value, key in group.items() if value != ALL])
            for group in groups.values() if len(group) > 1 and ALL in group]


def render(cell: Cell, reveal: bool, dimensions: tuple[str, ...]) -> dict[str, Any]:
    """A cell as JSON: ``{"suppressed": true}`` in place of its value and n unless ``reveal``."""
    out: dict[str, Any] = {"period": cell.period, "indicator": cell.indicator,
                           "category": None if cell.category == ALL else cell.category}
    for dimension in dimensions:
        out[dimension] = getattr(cell, dimension)
    if cell.suppressed and not reveal:
        out["suppressed"] = True
        return out
    out["value"] = json_value(cell.value, INDICATORS[cell.indicator].unit)
    out["n"] = cell.n
    if cell.suppressed:
        out["below_threshold"] = True  # an admin sees it, and that others do not
    return out


def json_value(value: Any, unit: str) -> Any:
    """A value as JSON by its unit: money as a decimal string to the cent, ratios to 4 places."""
    if value is None:
        return None
    if unit == "money":
        return str(to_cents(decimal(value)))
    if unit == "ratio":
        return float(round(decimal(value), 4))
    if unit == "grams":
        return round(float(value), 2)
    return int(value)
