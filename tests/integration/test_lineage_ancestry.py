"""The one ancestry query, on SQLite and PostgreSQL: up and down a lineage graph, over a table or a join."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, select

from consumers.lineage.ancestry import ancestors, descendants, in_ancestry, in_descendants
from consumers.sql import Key

#: a ring from a bar refined from a merged lot of two productions, plus recycled scrap; and a cycle
GRAPH = [
    ("lot-a", "coop-1", 10.0), ("lot-b", "coop-1", 5.0), ("coop-1", "refining/1", 15.0),
    ("scrap-1", "refining/1", 20.0), ("refining/1", "bar-1", 34.0), ("bar-1", "ring-1", 3.0),
    ("bar-1", "pendant-1", 1.5), ("loop-x", "loop-y", 1.0), ("loop-y", "loop-x", 1.0),
]


@pytest.fixture(params=["key", "string"])
def graph(request, database_url):
    """The graph's edges in a table with byte-ordered ids (as provenance and checks) or plain strings (as impact)."""
    id_type = Key(160) if request.param == "key" else String(160)
    metadata = MetaData()
    edges = Table("test_edges", metadata, Column("parent_id", id_type, primary_key=True),
                  Column("child_id", id_type, primary_key=True), Column("mass_g", Float, nullable=False))
    engine = create_engine(database_url)
    metadata.create_all(engine)
    with engine.begin() as tx:
        tx.execute(edges.insert(), [{"parent_id": p, "child_id": c, "mass_g": m} for p, c, m in GRAPH])
    yield engine, edges
    engine.dispose()


def test_the_ancestry_of_a_ring_reaches_every_mine_lot_through_the_refining(graph):
    engine, edges = graph
    with engine.connect() as connection:
        upstream = set(connection.execute(select(ancestors(edges, ["ring-1"]).c.node_id)).scalars())
        lineage = set(connection.execute(
            select(edges.c.child_id).where(in_ancestry(edges.c.child_id, edges, ["ring-1"]))).scalars())

    assert upstream == {"bar-1", "refining/1", "coop-1", "scrap-1", "lot-a", "lot-b"}
    assert lineage == {"ring-1", "bar-1", "refining/1", "coop-1"}  # the children among the ring and its ancestors


def test_a_lot_with_no_edges_is_its_own_whole_ancestry(graph):
    engine, edges = graph
    with engine.connect() as connection:
        assert connection.execute(select(ancestors(edges, ["lot-a"]).c.node_id)).scalars().all() == []
        found = connection.execute(select(edges.c.parent_id).where(in_ancestry(edges.c.parent_id, edges, ["lot-a"]))
                                   .distinct()).scalars().all()

    assert found == ["lot-a"]


def test_descendants_of_several_roots_at_once(graph):
    engine, edges = graph
    with engine.connect() as connection:
        downstream = set(connection.execute(select(descendants(edges, ["lot-a", "scrap-1"]).c.node_id)).scalars())
        pieces = set(connection.execute(select(edges.c.child_id).where(
            in_descendants(edges.c.child_id, edges, ["bar-1"]))).scalars())

    assert downstream == {"coop-1", "refining/1", "bar-1", "ring-1", "pendant-1"}
    assert pieces == {"bar-1", "ring-1", "pendant-1"}  # the bar itself is a child (of the refining) too


def test_a_circular_lineage_ends_the_recursion(graph):
    engine, edges = graph
    with engine.connect() as connection:
        upstream = set(connection.execute(select(ancestors(edges, ["loop-x"]).c.node_id)).scalars())
        downstream = set(connection.execute(select(descendants(edges, ["loop-y"]).c.node_id)).scalars())

    assert upstream == {"loop-x", "loop-y"}  # a root on a cycle is its own ancestor
    assert downstream == {"loop-x", "loop-y"}


def test_edges_may_be_a_join_rather_than_a_table(graph):
    engine, edges = graph
    # the checks read model keeps no edge table: its edges join what a transformation took and made
    derived = select(edges.c.parent_id, edges.c.child_id).where(edges.c.mass_g > 2.0).subquery("heavy_edges")
    with engine.connect() as connection:
        upstream = set(connection.execute(select(ancestors(derived, ["ring-1"]).c.node_id)).scalars())

    assert upstream == {"bar-1", "refining/1", "coop-1", "scrap-1", "lot-a", "lot-b"}
    with engine.connect() as connection:
        assert set(connection.execute(select(ancestors(derived, ["pendant-1"]).c.node_id)).scalars()) == set()
