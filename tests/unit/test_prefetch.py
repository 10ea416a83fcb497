"""Reading ahead in a thread: the same items in the same order, the source's errors, a clean stop."""
from __future__ import annotations

import threading

import pytest

from consumers.prefetch import Prefetched
from tests.waiting import wait_until


class Source:
    """A source generator that notes the thread it runs in, what it produced, and whether it was cleaned up."""

    def __init__(self, items, fail_after: int | None = None):
        self.items = list(items)
        self.fail_after = fail_after
        self.threads: set[int] = set()
        self.produced = 0
        self.closed_in: int | None = None

    def __call__(self):
        try:
            for index, item in enumerate(self.items):
                if self.fail_after is not None and index == self.fail_after:
                    raise ValueError(f"broken at {index}")
                self.threads.add(threading.get_ident())
                self.produced += 1
                yield item
        finally:
            self.closed_in = threading.get_ident()


def test_the_items_come_in_the_source_order_produced_by_another_thread():
    source = Source(range(50))
    with Prefetched(source, depth=2) as items:
        assert list(items) == list(range(50))
    assert source.threads and threading.get_ident() not in source.threads
    assert source.closed_in in source.threads  # cleaned up where it ran


def test_what_the_source_raises_is_raised_to_the_reader_after_the_items_before_it():
    items = Prefetched(Source(["a", "b", "c", "d"], fail_after=2))
    assert next(items) == "a"
    assert next(items) == "b"
    with pytest.raises(ValueError, match="broken at 2"):
        next(items)
    with pytest.raises(StopIteration):  # and nothing after it
        next(items)
    items.close()


def test_closing_early_stops_the_thread_and_closes_the_source_in_it():
    source = Source(range(10_000))
    items = Prefetched(source, depth=1, name="prefetch-test")
    assert next(items) == 0
    wait_until(lambda: source.produced >= 2, timeout=5)  # the thread is reading ahead
    items.close()
    assert source.closed_in is not None and source.closed_in != threading.get_ident()
    assert source.produced < 10_000  # it stopped instead of reading everything
    assert "prefetch-test" not in {thread.name for thread in threading.enumerate()}
    with pytest.raises(StopIteration):
        next(items)


def test_an_empty_source_ends_at_once():
    with Prefetched(Source([])) as items:
        assert list(items) == []
