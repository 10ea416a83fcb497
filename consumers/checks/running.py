"""Totals and running prefixes of a month's productions or purchases, computed from their rows in one pass.

The capacity rules need, for a pit, a miner or a buyer in a month, the total and the first rows (in the
order they happened) up to the one that takes the total over a capacity. Loading the month's rows once
and summing them here costs one plain query, where a window sum in SQL sorted the whole month again
for each question. The arithmetic is the SQL's: milligrams summed exactly, and rows of one ordering key
(peers) counted together, as the default frame of a SQL window (``RANGE ... CURRENT ROW``) counts them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

from consumers.checks.facts import MonthTotal, Production

Item = TypeVar("Item")
Pair = tuple[str, str]


def running_prefix(ordered: Sequence[tuple[Item, float]], limit_mg: float, peers: Callable[[Item], Hashable]) -> list[Item]:
    """The items of ``ordered`` ((item, milligrams) in the order they happened) whose running total before
    them is at most ``limit_mg``: up to the first that takes the total over it; ``peers(item)`` is the
    ordering key (items of one key count together)."""
    found: list[Item] = []
    running, start = 0, 0
    while start < len(ordered):
        end, key, through = start, peers(ordered[start][0]), running
        while end < len(ordered) and peers(ordered[end][0]) == key:
            through += ordered[end][1]
            end += 1
        found.extend(item for item, mg in ordered[start:end] if through - mg <= limit_mg)
        running, start = through, end
    return found


class MonthProductions:
    """The productions of some (pit or miner, month) pairs, each with its milligrams, in the order they happened."""

    def __init__(self, rows: dict[Pair, list[tuple[Production, int]]]):
        self.rows = {pair: sorted(found, key=lambda row: row[0].sort_key) for pair, found in rows.items()}

    def pit_total(self, pair: Pair) -> MonthTotal | None:
        """What a pit produced in a month (None: nothing)."""
        found = self.rows.get(pair)
        if not found:
            return None
        return MonthTotal(pair[0], pair[1], pair[0], int(sum(mg for _, mg in found)) / 1000, len(found))

    def miner_totals(self, pair: Pair) -> list[MonthTotal]:
        """What a miner produced in a month at each pit, by pit id."""
        by_pit: dict[str, list[int]] = defaultdict(list)
        for production, mg in self.rows.get(pair, ()):
            by_pit[production.pit_id].append(mg)
        return [MonthTotal(pair[0], pair[1], pit_id, int(sum(grams)) / 1000, len(grams))
                for pit_id, grams in sorted(by_pit.items())]

    def prefix(self, pair: Pair, capacity_g: float) -> list[Production]:
        """The month's productions in the order they happened, up to the first that takes the total over ``capacity_g``."""
        return running_prefix(self.rows.get(pair, []), capacity_g * 1000, lambda production: production.sort_key)

    def pairs(self) -> Iterable[Pair]:
        """The pairs that produced."""
        return (pair for pair, found in self.rows.items() if found)
