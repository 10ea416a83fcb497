"""The log's Merkle tree in the read-model database (SQLite or PostgreSQL), for logs sequenced elsewhere.

On Kafka the leaf order is the sequencer's (:mod:`events.kafka_sequencer`); every node replays the
tree topic into these tables (``services.kafka_tree``), so any node, and any rebuilt database,
holds the same tree and proves the same roots. Tables:

- ``log_tree_nodes``: the hash of every complete subtree, as in the SQLite log's ``tree_nodes``;
- ``log_tree_leaves``: which event each leaf is and where it sits in Kafka (a bundle reads it back);
- ``log_checkpoints``: every checkpoint signed over this tree (``oretrail verify --log`` checks each);
- ``log_tree_replay``: how far the tree topic was replayed, written with the leaves it brought.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import (BigInteger, Column, Connection, Engine, Integer, LargeBinary, MetaData, String, Table, Text,
                        func, select)
from sqlalchemy.dialects import postgresql, sqlite

from events import merkle
from events.kafka_tree_topic import TreeBatch
from events.merkle import Node
from events.tree_store import StoredCheckpoint, TreeMismatch, TreeStore
from services.database import SCHEMA_LOCK, serialise, write_transaction

metadata = MetaData()

nodes = Table(
    "log_tree_nodes", metadata,
    Column("level", Integer, primary_key=True),
    Column("idx", BigInteger, primary_key=True),
    Column("hash", LargeBinary, nullable=False),
)
leaves = Table(
    "log_tree_leaves", metadata,
    Column("leaf_index", BigInteger, primary_key=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("event_partition", Integer, nullable=False),
    Column("event_offset", BigInteger, nullable=False),
    Column("event_hash", String(64), nullable=False),  # the leaf data, hex (entry bundles serve it)
)
checkpoints = Table(
    "log_checkpoints", metadata,
    Column("tree_size", BigInteger, primary_key=True),
    Column("root", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", String(40), nullable=False),
)
replay = Table(
    "log_tree_replay", metadata,
    Column("topic", String(255), primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)

#: the lock every writer of the tree takes (two replaying processes on one database take turns)
TREE_LOCK = "oretrail.log_tree"
#: ids or node indexes per ``IN`` query
_CHUNK = 500


def _insert(connection: Connection, table: Table):
    """An INSERT that skips a row whose key exists (both dialects)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


