"""Where a reader is in the log: for each partition, the next offset to read.

A log is one or more partitions, each totally ordered by offset; between partitions there is no
order. The SQLite log is one partition (number 0) whose offsets are the event positions minus one,
so its :class:`LogPosition` is ``{0: position of the last event read}``. A Kafka topic has one
entry per partition. Positions are therefore compared partition by partition ("at or past"), not
by a single number; only a one-partition log has a total order, and :attr:`LogPosition.total`
is then the familiar event position.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Mapping


class LogPosition(Mapping[int, int]):
    """A frozen mapping partition -> next offset to read; a partition not named is at its start (0)."""

    __slots__ = ("_offsets",)

    def __init__(self, offsets: Mapping[int, int] | Iterable[tuple[int, int]] = ()):
        items = dict(offsets)
        if any(offset < 0 or partition < 0 for partition, offset in items.items()):
            raise ValueError(f"not a log position: {items}")
        self._offsets = {int(partition): int(items[partition]) for partition in sorted(items)}

    @classmethod
    def start(cls) -> "LogPosition":
        """Before every event of every partition."""
        return cls()

    # -- the mapping ------------------------------------------------------------------------
    def __getitem__(self, partition: int) -> int:
        return self._offsets[partition]

    def __iter__(self) -> Iterator[int]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    def offset(self, partition: int) -> int:
        """The next offset to read in ``partition`` (0: nothing read there yet)."""
        return self._offsets.get(partition, 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return all(self.offset(p) == other.get(p, 0) for p in set(self) | set(other))

    def __hash__(self) -> int:
        return hash(frozenset((p, o) for p, o in self._offsets.items() if o))

    def __repr__(self) -> str:
        return f"LogPosition({self._offsets})"

    # -- comparing ---------------------------------------------------------------------------
    def reached(self, other: Mapping[int, int]) -> bool:
        """True if this position is at or past ``other`` in every partition (a partial order)."""
        return all(self.offset(partition) >= offset for partition, offset in other.items())

    def lag_by_partition(self, end: Mapping[int, int]) -> dict[int, int]:
        """How many offsets each partition of ``end`` is ahead of this position (0 where not)."""
        return {partition: max(0, offset - self.offset(partition)) for partition, offset in sorted(end.items())}

    def behind(self, end: Mapping[int, int]) -> int:
        """How many offsets of ``end`` this position has not reached, summed over partitions."""
        return sum(self.lag_by_partition(end).values())

    @property
    def total(self) -> int:
        """The offsets summed over partitions: on a one-partition log the position of the last event
        read; on Kafka a count of records (events and transaction markers), for lag and metrics only."""
        return sum(self._offsets.values())

    # -- moving ------------------------------------------------------------------------------
    def advanced(self, offsets: Mapping[int, int]) -> "LogPosition":
        """This position with the partitions of ``offsets`` moved forward to them (never back)."""
        merged = dict(self._offsets)
        for partition, offset in offsets.items():
            merged[partition] = max(merged.get(partition, 0), offset)
        return LogPosition(merged)

    def as_json(self) -> dict[str, int]:
        """The position as a JSON object (partition numbers as keys), for reports."""
        return {str(partition): offset for partition, offset in self._offsets.items()}
