"""The first facts of a month that alone exceed a capacity, read from the start of the month and no further.

A capacity finding's proof is the month's facts in the order they happened up to the first that takes
the running total over the limit: exactly the rows a window sum keeps (``running - own <= limit``, rows
of equal order key summed together, as SQL's default window frame does). Reading them in pages from an
index in that order, each page after the last, and stopping once the total is over, costs the length of
the proof, not of the month: a busy month is recomputed at every batch that touches it.
"""
from __future__ import annotations

from itertools import groupby
from typing import Callable, Sequence, TypeVar

Row = TypeVar("Row")

#: rows asked for first; each further page asks for four times as many, up to ``LAST_PAGE``
FIRST_PAGE = 64
LAST_PAGE = 4096


def running_prefix(fetch: Callable[[str | None, int], Sequence[Row]], order_key: Callable[[Row], str],
                   milligrams: Callable[[Row], float], limit_mg: float, first_page: int = FIRST_PAGE) -> list[Row]:
    """The rows whose running total before them (rows of one order key together) is at most ``limit_mg``.

    ``fetch(after, n)``: the first ``n`` rows in order whose order key is greater than ``after`` (all
    of them for None; fewer when there are no more); ``milligrams``: a row's weight, never negative (so
    once the total is over, every later row is too).
    """
    chosen: list[Row] = []
    total: float = 0
    after: str | None = None
    size = first_page
    while True:
        rows = list(fetch(after, size))
        last_page = len(rows) < size
        if not last_page:  # the page may end inside the last order key's rows: that key is read again next
            cut = order_key(rows[-1])
            rows = [row for row in rows if order_key(row) != cut]
            if not rows:  # one order key holds more rows than the page
                size *= 4
                continue
        for _key, group in groupby(rows, key=order_key):
            if total > limit_mg:
                return chosen
            group = list(group)
            weight = sum(milligrams(row) for row in group)
            chosen += [row for row in group if total + weight - milligrams(row) <= limit_mg]
            total += weight
        if last_page or total > limit_mg:
            return chosen
        after = order_key(rows[-1])
        size = min(size * 4, max(LAST_PAGE, size))
