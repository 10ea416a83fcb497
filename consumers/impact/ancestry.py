"""Reading a piece's ancestry from the impact tables: lineage facts for payouts and the value chain."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from consumers.provenance.lineage import EdgeFacts, Lineage, NodeFacts, compute_lineage

_ANCESTRY = """
WITH RECURSIVE ancestry(node_id) AS (
    SELECT CAST(:root AS VARCHAR(160))  -- the column's own type, as PostgreSQL requires of a recursive query
    UNION
    SELECT e.parent_id FROM imp_edges e JOIN ancestry a ON e.child_id = a.node_id
)
"""

_DESCENDANTS = """
WITH RECURSIVE descendants(node_id) AS (
    SELECT CAST(:root AS VARCHAR(160))  -- the column's own type, as PostgreSQL requires of a recursive query
    UNION
    SELECT e.child_id FROM imp_edges e JOIN descendants d ON e.parent_id = d.node_id
)
SELECT DISTINCT s.product_id FROM imp_sales s WHERE s.product_id IN (SELECT node_id FROM descendants)
"""


@dataclass
class Ancestry:
    """A node's ancestry: the lineage arithmetic by production lot, each lot's miners and month."""

    lineage: Lineage
    node_ids: list[str]
    lot_miners: dict[str, list[str]]
    lot_month: dict[str, str]


def load_ancestry(connection: Connection, root: str) -> Ancestry:
    """The ancestry of ``root``; composition is keyed by production lot (not by site)."""
    params = {"root": root}
    edge_rows = connection.execute(text(
        _ANCESTRY + "SELECT e.parent_id, e.child_id, e.mass_g FROM imp_edges e "
        "WHERE e.child_id IN (SELECT node_id FROM ancestry) ORDER BY e.child_id, e.parent_id, e.event_id"
    ), params).all()
    node_rows = connection.execute(text(
        _ANCESTRY + "SELECT n.node_id, n.kind, n.created_type, n.created_event_id, n.mass_g, n.declared_fineness "
        "FROM imp_nodes n WHERE n.node_id IN (SELECT node_id FROM ancestry) ORDER BY n.node_id"
    ), params).all()
    assay_rows = connection.execute(text(
        _ANCESTRY + "SELECT a.lot_id, a.fineness FROM imp_assays a "
        "WHERE a.lot_id IN (SELECT node_id FROM ancestry) ORDER BY a.sort_key"
    ), params).all()
    share_rows = connection.execute(text(
        _ANCESTRY + "SELECT p.lot_id, p.event_id, p.miner_id, p.month FROM imp_production_shares p "
        "WHERE p.lot_id IN (SELECT node_id FROM ancestry) ORDER BY p.lot_id, p.miner_id"
    ), params).all()
    latest_assay = {lot_id: fineness for lot_id, fineness in assay_rows}  # ordered: the last wins
    creator = {row.node_id: row.created_event_id for row in node_rows}
    lot_miners: dict[str, list[str]] = {}
    lot_month: dict[str, str] = {}
    for lot_id, event_id, miner_id, month in share_rows:
        if creator.get(lot_id) == event_id:  # a lot claimed twice: the earliest production counts
            lot_miners.setdefault(lot_id, []).append(miner_id)
            lot_month[lot_id] = month
    facts = {}
    for row in node_rows:
        production = row.created_type == "production.recorded"
        facts[row.node_id] = NodeFacts(
            node_id=row.node_id, kind=row.kind, mass_g=row.mass_g,
            stated_fineness=latest_assay.get(row.node_id, row.declared_fineness),
            site_id=row.node_id if production else None, is_production=production,
        )
    edges = [EdgeFacts(parent, child, mass) for parent, child, mass in edge_rows]
    lineage = compute_lineage(facts, edges)
    return Ancestry(lineage, sorted(set(facts) | {root}), lot_miners, lot_month)


def sold_descendants(connection: Connection, node_id: str) -> list[str]:
    """The sold products whose ancestry holds ``node_id`` (itself included)."""
    return list(connection.execute(text(_DESCENDANTS), {"root": node_id}).scalars())
