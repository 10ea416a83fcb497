"""The log's tree as C2SP ``tlog-tiles``: static resources any off-the-shelf tiled-log client can read.

The prefix is ``/v1/log``: the checkpoint is ``/v1/log/checkpoint`` (as before), the Merkle tree is
served as tiles ``/v1/log/tile/<L>/<N>[.p/<W>]`` and the entries (each event's 32-byte hash, the leaf
data) as bundles ``/v1/log/tile/entries/<N>[.p/<W>]``. The ``i``-th hash of tile ``N`` at level ``L``
is ``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``: exactly the complete subtree
``(8L, N*256 + i)`` the tree store keeps, so a tile is one read of up to 256 stored hashes.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Sequence

from events.tree_store import TreeStore
from services.errors import NotFound

TILE_WIDTH = 256
#: tile index path elements: all but the last ``x`` and three digits, the last three digits
_ELEMENT = re.compile(r"x\d{3}")
_LAST = re.compile(r"\d{3}")
_NUMBER = re.compile(r"0|[1-9]\d*")


@dataclass(frozen=True)
class TileAddress:
    """Which tile: its level (None for an entry bundle), its index, and its width (256: full)."""

    level: int | None
    index: int
    width: int


def parse_tile(level: str | None, elements: Sequence[str], width: str | None) -> TileAddress:
    """The tile a path names (level text or None for entries, the index's path elements, the ``.p/`` width
    text or None); NotFound for any path the spec does not allow (leading zeros, a bad width, ``x000`` first)."""
    if level is not None and (not _NUMBER.fullmatch(level) or int(level) > 63):
        raise _no_tile("a level is 0 to 63, without leading zeros")
    if (not elements or not all(_ELEMENT.fullmatch(part) for part in elements[:-1])
            or not _LAST.fullmatch(elements[-1]) or (len(elements) > 1 and elements[0] == "x000")):
        raise _no_tile("a tile index is 3-digit path elements, all but the last starting with x")
    if width is not None and (not _NUMBER.fullmatch(width) or not 1 <= int(width) < TILE_WIDTH):
        raise _no_tile("a partial tile's width is 1 to 255, without leading zeros")
    index = int("".join(part.removeprefix("x") for part in elements))
    return TileAddress(None if level is None else int(level), index, TILE_WIDTH if width is None else int(width))


def _no_tile(why: str) -> NotFound:
    return NotFound(f"No such tile: {why}.", {"tile": [why]})


class LogTiles:
    """Tiles and entry bundles of the tree in ``tree``, for every size it has had."""

    def __init__(self, tree: TreeStore):
        self.tree = tree

    def hashes(self, address: TileAddress) -> bytes:
        """A Merkle tree tile: the concatenated hashes of its ``width`` complete subtrees."""
        span = TILE_WIDTH ** address.level
        first = address.index * TILE_WIDTH
        self._within(first + address.width, span)
        nodes = [(8 * address.level, first + i) for i in range(address.width)]
        found = self.tree.read(nodes)
        return b"".join(found[node] for node in nodes)

    def entries(self, address: TileAddress) -> bytes:
        """An entry bundle: each leaf's data (an event's hash) after its big-endian uint16 length."""
        first = address.index * TILE_WIDTH
        self._within(first + address.width, 1)
        data = self.tree.leaf_data(first, first + address.width)
        if len(data) != address.width:
            raise NotFound("This tree keeps no entries for these leaves.", {"tile": ["no entries"]})
        return b"".join(struct.pack(">H", len(item)) + item for item in data)

    def _within(self, end: int, span: int) -> None:
        """NotFound unless the tree holds ``end`` complete subtrees of ``span`` leaves."""
        if end * span > self.tree.size():
            raise _no_tile("the tree does not reach this tile (yet)")
