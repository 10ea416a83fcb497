"""The Merkle tree of the SQLite log, in the log's own file: complete subtrees and signed checkpoints.

Leaves follow log positions (leaf index = position - 1) and are appended by
:meth:`SqliteTree.append_in` inside the transaction that appends their events, so the tree never
lags or leads the log. A file made before the tree existed gets it built from the stored event
hashes when it is opened (:meth:`SqliteTree.catch_up`). Both tables are append-only, like events.
"""
from __future__ import annotations

import sqlite3
from typing import Callable, Mapping, Sequence

from events import merkle
from events.log import RecordedEvent
from events.merkle import Node
from events.tree_store import StoredCheckpoint, TreeMismatch, TreeStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS tree_nodes (
    level INTEGER NOT NULL,   -- 0: the leaves (RFC 9162 leaf hashes); a node covers 2**level leaves
    idx   INTEGER NOT NULL,   -- covers leaves [idx * 2**level, (idx + 1) * 2**level)
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    note      TEXT NOT NULL,   -- the C2SP signed note, as published
    signed_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS tree_nodes_append_only_update BEFORE UPDATE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'the log tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tree_nodes_append_only_delete BEFORE DELETE ON tree_nodes
BEGIN SELECT RAISE(ABORT, 'the log tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
"""

#: events hashed into the tree per transaction when an older file is migrated
_MIGRATION_BATCH = 10_000
#: ids per ``IN`` query (below SQLite's default limit of host parameters)
_LOOKUP_CHUNK = 500
#: node indexes this close together are read as one range (the few between them read too, and kept)
_RUN_GAP = 4
#: a run of at least this many indexes is read with BETWEEN, a shorter one with IN
_RANGE_READ = 16


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ``indexes`` as runs ``(first, last)`` whose neighbours lie at most ``_RUN_GAP`` apart."""
    runs: list[tuple[int, int]] = []
    first = previous = indexes[0]
    for idx in indexes[1:]:
        if idx - previous > _RUN_GAP:
            runs.append((first, previous))
            first = idx
        previous = idx
    runs.append((first, previous))
    return runs


class SqliteTree(TreeStore):
    """The tree over a SQLite log file; ``connect`` gives this thread's connection to it."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._connect = connect

    def create(self) -> None:
        """Create the tables and triggers (idempotent), then hash in any events the tree lacks."""
        self._connect().executescript(SCHEMA)
        self.catch_up()

    def size(self) -> int:
        """The number of leaves: one past the last leaf's index (an index lookup, not a count)."""
        return self._size(self._connect())

    @staticmethod
    def _size(connection: sqlite3.Connection) -> int:
        row = connection.execute("SELECT MAX(idx) FROM tree_nodes WHERE level = 0").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def read(self, nodes: Sequence[Node]) -> Mapping[Node, bytes]:
        """The hashes of complete subtrees; a missing one means the tree was cut behind the triggers."""
        return self._read(self._connect(), nodes)

    @staticmethod
    def _read(connection: sqlite3.Connection, nodes: Sequence[Node]) -> dict[Node, bytes]:
        # a few queries per level, not one per node: a bundle's proofs need thousands of nodes, most
        # of them in dense runs (a product's events are near each other in the log), read as ranges
        wanted: dict[int, set[int]] = {}
        for level, idx in nodes:
            wanted.setdefault(level, set()).add(idx)
        found: dict[Node, bytes] = {}
        for level, indexes in wanted.items():
            scattered: list[int] = []
            for first, last in _runs(sorted(indexes)):
                if last - first + 1 >= _RANGE_READ:
                    for idx, value in connection.execute(
                            "SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx BETWEEN ? AND ?", (level, first, last)):
                        found[(level, idx)] = bytes(value)
                else:
                    scattered.extend(range(first, last + 1))
            for start in range(0, len(scattered), _LOOKUP_CHUNK):
                chunk = scattered[start:start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for idx, value in connection.execute(
                        f"SELECT idx, hash FROM tree_nodes WHERE level = ? AND idx IN ({marks})", (level, *chunk)):
                    found[(level, idx)] = bytes(value)
        missing = next((node for node in nodes if node not in found), None)
        if missing is not None:
            raise TreeMismatch(f"the tree has no node {missing}: it was cut behind the triggers")
        return found

    def append_leaves(self, first_index: int, leaf_data: Sequence[bytes]) -> None:
        """Append leaves in a transaction of their own (a sequencer other than the log's appends)."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            self._append(connection, first_index, leaf_data)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def append_in(self, connection: sqlite3.Connection, first_position: int, event_hashes: Sequence[str]) -> None:
        """Append the leaves of events just inserted at ``first_position`` onward, in the caller's transaction."""
        self._append(connection, first_position - 1, [bytes.fromhex(value) for value in event_hashes])

    def _append(self, connection: sqlite3.Connection, first_index: int, leaf_data: Sequence[bytes]) -> None:
        if not leaf_data:
            return
        size = self._size(connection)
        if first_index != size:
            raise TreeMismatch(f"the tree has {size} leaves but the next leaf would be at index {first_index}")
        frontier = self._read(connection, merkle.range_nodes(0, size))
        created = merkle.completed_nodes(size, frontier, [merkle.leaf_hash(data) for data in leaf_data])
        connection.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
                               [(level, idx, value) for (level, idx), value in created.items()])

    def catch_up(self) -> int:
        """Hash into the tree every event it lacks, in position order; the number of leaves added.

        Runs when a log made before the tree existed is opened (a migration), in batches each of one
        ``BEGIN IMMEDIATE`` transaction, so a second process opening the same file waits, then finds
        nothing left to do.
        """
        connection = self._connect()
        added = 0
        while True:
            connection.execute("BEGIN IMMEDIATE")
            try:
                size = self._size(connection)
                rows = connection.execute("SELECT position, hash FROM events WHERE position > ? ORDER BY position LIMIT ?",
                                          (size, _MIGRATION_BATCH)).fetchall()
                if rows:
                    if rows[-1][0] - rows[0][0] != len(rows) - 1:
                        raise TreeMismatch(f"the log has a gap after position {rows[0][0]}")
                    self._append(connection, rows[0][0] - 1, [bytes.fromhex(value) for _, value in rows])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            if not rows:
                return added
            added += len(rows)

    def leaf_data(self, start: int, end: int) -> list[bytes]:
        """The hashes of the events at positions ``start`` + 1 to ``end`` that the tree covers."""
        connection = self._connect()
        last = min(end, self._size(connection))
        rows = connection.execute("SELECT hash FROM events WHERE position > ? AND position <= ? ORDER BY position",
                                  (start, last))
        return [bytes.fromhex(value) for (value,) in rows]

    def leaf_index(self, event_id: str) -> int | None:
        """The event's position - 1 if the tree covers it."""
        connection = self._connect()
        row = connection.execute("SELECT position FROM events WHERE event_id = ?", (event_id,)).fetchone()
        if row is None or row[0] > self._size(connection):
            return None
        return row[0] - 1

    def leaf_indexes(self, event_ids: Sequence[str]) -> dict[str, int]:
        """Each event's position - 1 where the tree covers it, in chunked ``IN`` queries."""
        connection = self._connect()
        size = self._size(connection)
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, int] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start:start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for event_id, position in connection.execute(
                    f"SELECT event_id, position FROM events WHERE event_id IN ({marks})", chunk):
                if position <= size:
                    found[event_id] = position - 1
        return found

    def leaf_indexes_of(self, events: Sequence[RecordedEvent]) -> dict[str, int]:
        """Each event's position - 1 where the tree covers it: events of this file's log need no lookup."""
        size = self.size()
        return {event.event_id: event.position - 1 for event in events if event.position <= size}

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree size."""
        row = self._connect().execute(
            "SELECT tree_size, root, note, signed_at FROM checkpoints ORDER BY tree_size DESC LIMIT 1").fetchone()
        return None if row is None else StoredCheckpoint(row[0], bytes(row[1]), row[2], row[3])

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint kept, smallest tree first."""
        rows = self._connect().execute("SELECT tree_size, root, note, signed_at FROM checkpoints ORDER BY tree_size")
        return [StoredCheckpoint(size, bytes(root), note, signed_at) for size, root, note, signed_at in rows]

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Insert unless a checkpoint of this size is kept already."""
        self._connect().execute(
            "INSERT OR IGNORE INTO checkpoints (tree_size, root, note, signed_at) VALUES (?, ?, ?, ?)",
            (checkpoint.tree_size, checkpoint.root, checkpoint.note, checkpoint.signed_at))
