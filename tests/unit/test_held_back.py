"""Partitions held back by a transaction nobody closes (``services.held_back``), with a clock moved by hand."""
from __future__ import annotations

from services.held_back import HeldBackWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_stable_offset_that_stays_put_below_the_end_is_held_back_after_the_set_time():
    clock = Clock()
    watch = HeldBackWatch(after_s=60, clock=clock)
    assert watch.observe({0: 5, 1: 9}, {0: 5, 1: 12}) == []
    clock.now += 59
    assert watch.observe({0: 5, 1: 9}, {0: 8, 1: 71}) == []  # partition 0 only now below its end
    clock.now += 1
    assert watch.observe({0: 8, 1: 9}, {0: 8, 1: 71}) == [
        {"partition": 1, "last_stable_offset": 9, "high_watermark": 71, "held_for_s": 60.0}]


def test_readers_that_move_on_are_not_held_back_even_behind_the_end():
    clock = Clock()
    watch = HeldBackWatch(after_s=60, clock=clock)
    for offset in range(10, 100, 10):  # a busy partition: always a transaction open, the stable offset moving
        assert watch.observe({0: offset}, {0: offset + 7}) == []
        clock.now += 30


def test_a_partition_caught_up_again_starts_afresh():
    clock = Clock()
    watch = HeldBackWatch(after_s=60, clock=clock)
    watch.observe({0: 9}, {0: 20})
    clock.now += 61
    assert [held["partition"] for held in watch.observe({0: 9}, {0: 20})] == [0]
    assert watch.observe({0: 20}, {0: 20}) == []  # aborted: the markers let readers through
    watch.observe({0: 20}, {0: 25})
    clock.now += 30
    assert watch.observe({0: 20}, {0: 25}) == []
