"""Writing lineage facts into a projector's own node and edge tables (order tolerant, batchable).

A node table has at least ``node_id``, ``kind``, ``created_event_id``, ``created_sort`` and
``created_type``; the other columns a creation fills (``created_by``, ``created_at``, ``mass_g``,
``declared_fineness``, ``pit_id``, ``gtin``, ``serial``, ``description``) are written where the
table has them. An edge table has ``event_id``, ``parent_id``, ``child_id`` and ``mass_g``.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, or_

from consumers.batch import BatchWrites, Row
from consumers.lineage.graph import LineageFacts, Node, Origin, replaces_creation


def write_lineage(writes: BatchWrites, nodes: Table, edges: Table, facts: LineageFacts) -> None:
    """Add the placeholders, creations and edges of ``facts`` to ``writes``."""
    writes.insert_ignore(nodes, ({"node_id": ref.node_id, "kind": ref.kind} for ref in facts.referenced))
    for node in facts.created:
        row = _creation_row(nodes, facts.origin, node)
        writes.upsert(nodes, row, update=[name for name in row if name != "node_id"], group="created",
                      where=lambda excluded: _replaces_creation_sql(nodes, excluded), prefer=_earliest_row)
    writes.insert_ignore(edges, ({"event_id": facts.origin.event_id, "parent_id": edge.parent_id,
                                  "child_id": edge.child_id, "mass_g": edge.mass_g} for edge in facts.edges))


def _creation_row(nodes: Table, origin: Origin, node: Node) -> dict[str, Any]:
    """The row of a created node: every creation column the table has (None where the event says nothing)."""
    row = {
        "node_id": node.node_id, "kind": node.kind, "created_event_id": origin.event_id,
        "created_sort": origin.sort_key, "created_type": origin.type, "created_by": origin.recorded_by,
        "created_at": origin.occurred_at, "mass_g": node.mass_g, "declared_fineness": node.fineness,
        "pit_id": node.pit_id, "gtin": node.gtin, "serial": node.serial, "description": node.description,
    }
    return {name: value for name, value in row.items() if name in nodes.c}


def _replaces_creation_sql(nodes: Table, excluded: Any) -> ColumnElement[bool]:
    """:func:`replaces_creation` as the database applies it to a stored row (``ON CONFLICT ... WHERE``)."""
    return or_(nodes.c.created_sort.is_(None), excluded.created_sort < nodes.c.created_sort)


def _earliest_row(kept: Row, new: Row) -> Row:
    """Of two creations of one node in a batch, the earliest wins, as in the database."""
    return new if replaces_creation(new["created_sort"], kept["created_sort"]) else kept
