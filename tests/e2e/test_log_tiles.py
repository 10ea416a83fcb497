"""The log as C2SP tlog-tiles, read as an off-the-shelf tiled-log client would: a client written here
from the spec alone (https://c2sp.org/tlog-tiles: tile paths, widths, entry bundles) and RFC 9162
hashing, knowing only the verifier key and the prefix. It verifies the checkpoint, rebuilds the root of
the checkpoint's tree from tiles alone, checks every entry against its level-0 tile, and proves an
event's inclusion from tiles; tiles beyond the tree and malformed paths are 404."""
from __future__ import annotations

import hashlib
import struct

import pytest

from tests.conftest import bearer
from tests.e2e.test_transparency_log import open_checkpoint
from tests.factories import site

PREFIX = "/v1/log"


# --- a tlog-tiles client from the spec ---------------------------------------------------------

def index_path(n: int) -> str:
    """Tile index ``n`` as 3-digit path elements, all but the last prefixed with x."""
    elements = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        elements.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(elements))


class TileClient:
    """Reads a tiled log of ``size`` entries (a verified checkpoint's) over ``get(path) -> bytes``."""

    def __init__(self, get, size: int):
        self.get = get
        self.size = size
        self.fetched: dict[str, bytes] = {}

    def _fetch(self, kind: str, n: int, width: int) -> bytes:
        path = f"{PREFIX}/tile/{kind}/{index_path(n)}" + (f".p/{width}" if width < 256 else "")
        if path not in self.fetched:
            self.fetched[path] = self.get(path)
        return self.fetched[path]

    def _width(self, level: int, n: int) -> int:
        """The width of tile n at ``level`` in a tree of ``size``: full, or the partial width floor(s/256**l) mod 256."""
        return 256 if (n + 1) * 256 ** (level + 1) <= self.size else (self.size // 256 ** level) % 256

    def tile_hash(self, level: int, i: int) -> bytes:
        """MTH(D[i*256**level : (i+1)*256**level]), hash i%256 of tile i//256 at ``level``."""
        n = i // 256
        data = self._fetch(str(level), n, self._width(level, n))
        return data[(i % 256) * 32:(i % 256 + 1) * 32]

    def mth(self, start: int, end: int) -> bytes:
        """RFC 9162 MTH(D[start:end]), from the highest tiles that hold it."""
        count = end - start
        level = 0
        while 256 ** (level + 1) <= count and start % 256 ** (level + 1) == 0:
            level += 1
        if count == 256 ** level and start % count == 0:
            return self.tile_hash(level, start // count)
        k = 1
        while k * 2 < count:
            k *= 2
        return hashlib.sha256(b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)).digest()

    def entries(self, n: int) -> list[bytes]:
        """The entries of bundle ``n``: big-endian uint16 length-prefixed."""
        data, found = self._fetch("entries", n, self._width(0, n)), []
        while data:
            (length,) = struct.unpack(">H", data[:2])
            found.append(data[2:2 + length])
            data = data[2 + length:]
        return found

    def inclusion_path(self, index: int, start: int = 0, end: int | None = None) -> list[bytes]:
        """RFC 9162 PATH(index, D[start:end]), the leaf's side first, from tiles."""
        end = self.size if end is None else end
        if end - start == 1:
            return []
        k = 1
        while k * 2 < end - start:
            k *= 2
        if index < start + k:
            return self.inclusion_path(index, start, start + k) + [self.mth(start + k, end)]
        return self.inclusion_path(index, start + k, end) + [self.mth(start, start + k)]


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """The root an inclusion path leads to (RFC 9162 2.1.3.2)."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn // 2, sn // 2
    return r


# --- the log --------------------------------------------------------------------------------------

@pytest.fixture
def grown(platform, client):
    """A log of 70,000 entries would take long; 600 spans full and partial tiles at two levels."""
    key = platform.keys.create("oretrail-admin", "admin")
    events = [site(f"s-{i}") for i in range(600)]
    for start in range(0, 600, 300):
        assert client.post("/v1/events", json={"events": events[start:start + 300]}, headers=bearer(key)).status_code == 200
    return events


def test_a_tiles_client_rebuilds_the_checkpoints_root_and_checks_every_entry(client, platform, grown):
    verifier_key = client.get(f"{PREFIX}/key").text
    checkpoint = client.get(f"{PREFIX}/checkpoint")
    assert checkpoint.headers["Content-Type"] == "text/plain; charset=utf-8"
    _, size, root = open_checkpoint(checkpoint.text, verifier_key)
    assert size == 600

    def get(path: str) -> bytes:
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/octet-stream", path
        return answer.data

    tiles = TileClient(get, size)
    assert tiles.mth(0, size) == root
    # 600 = 2 full level-0 tiles + a partial of 88, and a partial level-1 tile of 2
    assert set(tiles.fetched) >= {f"{PREFIX}/tile/0/002.p/88", f"{PREFIX}/tile/1/000.p/2"}
    for n in range(3):
        for i, entry in enumerate(tiles.entries(n)):
            assert hashlib.sha256(b"\x00" + entry).digest() == tiles.tile_hash(0, n * 256 + i)
    stored = [bytes.fromhex(event.hash) for event in platform.log.read(limit=600)]
    assert [entry for n in range(3) for entry in tiles.entries(n)] == stored

    # an event's inclusion, proven from tiles alone, and the same proof the API gives
    index = 417
    leaf = hashlib.sha256(b"\x00" + stored[index]).digest()
    path = tiles.inclusion_path(index)
    assert root_from_path(leaf, index, size, path) == root
    proof = client.get(f"{PREFIX}/proof/inclusion?event_id={grown[index]['event_id']}&tree_size={size}").json
    assert proof["leaf_index"] == index and len(proof["hashes"]) == len(path)


def test_full_tiles_are_immutable_and_tiles_beyond_the_tree_or_malformed_are_404(client, grown):
    full = client.get(f"{PREFIX}/tile/0/000")
    assert len(full.data) == 8192 and "immutable" in full.headers["Cache-Control"]
    assert len(client.get(f"{PREFIX}/tile/0/002.p/88").data) == 88 * 32
    for path in ("0/002", "0/002.p/89", "1/000", "0/003.p/1", "entries/002", "00/000", "0/0000", "0/x000/001",
                 "0/000.p/0", "0/000.p/256", "0/000.p/07", "64/000", "entries/x001/000"):
        answer = client.get(f"{PREFIX}/tile/{path}")
        assert answer.status_code == 404, path
