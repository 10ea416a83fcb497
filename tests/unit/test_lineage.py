"""Origin shares through the lineage graph, by fine gold."""
from __future__ import annotations

import pytest

from consumers.provenance.lineage import (
    UNTRACED_CYCLE, UNTRACED_NO_RECORD, UNTRACED_UNKNOWN_PIT, EdgeFacts, NodeFacts, compute_lineage,
)


def lot(node_id, mass, fineness=None, site=None, production=True):
    return NodeFacts(node_id, "lot", mass, fineness, site, production)


def test_a_merge_is_weighted_by_fine_gold_not_by_gross_mass():
    nodes = {"a": lot("a", 100, 0.9, "site-a"), "b": lot("b", 100, 0.6, "site-b"), "m": lot("m", 200, production=False)}
    result = compute_lineage(nodes, [EdgeFacts("a", "m", 100), EdgeFacts("b", "m", 100)])
    assert result.composition["m"] == pytest.approx({"site-a": 0.6, "site-b": 0.4})
    assert result.fineness["m"] == pytest.approx(0.75)
    assert not result.gross_weighted


def test_only_the_grams_on_the_edge_count():
    nodes = {"a": lot("a", 100, 0.9, "site-a"), "b": lot("b", 100, 0.9, "site-b"), "m": lot("m", 60, production=False)}
    result = compute_lineage(nodes, [EdgeFacts("a", "m", 15), EdgeFacts("b", "m", 45)])
    assert result.composition["m"] == pytest.approx({"site-a": 0.25, "site-b": 0.75})


def test_composition_flows_through_refining_and_manufacturing():
    nodes = {
        "a": lot("a", 100, 0.9, "site-a"), "b": lot("b", 75, 0.8, "site-b"),
        "coop": lot("coop", 175, production=False),
        "refining/1": NodeFacts("refining/1", "refining", 175),
        "bar": lot("bar", 149.85, 0.999, production=False),
        "ring": NodeFacts("ring", "product", 10, 0.75),
    }
    edges = [EdgeFacts("a", "coop", 100), EdgeFacts("b", "coop", 75), EdgeFacts("coop", "refining/1", 175),
             EdgeFacts("refining/1", "bar", 149.85), EdgeFacts("bar", "ring", 7.5)]
    result = compute_lineage(nodes, edges)
    assert result.composition["ring"] == pytest.approx({"site-a": 0.6, "site-b": 0.4})
    assert result.fineness["coop"] == pytest.approx((90 + 60) / 175)


def test_an_assay_overrides_the_derived_fineness():
    nodes = {"a": lot("a", 10, 0.9, "s"), "m": lot("m", 10, 0.5, production=False)}
    assert compute_lineage(nodes, [EdgeFacts("a", "m", 10)]).fineness["m"] == 0.5


def test_unassayed_inputs_fall_back_to_gross_mass_and_say_so():
    nodes = {"a": lot("a", 30, None, "site-a"), "b": lot("b", 10, 0.9, "site-b"), "m": lot("m", 40, production=False)}
    result = compute_lineage(nodes, [EdgeFacts("a", "m", 30), EdgeFacts("b", "m", 10)])
    assert result.composition["m"] == pytest.approx({"site-a": 0.75, "site-b": 0.25})
    assert result.gross_weighted == {"m"}
    assert result.fineness["m"] is None


def test_gold_from_outside_the_chain_stays_untraced():
    nodes = {"a": lot("a", 10, 0.9, "site-a"), "x": lot("x", 10, 0.9, production=False),
             "p": lot("p", 10, 0.9, None), "m": lot("m", 30, production=False)}
    result = compute_lineage(nodes, [EdgeFacts("a", "m", 10), EdgeFacts("x", "m", 10), EdgeFacts("p", "m", 10)])
    assert result.composition["m"] == pytest.approx({"site-a": 1 / 3, UNTRACED_NO_RECORD: 1 / 3, UNTRACED_UNKNOWN_PIT: 1 / 3})


def test_a_referenced_but_unknown_input_is_untraced():
    result = compute_lineage({"m": lot("m", 5, production=False)}, [EdgeFacts("ghost", "m", 5)])
    assert result.composition["m"] == {UNTRACED_NO_RECORD: 1.0}


def test_a_circular_lineage_terminates_and_is_marked():
    nodes = {"a": lot("a", 10, 0.9, production=False), "b": lot("b", 10, 0.9, production=False)}
    result = compute_lineage(nodes, [EdgeFacts("a", "b", 10), EdgeFacts("b", "a", 10)])
    assert result.composition["a"] == {UNTRACED_CYCLE: 1.0}
    assert result.composition["b"] == {UNTRACED_CYCLE: 1.0}


def test_shares_always_sum_to_one_on_a_deep_graph():
    nodes = {f"p{i}": lot(f"p{i}", 1 + i, 0.5 + i / 100, f"site-{i % 3}") for i in range(40)}
    edges = []
    for level in range(5):
        node = f"m{level}"
        nodes[node] = lot(node, 10, production=False)
        for i in range(level * 8, level * 8 + 8):
            edges.append(EdgeFacts(f"p{i}", node, 1 + i))
        if level:
            edges.append(EdgeFacts(f"m{level - 1}", node, 5))
    result = compute_lineage(nodes, edges)
    assert sum(result.composition["m4"].values()) == pytest.approx(1.0)
