"""The sequencer's records and the tile paths, without a server: what a batch says survives its
encoding, a record that is not a batch is refused, and tile paths are read exactly as C2SP writes them."""
from __future__ import annotations

import pytest

from events.kafka_tree_topic import Assignment, TreeBatch, batches_of
from services.errors import NotFound
from services.log_tiles import TileAddress, parse_tile


def assignments(first: int, count: int) -> list[Assignment]:
    return [Assignment(first + n, f"event-{n}", f"{n:064x}", n % 3, 100 + n) for n in range(count)]


def test_a_batch_survives_its_encoding():
    batch = TreeBatch(7, assignments(7, 3), {0: 12, 2: 5})
    assert TreeBatch.decode(batch.encode()) == batch


@pytest.mark.parametrize("value", [b"", b"{}", b'{"first": 0, "leaves": [["e", "h", 0]], "next": {}}', b"[1, 2]"])
def test_a_record_that_is_not_a_batch_is_refused(value):
    with pytest.raises(ValueError, match="not a tree batch"):
        TreeBatch.decode(value)


def test_consecutive_leaves_are_cut_into_records_that_each_carry_the_read_positions():
    records = batches_of(assignments(40, 2500), {1: 9}, size=1000)
    assert [(record.first, len(record.leaves)) for record in records] == [(40, 1000), (1040, 1000), (2040, 500)]
    assert all(record.next == {1: 9} for record in records)


@pytest.mark.parametrize("level, elements, width, address", [
    ("0", ["000"], None, TileAddress(0, 0, 256)),
    ("1", ["x001", "234"], "17", TileAddress(1, 1234, 17)),
    (None, ["x001", "x234", "067"], None, TileAddress(None, 1234067, 256)),
])
def test_tile_paths_name_their_tile(level, elements, width, address):
    assert parse_tile(level, elements, width) == address


@pytest.mark.parametrize("level, elements, width", [
    ("00", ["000"], None), ("64", ["000"], None), ("0", ["0000"], None), ("0", ["x000", "001"], None),
    ("0", ["001", "x002"], None), ("0", ["000"], "0"), ("0", ["000"], "256"), ("0", ["000"], "07"), ("0", [], None),
])
def test_paths_the_spec_does_not_allow_name_no_tile(level, elements, width):
    with pytest.raises(NotFound):
        parse_tile(level, elements, width)
