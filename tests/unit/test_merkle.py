"""The log's Merkle tree against published RFC 6962 vectors, and any proof from any size (hypothesis)."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.merkle import (
    completed_nodes, consistency_ranges, empty_root, hashes_of, inclusion_ranges, leaf_hash, range_nodes, root_of,
    tree_root, verify_consistency, verify_inclusion,
)

# Vectors from transparency-dev/merkle (Apache-2.0): the leaf inputs and roots of
# testonly/constants.go (LeafInputs, RootHashes), and the "happy path" cases of
# testdata/inclusion/*/happy-path.json and testdata/consistency/*/happy-path.json. They are the
# RFC 6962 reference test data of google/certificate-transparency's merkle_tree_test.
LEAF_INPUTS = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
INCLUSION = [  # (leaf index, tree size, proof), from testdata/inclusion/{0..4}/happy-path.json
    (0, 1, []),
    (0, 8, ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="]),
    (5, 8, ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
    (2, 3, ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
    (1, 5, ["bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
]
CONSISTENCY = [  # (size1, size2, proof), from testdata/consistency/{0..4}/happy-path.json
    (1, 1, []),
    (1, 8, ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="]),
    (6, 8, ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
    (2, 5, ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
    (6, 7, ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
]


class Store:
    """Complete subtree hashes filled as leaves are appended, as the log's store does."""

    def __init__(self):
        self.nodes: dict = {}
        self.size = 0

    def append(self, leaf_hashes):
        frontier = {node: self.nodes[node] for node in range_nodes(0, self.size)}
        self.nodes.update(completed_nodes(self.size, frontier, leaf_hashes))
        self.size += len(leaf_hashes)

    def read(self, nodes):
        return {node: self.nodes[node] for node in nodes}

    def inclusion(self, index, size):
        return hashes_of(inclusion_ranges(index, size), self.read)

    def consistency(self, old, new):
        return hashes_of(consistency_ranges(old, new), self.read)


def reference_store(count: int = 8) -> Store:
    store = Store()
    store.append([leaf_hash(data) for data in LEAF_INPUTS[:count]])
    return store


def decoded(proof):
    return [base64.b64decode(item) for item in proof]


def test_roots_of_every_size_match_the_reference():
    leaves = [leaf_hash(data) for data in LEAF_INPUTS]
    assert empty_root() == ROOTS[0]
    for size in range(len(ROOTS)):
        assert root_of(leaves[:size]) == ROOTS[size]
        store = Store()
        store.append(leaves[:size])
        assert tree_root(size, store.read) == ROOTS[size]


def test_roots_are_the_same_appended_one_at_a_time():
    store = Store()
    for size, data in enumerate(LEAF_INPUTS, start=1):
        store.append([leaf_hash(data)])
        assert tree_root(size, store.read) == ROOTS[size]
    assert tree_root(5, store.read) == ROOTS[5]  # an earlier size stays provable


@pytest.mark.parametrize("index, size, proof", INCLUSION)
def test_inclusion_proofs_match_the_reference(index, size, proof):
    store = reference_store()
    assert store.inclusion(index, size) == decoded(proof)
    assert verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index, size, decoded(proof), ROOTS[size])


@pytest.mark.parametrize("old, new, proof", CONSISTENCY)
def test_consistency_proofs_match_the_reference(old, new, proof):
    store = reference_store()
    assert store.consistency(old, new) == decoded(proof)
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], decoded(proof))


def test_a_proof_against_the_wrong_root_or_index_fails():
    index, size, proof = INCLUSION[2]
    assert not verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index, size, decoded(proof), ROOTS[7])
    assert not verify_inclusion(leaf_hash(LEAF_INPUTS[index]), index - 1, size, decoded(proof), ROOTS[size])
    assert not verify_inclusion(leaf_hash(LEAF_INPUTS[index]), size, size, decoded(proof), ROOTS[size])
    old, new, proof = CONSISTENCY[2]
    assert not verify_consistency(old, new, ROOTS[5], ROOTS[new], decoded(proof))
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], decoded(proof)[:-1])
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], [])


def flipped(proof: list[bytes], item: int, bit: int) -> list[bytes]:
    changed = bytearray(proof[item])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:item], bytes(changed), *proof[item + 1:]]


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_any_inclusion_proof_verifies_and_any_flipped_bit_fails(size, data):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = Store()
    store.append(leaves)
    tree = data.draw(st.integers(min_value=1, max_value=size), label="tree size")
    index = data.draw(st.integers(min_value=0, max_value=tree - 1), label="leaf index")
    root = root_of(leaves[:tree])
    proof = store.inclusion(index, tree)
    assert verify_inclusion(leaves[index], index, tree, proof, root)
    if proof:
        item = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="item")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        assert not verify_inclusion(leaves[index], index, tree, flipped(proof, item, bit), root)
    bit = data.draw(st.integers(min_value=0, max_value=255), label="leaf bit")
    assert not verify_inclusion(flipped([leaves[index]], 0, bit)[0], index, tree, proof, root)


@settings(max_examples=150, deadline=None)
@given(size=sizes, data=st.data())
def test_any_consistency_proof_verifies_and_any_flipped_bit_fails(size, data):
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store = Store()
    # appended in random batches: the stored subtrees do not depend on how leaves arrive
    while store.size < size:
        step = data.draw(st.integers(min_value=1, max_value=size - store.size), label="batch")
        store.append(leaves[store.size:store.size + step])
    new = data.draw(st.integers(min_value=1, max_value=size), label="new")
    old = data.draw(st.integers(min_value=1, max_value=new), label="old")
    old_root, new_root = root_of(leaves[:old]), root_of(leaves[:new])
    assert tree_root(new, store.read) == new_root
    proof = store.consistency(old, new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    if proof:
        item = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="item")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        assert not verify_consistency(old, new, old_root, new_root, flipped(proof, item, bit))
    if old < new:
        bit = data.draw(st.integers(min_value=0, max_value=255), label="root bit")
        assert not verify_consistency(old, new, flipped([old_root], 0, bit)[0], new_root, proof)


def test_a_proof_reads_logarithmically_many_subtrees_at_a_million_leaves():
    for ranges in (inclusion_ranges(654_321, 1_000_000), consistency_ranges(999_999, 1_000_000)):
        nodes = {node for start, end in ranges for node in range_nodes(start, end)}
        assert len(nodes) <= 2 * 20  # log2(1,000,000) is about 20
