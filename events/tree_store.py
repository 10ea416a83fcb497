"""Where the log's Merkle tree is kept: one interface, whatever sequences the leaves.

A store holds the hashes of the tree's complete subtrees (:mod:`events.merkle`), filled as leaves
are appended in their fixed order, and the signed checkpoints published over it. Proofs for any
tree size it ever had are read from it with O(log n) node reads and no rehashing.

The SQLite log appends leaves in the transaction of the events themselves (leaf index = position
- 1, :mod:`events.sqlite_tree`). On Kafka a sequencer fixes the order (:mod:`events.kafka_sequencer`)
and every node replays it into ``services.database_tree``; nothing else changes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Mapping, Sequence

from events import merkle
from events.log import RecordedEvent
from events.merkle import Node


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint as kept: its tree size, root hash and the signed note (text)."""

    tree_size: int
    root: bytes
    note: str
    signed_at: str


class TreeMismatch(Exception):
    """The leaves offered do not continue the stored tree (a gap, or a log rewritten behind it)."""


class TreeStore(ABC):
    """The complete subtrees of one append-only Merkle tree, and its signed checkpoints."""

    @abstractmethod
    def size(self) -> int:
        """The number of leaves stored."""

    @abstractmethod
    def read(self, nodes: Sequence[Node]) -> Mapping[Node, bytes]:
        """The hashes of the complete subtrees ``nodes`` (each must exist)."""

    @abstractmethod
    def append_leaves(self, first_index: int, leaf_data: Sequence[bytes]) -> None:
        """Append leaves (their data: an event's 32-byte hash) at ``first_index``, which must be :meth:`size`."""

    @abstractmethod
    def leaf_data(self, start: int, end: int) -> list[bytes]:
        """The data of leaves ``start`` to ``end`` - 1 (each an event's 32-byte hash), as many as the tree holds."""

    @abstractmethod
    def leaf_index(self, event_id: str) -> int | None:
        """The leaf index of an event, or None if the tree has no such event."""

    def leaf_indexes(self, event_ids: Sequence[str]) -> dict[str, int]:
        """The leaf index of each of ``event_ids`` the tree holds (a store may answer them in one query)."""
        found = {event_id: self.leaf_index(event_id) for event_id in event_ids}
        return {event_id: index for event_id, index in found.items() if index is not None}

    def leaf_indexes_of(self, events: Sequence[RecordedEvent]) -> dict[str, int]:
        """:meth:`leaf_indexes` of events already read from the log (a store whose leaves follow the
        log's positions needs no lookup)."""
        return self.leaf_indexes([event.event_id for event in events])

    @abstractmethod
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The signed checkpoint of the largest tree size, if any."""

    @abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every signed checkpoint kept, smallest tree first (the self-check checks each)."""

    @abstractmethod
    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Keep a signed checkpoint (a second one of the same size is ignored: Ed25519 notes of one
        key over one tree are identical but for the time they were made)."""

    def root(self, size: int) -> bytes:
        """The root hash of the tree of the first ``size`` leaves."""
        return merkle.tree_root(size, self.read)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 ``PATH(index, D[0:size])``."""
        return merkle.hashes_of(merkle.inclusion_ranges(index, size), self.read)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """RFC 9162 ``PROOF(old, D[0:new])``."""
        return merkle.hashes_of(merkle.consistency_ranges(old, new), self.read)
