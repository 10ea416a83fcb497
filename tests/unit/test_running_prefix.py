"""The proof of a capacity finding read page by page is exactly what SQL's window sum keeps."""
from __future__ import annotations

from hypothesis import given, strategies as st

from consumers.checks.prefix import running_prefix


def window_prefix(rows: list[tuple[str, int, int]], limit_mg: float) -> list[tuple[str, int, int]]:
    """What ``SUM(mg) OVER (ORDER BY key)`` keeps with ``running - mg <= limit``: rows of one key share
    their running total (SQL's default frame ends with the current row's last peer)."""
    kept = []
    for row in rows:
        running = sum(other[1] for other in rows if other[0] <= row[0])
        if running - row[1] <= limit_mg:
            kept.append(row)
    return kept


class Index:
    """Rows in order, read as an index gives them: after a key, a page at a time; every read is noted."""

    def __init__(self, rows):
        self.rows = rows
        self.reads: list[tuple[str | None, int, int]] = []

    def __call__(self, after, size):
        page = [row for row in self.rows if after is None or row[0] > after][:size]
        self.reads.append((after, size, len(page)))
        return page


#: (order key, milligrams, row number), sorted by key
rows_in_order = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 50)), max_size=120).map(
    lambda pairs: sorted((f"{key:03d}", mg, number) for number, (key, mg) in enumerate(pairs)))


def prefix(index: Index, limit, first_page: int = 64):
    return running_prefix(index, order_key=lambda row: row[0], milligrams=lambda row: row[1], limit_mg=limit,
                          first_page=first_page)


@given(rows=rows_in_order, limit=st.one_of(st.integers(-1, 800), st.floats(0, 800)), first_page=st.integers(1, 9))
def test_the_prefix_read_in_pages_is_the_window_sums(rows, limit, first_page):
    index = Index(rows)
    assert prefix(index, limit, first_page) == window_prefix(rows, limit)


def test_it_reads_each_row_once_and_stops_once_the_total_is_over():
    index = Index([(f"{key:05d}", 10, key) for key in range(10_000)])
    kept = prefix(index, 1_000, first_page=16)
    assert kept == index.rows[:101]  # 100 rows make 1,000 mg; the 101st takes the total over
    assert index.reads == [(None, 16, 16), ("00014", 64, 64), ("00077", 256, 256)]  # the last key of a full page is read again


def test_rows_of_one_order_key_are_never_split_across_pages():
    """Two rows at one instant count together: a page ending between them reads them again, whole."""
    rows = [("a", 5, 0), ("b", 1, 1), ("b", 1, 2), ("b", 1, 3), ("c", 1, 4)]
    # one at a time, the first "b" would be kept (5 mg before it); together the "b"s stand at 8 mg
    assert prefix(Index(rows), 6, first_page=2) == window_prefix(rows, 6) == [("a", 5, 0)]
    assert prefix(Index(rows), 7, first_page=2) == window_prefix(rows, 7) == rows[:4]
    assert prefix(Index(rows), 7, first_page=1) == rows[:4]  # "b" holds more rows than the first pages
