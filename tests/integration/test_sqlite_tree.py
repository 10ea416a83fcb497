"""The SQLite tree reads any set of complete subtrees, dense runs and scattered nodes alike, with the
hashes the RFC's recursion gives, and says so when a node is missing."""
from __future__ import annotations

import sqlite3

import pytest

from events import merkle
from events.envelope import prepare
from events.position import LogPosition
from events.sqlite_log import SqliteEventLog
from events.sqlite_tree import SqliteTree
from events.tree_store import TreeMismatch
from tests import factories as f

LEAVES = [f"entry {n}".encode() for n in range(300)]


@pytest.fixture
def tree(tmp_path):
    connection = sqlite3.connect(tmp_path / "tree.db", isolation_level=None)
    connection.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT, hash TEXT)")
    tree = SqliteTree(lambda: connection)
    tree.create()
    tree.append_leaves(0, LEAVES)
    yield tree
    connection.close()


def expected(node: merkle.Node) -> bytes:
    level, idx = node
    return merkle.root_of([merkle.leaf_hash(data) for data in LEAVES[idx << level:(idx + 1) << level]])


def test_reads_dense_runs_and_scattered_nodes_with_their_hashes(tree):
    dense = [(0, idx) for idx in range(40, 90)] + [(1, idx) for idx in range(10, 60, 2)]  # BETWEEN, with gaps
    scattered = [(0, 3), (0, 200), (0, 299), (2, 5), (3, 30), (5, 8), (8, 0)]  # IN
    found = tree.read(dense + scattered)
    assert {node: found[node] for node in dense + scattered} == {node: expected(node) for node in dense + scattered}


def test_proofs_of_many_leaves_match_the_rfcs(tree):
    indexes = list(range(100, 180)) + [0, 7, 299]
    paths = merkle.inclusion_paths(indexes, 300)
    ranges = sorted({part for path in paths.values() for part in path})
    leaf_hashes = [merkle.leaf_hash(data) for data in LEAVES]
    assert merkle.hashes_of(ranges, tree.read) == [merkle.root_of(leaf_hashes[start:end]) for start, end in ranges]


def test_a_node_the_tree_lacks_is_a_mismatch(tree):
    with pytest.raises(TreeMismatch, match=r"\(0, 300\)"):
        tree.read([(0, 5), (0, 300)])
    with pytest.raises(TreeMismatch, match=r"\(0, 300\)"):
        tree.read([(0, idx) for idx in range(280, 321)])


def test_the_leaves_of_events_read_from_the_log_are_those_its_ids_look_up(tmp_path):
    log = SqliteEventLog(tmp_path / "events.db")
    try:
        log.append([prepare(f.site(f"site-{n}")) for n in range(5)])
        stored = list(log.recorded([event.event_id for event in log.read(LogPosition({0: 0}), 10)]).values())
        assert log.tree.leaf_indexes_of(stored) == log.tree.leaf_indexes([event.event_id for event in stored])
        assert sorted(log.tree.leaf_indexes_of(stored).values()) == [0, 1, 2, 3, 4]
    finally:
        log.close()
