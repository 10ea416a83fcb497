"""The one ancestry query: every node upstream (or downstream) of some roots, over any edge table.

A recursive CTE over ``edges``, a table or subquery with ``parent_id`` and ``child_id`` columns.
It runs the same on SQLite and PostgreSQL: both of its terms select the edge table's own column,
so they have the column's type and collation, as PostgreSQL requires of a recursive query (a bare
parameter would be ``text`` there). ``UNION`` (not ``UNION ALL``) keeps each node once, so a
circular lineage ends the recursion instead of looping; no depth limit is needed.

The CTEs hold the strict ancestors (or descendants): a root is in them only if it lies on a cycle.
:func:`in_ancestry` and :func:`in_descendants` are the usual filters: a root or what the CTE found.
"""
from __future__ import annotations

from typing import Collection

from sqlalchemy import CTE, ColumnElement, FromClause, or_, select


def ancestors(edges: FromClause, roots: Collection[str], name: str = "ancestors") -> CTE:
    """Every node whose grams flowed, at any depth, into one of ``roots``."""
    return _reach(edges, roots, name, near="parent_id", far="child_id")


def descendants(edges: FromClause, roots: Collection[str], name: str = "descendants") -> CTE:
    """Every node made, at any depth, from one of ``roots``."""
    return _reach(edges, roots, name, near="child_id", far="parent_id")


def in_ancestry(column: ColumnElement, edges: FromClause, roots: Collection[str]) -> ColumnElement[bool]:
    """``column`` names one of ``roots`` or a node upstream of one."""
    return _among(column, roots, ancestors(edges, roots))


def in_descendants(column: ColumnElement, edges: FromClause, roots: Collection[str]) -> ColumnElement[bool]:
    """``column`` names one of ``roots`` or a node downstream of one."""
    return _among(column, roots, descendants(edges, roots))


def _among(column: ColumnElement, roots: Collection[str], reach: CTE) -> ColumnElement[bool]:
    return or_(column.in_(list(roots)), column.in_(select(reach.c.node_id)))


def _reach(edges: FromClause, roots: Collection[str], name: str, near: str, far: str) -> CTE:
    """Nodes at the ``near`` end of edges whose ``far`` end is a root, then of edges reaching those, and so on."""
    seed = select(edges.c[near].label("node_id")).where(edges.c[far].in_(list(roots)))
    found = seed.cte(name, recursive=True)
    step = select(edges.c[near]).select_from(edges.join(found, edges.c[far] == found.c.node_id))
    return found.union(step)