class DatabaseTree(TreeStore):
    """The tree of a sequenced log, in the read-model database of ``engine``."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self) -> None:
        """Create the tables (idempotent)."""
        with write_transaction(self.engine) as tx:
            serialise(tx, SCHEMA_LOCK)
            metadata.create_all(tx)

    # -- reading ------------------------------------------------------------------------------
    def size(self) -> int:
        """One past the last leaf's index."""
        with self.engine.connect() as connection:
            return self._size(connection)

    @staticmethod
    def _size(connection: Connection) -> int:
        last = connection.execute(select(func.max(nodes.c.idx)).where(nodes.c.level == 0)).scalar()
        return 0 if last is None else last + 1

    def read(self, wanted: Sequence[Node]) -> Mapping[Node, bytes]:
        """The hashes of complete subtrees (each must exist)."""
        with self.engine.connect() as connection:
            return self._read(connection, wanted)

    @staticmethod
    def _read(connection: Connection, wanted: Sequence[Node]) -> dict[Node, bytes]:
        by_level: dict[int, list[int]] = {}
        for level, idx in set(wanted):
            by_level.setdefault(level, []).append(idx)
        found: dict[Node, bytes] = {}
        for level, indexes in by_level.items():
            for start in range(0, len(indexes), _CHUNK):
                rows = connection.execute(select(nodes.c.idx, nodes.c.hash).where(
                    nodes.c.level == level, nodes.c.idx.in_(indexes[start:start + _CHUNK])))
                found.update({(level, idx): bytes(value) for idx, value in rows})
        missing = next((node for node in wanted if node not in found), None)
        if missing is not None:
            raise TreeMismatch(f"the tree has no node {missing}")
        return found

    def leaf_index(self, event_id: str) -> int | None:
        """The event's leaf, if the sequencer gave it one and it was replayed here."""
        return self.leaf_indexes([event_id]).get(event_id)

    def leaf_indexes(self, event_ids: Sequence[str]) -> dict[str, int]:
        """The leaves of those of ``event_ids`` the tree holds, in chunked ``IN`` queries."""
        return {event_id: index for event_id, (index, _p, _o) in self.leaves_of(event_ids).items()}

    def leaves_of(self, event_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """``event_id -> (leaf index, partition, offset)`` for those of ``event_ids`` the tree holds."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, tuple[int, int, int]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), _CHUNK):
                rows = connection.execute(select(leaves.c.event_id, leaves.c.leaf_index, leaves.c.event_partition,
                                                 leaves.c.event_offset).where(leaves.c.event_id.in_(ids[start:start + _CHUNK])))
                found.update({event_id: (index, partition, offset) for event_id, index, partition, offset in rows})
        return found

    def leaf_data(self, start: int, end: int) -> list[bytes]:
        """The event hashes of leaves ``start`` to ``end`` - 1 (leaves appended bare have none)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(leaves.c.event_hash).where(
                leaves.c.leaf_index >= start, leaves.c.leaf_index < end).order_by(leaves.c.leaf_index))
            return [bytes.fromhex(value) for (value,) in rows]

    def replayed_to(self, topic: str) -> int:
        """The next offset of the tree topic to replay."""
        with self.engine.connect() as connection:
            value = connection.execute(select(replay.c.next_offset).where(replay.c.topic == topic)).scalar()
        return value or 0

    # -- appending ----------------------------------------------------------------------------
    def append_leaves(self, first_index: int, leaf_data: Sequence[bytes]) -> None:
        """Append bare leaves (no event named: a benchmark's or a test's tree) in a transaction of their own."""
        with write_transaction(self.engine) as tx:
            serialise(tx, TREE_LOCK)
            self._append_nodes(tx, first_index, leaf_data)

    def append_batches(self, topic: str, batches: Sequence[TreeBatch], next_offset: int) -> int:
        """Append the leaves of tree-topic ``batches`` and store ``next_offset``, in one transaction;
        leaves the tree holds already are skipped (a replay that overlaps). The number added."""
        with write_transaction(self.engine) as tx:
            serialise(tx, TREE_LOCK)
            size = self._size(tx)
            fresh = [leaf for batch in batches for leaf in batch.leaves if leaf.leaf_index >= size]
            if fresh:
                self._append_nodes(tx, fresh[0].leaf_index, [bytes.fromhex(leaf.hash) for leaf in fresh])
                tx.execute(leaves.insert(), [{"leaf_index": leaf.leaf_index, "event_id": leaf.event_id,
                                              "event_partition": leaf.partition, "event_offset": leaf.offset,
                                              "event_hash": leaf.hash}
                                             for leaf in fresh])
            stored = tx.execute(select(replay.c.next_offset).where(replay.c.topic == topic)).scalar()
            if stored is None:
                tx.execute(replay.insert().values(topic=topic, next_offset=next_offset))
            elif next_offset > stored:
                tx.execute(replay.update().where(replay.c.topic == topic).values(next_offset=next_offset))
            return len(fresh)

    def _append_nodes(self, tx: Connection, first_index: int, leaf_data: Sequence[bytes]) -> None:
        if not leaf_data:
            return
        size = self._size(tx)
        if first_index != size:
            raise TreeMismatch(f"the tree has {size} leaves but the next leaf would be at index {first_index}")
        frontier = self._read(tx, merkle.range_nodes(0, size))
        created = merkle.completed_nodes(size, frontier, [merkle.leaf_hash(data) for data in leaf_data])
        tx.execute(nodes.insert(), [{"level": level, "idx": idx, "hash": value} for (level, idx), value in created.items()])

    # -- checkpoints --------------------------------------------------------------------------
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree size."""
        with self.engine.connect() as connection:
            row = connection.execute(select(checkpoints).order_by(checkpoints.c.tree_size.desc()).limit(1)).first()
        return None if row is None else StoredCheckpoint(row.tree_size, bytes(row.root), row.note, row.signed_at)

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint kept, smallest tree first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(checkpoints).order_by(checkpoints.c.tree_size)).all()
        return [StoredCheckpoint(row.tree_size, bytes(row.root), row.note, row.signed_at) for row in rows]

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Insert unless a checkpoint of this size is kept already."""
        with write_transaction(self.engine) as tx:
            tx.execute(_insert(tx, checkpoints).values(tree_size=checkpoint.tree_size, root=checkpoint.root,
                                                       note=checkpoint.note, signed_at=checkpoint.signed_at))
