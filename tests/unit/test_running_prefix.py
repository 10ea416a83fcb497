"""The proof of a capacity finding read page by page is exactly what SQL's window sum keeps."""
from __future__ import annotations

from hypothesis import given, strategies as st

from consumers.checks.prefix import running_prefix


def window_prefix(rows: list[tuple[int, int, int]], limit_mg: float) -> list[tuple[int, int, int]]:
    """What ``SUM(mg) OVER (ORDER BY key)`` keeps with ``running - mg <= limit``: rows of one key share
    their running total (SQL's default frame ends with the current row's last peer)."""
    kept = []
    for row in rows:
        running = sum(other[1] for other in rows if other[0] <= row[0])
        if running - row[1] <= limit_mg:
            kept.append(row)
    return kept


#: (order key, milligrams, row number), sorted by key as the index gives them
rows_in_order = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 50)), max_size=120).map(
    lambda pairs: sorted((key, mg, number) for number, (key, mg) in enumerate(pairs)))


@given(rows=rows_in_order, limit=st.one_of(st.integers(-1, 800), st.floats(0, 800)), first_page=st.integers(1, 9))
def test_the_prefix_read_in_pages_is_the_window_sums(rows, limit, first_page):
    asked = []

    def fetch(size):
        asked.append(size)
        return rows[:size]

    assert running_prefix(fetch, order_key=lambda row: row[0], milligrams=lambda row: row[1], limit_mg=limit,
                          first_page=first_page) == window_prefix(rows, limit)
    assert asked == sorted(asked) and len(set(asked)) == len(asked)  # each page larger than the one before


def test_it_stops_reading_once_the_total_is_over():
    rows = [(key, 10, key) for key in range(10_000)]
    asked = []

    def fetch(size):
        asked.append(size)
        return rows[:size]

    kept = running_prefix(fetch, order_key=lambda row: row[0], milligrams=lambda row: row[1], limit_mg=1_000, first_page=16)
    assert kept == rows[:101]  # 100 rows make 1,000 mg; the 101st takes the total over
    assert asked == [16, 64, 256]


def test_rows_of_one_order_key_are_never_split_across_pages():
    """Two rows at one instant count together: a page ending between them is read again, longer."""
    rows = [(0, 5, 0), (1, 3, 1), (1, 3, 2), (2, 1, 3)]
    kept = running_prefix(lambda size: rows[:size], order_key=lambda row: row[0], milligrams=lambda row: row[1],
                          limit_mg=7, first_page=2)
    assert kept == window_prefix(rows, 7) == [(0, 5, 0)]
