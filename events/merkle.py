"""The Merkle tree of the log, exactly as RFC 9162 section 2.1 (Certificate Transparency v2) hashes it.

Pure functions, no storage. A tree of ``n`` leaves is split at the largest power of two smaller
than ``n``; its left part is then always a *complete* subtree (a power of two of leaves, aligned
on its size). Every range the RFC's recursion visits is therefore a run of complete subtrees of
decreasing size, so proofs and roots are computed from the hashes of complete subtrees alone:
node ``(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``. A store that
keeps those node hashes as leaves arrive (:func:`completed_nodes`) answers any proof for any tree
size it ever had with O(log n) reads and no rehashing.

Proof generation follows the RFC's ``PATH`` (2.1.3.1) and ``PROOF``/``SUBPROOF`` (2.1.4.1); the
verifiers follow the algorithms of 2.1.3.2 and 2.1.4.2 step by step.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left
from typing import Any, Callable, Iterable, Mapping, Sequence

#: a complete subtree: (level, index), covering 2**level leaves from index * 2**level
Node = tuple[int, int]
#: a range of leaves [start, end)
Range = tuple[int, int]

HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    """MTH of the empty tree: SHA-256 of nothing."""
    return hashlib.sha256(b"").digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where the RFC splits a tree of n leaves."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes, by the RFC's recursion (for small lists and tests)."""
    n = len(leaf_hashes)
    if n == 0:
        return empty_root()
    if n == 1:
        return leaf_hashes[0]
    k = split_point(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


# --- complete subtrees -------------------------------------------------------------------------

def range_nodes(start: int, end: int) -> list[Node]:
    """The complete subtrees that make up a range the RFC's recursion visits, largest (leftmost) first.

    Valid for ranges whose ``start`` is a multiple of a power of two at least their size, which is
    every range ``PATH``, ``SUBPROOF`` and ``MTH`` visit from ``[0, n)``.
    """
    nodes: list[Node] = []
    while end - start > 0:
        size = end - start
        step = size if size & (size - 1) == 0 else split_point(size)
        level = step.bit_length() - 1
        nodes.append((level, start >> level))
        start += step
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its complete subtrees' hashes (largest first): right to left, as the RFC splits."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def completed_nodes(size: int, frontier: Mapping[Node, bytes], new_leaf_hashes: Iterable[bytes]) -> dict[Node, bytes]:
    """Every complete subtree hash that appending ``new_leaf_hashes`` to a tree of ``size`` leaves completes.

    ``frontier`` holds the complete subtrees of the tree as it is (:func:`range_nodes` of
    ``[0, size)``): the only nodes a new leaf can be combined with. The answer includes the new
    leaves themselves (level 0).
    """
    known = dict(frontier)
    created: dict[Node, bytes] = {}
    index = size
    for value in new_leaf_hashes:
        level, position, current = 0, index, value
        created[(0, position)] = known[(0, position)] = current
        while position & 1:  # a right child completes its parent
            current = node_hash(known[(level, position - 1)], current)
            level, position = level + 1, position >> 1
            created[(level, position)] = known[(level, position)] = current
        index += 1
    return created


# --- proofs (RFC 9162 2.1.3.1 and 2.1.4.1), as ranges, then as hashes ---------------------------

def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTH form ``PATH(index, D[0:size])``, in proof order (nearest the leaf first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def proof_ranges(indexes: Sequence[int], size: int) -> list[Range]:
    """Every range the inclusion proofs of ``indexes`` in the tree of ``size`` are made of, each once."""
    ranges: list[Range] = []

    def walk(start: int, end: int, below: list[int]) -> None:
        if end - start <= 1:
            return
        middle = start + split_point(end - start)
        cut = bisect_left(below, middle)
        if cut:  # a child is visited once, so each range it contributes is new
            ranges.append((middle, end))
            walk(start, middle, below[:cut])
        if cut < len(below):
            ranges.append((start, middle))
            walk(middle, end, below[cut:])

    leaves = _leaves_in(indexes, size)
    if leaves:
        walk(0, size, leaves)
    return ranges


def inclusion_paths(indexes: Sequence[int], size: int,
                    value: Callable[[Range], Any] = lambda part: part) -> dict[int, list[Any]]:
    """:func:`inclusion_ranges` of many leaves at once (each as ``value`` of the range, e.g. its hash),
    each split of the tree visited once for all the leaves below it: the proofs of a product's events
    share most of their upper ranges, so a subtree's list is built once and each child's copied from it."""
    paths: dict[int, list[Any]] = {}

    def walk(start: int, end: int, below: list[int], upper: list[Any]) -> None:
        if end - start <= 1:
            paths[start] = upper  # a proof goes from the leaf up: the deeper siblings first
            return
        middle = start + split_point(end - start)
        cut = bisect_left(below, middle)
        if cut:
            walk(start, middle, below[:cut], [value((middle, end))] + upper)
        if cut < len(below):
            walk(middle, end, below[cut:], [value((start, middle))] + upper)

    leaves = _leaves_in(indexes, size)
    if leaves:
        walk(0, size, leaves, [])
    return paths


def _leaves_in(indexes: Sequence[int], size: int) -> list[int]:
    leaves = sorted(set(indexes))
    if leaves and not (0 <= leaves[0] and leaves[-1] < size):
        raise ValueError(f"leaves {leaves[0]}..{leaves[-1]} are not all in a tree of {size}")
    return leaves


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose MTH form ``PROOF(old, D[0:new])``, in proof order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old == 0 or old == new:
        return []
    ranges: list[Range] = []
    start, end, m, complete = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    return list(reversed(ranges))


def hashes_of(ranges: Sequence[Range], read: Callable[[Sequence[Node]], Mapping[Node, bytes]]) -> list[bytes]:
    """The MTH of each range, reading the complete subtrees they are made of in one call of ``read``."""
    parts = [range_nodes(start, end) for start, end in ranges]
    found = read(list({node for nodes in parts for node in nodes}))
    return [found[nodes[0]] if len(nodes) == 1 else fold([found[node] for node in nodes]) for nodes in parts]


def tree_root(size: int, read: Callable[[Sequence[Node]], Mapping[Node, bytes]]) -> bytes:
    """MTH of the first ``size`` leaves of a store of complete subtrees."""
    return hashes_of([(0, size)], read)[0] if size else empty_root()


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ------------------------------------------------

def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    if index >= size or index < 0:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``old`` leaves with ``old_root`` is a prefix of the one of ``new``."""
    if old < 0 or old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof  # every tree extends the empty one
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node of the path
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
