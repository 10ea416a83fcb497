"""The first facts of a month that alone exceed a capacity, read from the start of the month and no further.

A capacity finding's proof is the month's facts in the order they happened up to the first that takes
the running total over the limit: exactly the rows a window sum keeps (``running - own <= limit``, rows
of equal order key summed together, as SQL's default window frame does). Reading them in pages from an
index in that order, and stopping once the total is over, costs the length of the proof, not of the
month: a busy month is recomputed at every batch that touches it.
"""
from __future__ import annotations

from itertools import groupby
from typing import Callable, Hashable, Sequence, TypeVar

Row = TypeVar("Row")

#: rows asked for first; each further page asks for four times as many, from the start
FIRST_PAGE = 64


def running_prefix(fetch: Callable[[int], Sequence[Row]], order_key: Callable[[Row], Hashable],
                   milligrams: Callable[[Row], float], limit_mg: float, first_page: int = FIRST_PAGE) -> list[Row]:
    """The rows whose running total before them (rows of one order key together) is at most ``limit_mg``.

    ``fetch(n)``: the first ``n`` rows in order (fewer when there are no more); ``milligrams``: a row's
    weight, never negative (so once the total is over, every later row is too).
    """
    size = first_page
    while True:
        rows = fetch(size)
        chosen, decided = _prefix(rows, order_key, milligrams, limit_mg, complete=len(rows) < size)
        if decided:
            return chosen
        size *= 4


def _prefix(rows: Sequence[Row], order_key: Callable[[Row], Hashable], milligrams: Callable[[Row], float],
            limit_mg: float, complete: bool) -> tuple[list[Row], bool]:
    """The prefix within ``rows``, and whether it is final (else a longer page may change its end)."""
    chosen: list[Row] = []
    total: float = 0
    groups = [list(group) for _key, group in groupby(rows, key=order_key)]
    for index, group in enumerate(groups):
        if total > limit_mg:
            return chosen, True
        if not complete and index == len(groups) - 1:
            return chosen, False  # the next page may hold more rows of this order key
        weight = sum(milligrams(row) for row in group)
        chosen += [row for row in group if total + weight - milligrams(row) <= limit_mg]
        total += weight
    return chosen, True
