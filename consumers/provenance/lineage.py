"""Pure arithmetic of a lineage graph: effective fineness and origin shares, computed by mass.

No database here: a graph of nodes and weighted edges in, numbers out.

Origin shares follow the fine gold. A node's composition (which mine sites its gold came from) is
the mix of its inputs' compositions, each weighted by the fine gold that flowed along its edge
(grams on the edge times the input's fineness). Where any input of a node has no known fineness,
that node's inputs are weighted by gross grams instead, and the result says so (``basis``).
Gold that cannot be traced to a registered pit is kept as its own, named share, never spread
over the known sites.
"""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from consumers.lineage.graph import Edge as EdgeFacts

#: composition keys for gold that is not traced to a registered mine site
UNTRACED_NO_RECORD = "untraced:no_production_record"
UNTRACED_UNKNOWN_PIT = "untraced:unregistered_pit"
UNTRACED_CYCLE = "untraced:circular_lineage"

__all__ = ["EdgeFacts", "Lineage", "NodeFacts", "compute_lineage", "is_untraced"]


@dataclass(frozen=True)
class NodeFacts:
    """What the read model knows of one node of the graph."""

    node_id: str
    kind: str = "lot"
    mass_g: float | None = None
    #: the fineness stated for this node itself: the latest assay, else the declared one
    stated_fineness: float | None = None
    #: for a production lot: the site of its pit (None if the pit is not registered)
    site_id: str | None = None
    is_production: bool = False


@dataclass
class Lineage:
    """The result for one graph: fineness and composition of every node it could compute."""

    fineness: dict[str, float | None] = field(default_factory=dict)
    composition: dict[str, dict[str, float]] = field(default_factory=dict)
    #: nodes whose inputs were weighted by gross grams because a fineness was unknown
    gross_weighted: set[str] = field(default_factory=set)


def compute_lineage(nodes: dict[str, NodeFacts], edges: list[EdgeFacts]) -> Lineage:
    """Fineness and origin composition of every node, inputs before outputs (Kahn's order)."""
    parents: dict[str, list[EdgeFacts]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        parents[edge.child_id].append(edge)
        children[edge.parent_id].append(edge.child_id)
    node_ids = set(nodes) | set(parents) | set(children)
    waiting = {node_id: len(parents[node_id]) if node_id in parents else 0 for node_id in node_ids}
    ready = deque(sorted(node_id for node_id, count in waiting.items() if count == 0))
    result = Lineage()
    while ready:
        node_id = ready.popleft()
        _resolve(node_id, nodes.get(node_id) or NodeFacts(node_id), parents[node_id], result)
        for child in children[node_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    for node_id in sorted(node_ids - set(result.composition)):  # left over: on or behind a cycle
        facts = nodes.get(node_id) or NodeFacts(node_id)
        result.fineness[node_id] = facts.stated_fineness
        result.composition[node_id] = {UNTRACED_CYCLE: 1.0}
    return result


def _resolve(node_id: str, facts: NodeFacts, inputs: list[EdgeFacts], result: Lineage) -> None:
    input_fineness = [result.fineness.get(edge.parent_id) for edge in inputs]
    all_known = all(value is not None for value in input_fineness)
    if facts.stated_fineness is not None:
        result.fineness[node_id] = facts.stated_fineness
    elif inputs and all_known:
        total = sum(edge.mass_g for edge in inputs)
        result.fineness[node_id] = sum(edge.mass_g * f for edge, f in zip(inputs, input_fineness, strict=True)) / total
    else:
        result.fineness[node_id] = None

    if not inputs:
        if facts.is_production:
            result.composition[node_id] = {facts.site_id or UNTRACED_UNKNOWN_PIT: 1.0}
        else:
            result.composition[node_id] = {UNTRACED_NO_RECORD: 1.0}
        return
    if all_known:
        weights = [edge.mass_g * f for edge, f in zip(inputs, input_fineness, strict=True)]
    else:
        weights = [edge.mass_g for edge in inputs]
        result.gross_weighted.add(node_id)
    total_weight = sum(weights)
    mix: dict[str, float] = defaultdict(float)
    for edge, weight in zip(inputs, weights, strict=True):
        for source, share in result.composition[edge.parent_id].items():
            mix[source] += share * weight / total_weight
    result.composition[node_id] = dict(mix)


def is_untraced(source: str) -> bool:
    """Whether a composition key stands for untraced gold rather than a mine site."""
    return source.startswith("untraced:")
